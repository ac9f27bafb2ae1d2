//! `troupe-compiler`: environments on disk, module autoload, a parse cache shared across
//! compiles, and `compile(node, facts) -> catalog JSON`.

mod cache;
pub mod command;
pub mod enc;
mod envcache;
pub mod envconf;
mod facts;
pub mod hocon;
mod timeout;
pub mod yaml;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use troupe_eval::code::{Code, DataFormat, Environment, LoadKind};
use troupe_eval::error::{EResult, EvalError};
pub use troupe_eval::limits::Budget;
use troupe_eval::value::{Map, Value};
use troupe_eval::NodeInput;

pub use cache::ParseCache;
pub use facts::load_facts;
pub use timeout::EnvironmentTimeout;

/// Where environments live and the settings that shape them.
#[derive(Debug, Clone)]
pub struct Settings {
    pub codedir: PathBuf,
    pub environmentpath: PathBuf,
    pub basemodulepath: Vec<PathBuf>,
    /// The global hiera.yaml (`$confdir/hiera.yaml`).
    pub hiera_config: Option<PathBuf>,
    /// The Ruby helpers that run module functions written only in Ruby (started on first
    /// use, shared by every compile of these settings); `None` turns them off.
    pub ruby: Option<Arc<troupe_rubyhost::Pool>>,
    /// Puppet's `storeconfigs`: where exported resources of other nodes are found
    /// (PuppetDB); `None` is off. With it, `compile_json` also renders the catalog PuppetDB
    /// stores.
    pub storeconfigs: Option<Arc<dyn troupe_eval::code::Storeconfigs>>,
    /// How long an environment is kept without looking at the disk after its last use
    /// (`environment_timeout`; an environment's `environment.conf` may set its own).
    pub environment_timeout: EnvironmentTimeout,
}

impl Settings {
    pub fn new(codedir: impl Into<PathBuf>) -> Settings {
        let codedir = codedir.into();
        Settings {
            environmentpath: codedir.join("environments"),
            basemodulepath: vec![codedir.join("modules")],
            hiera_config: None,
            ruby: Some(Arc::new(troupe_rubyhost::Pool::new(Default::default()))),
            storeconfigs: None,
            environment_timeout: EnvironmentTimeout::default(),
            codedir,
        }
    }
}

/// One directory environment.
#[derive(Debug)]
pub struct DiskEnv<'c> {
    name: String,
    dir: PathBuf,
    manifest: PathBuf,
    modulepath: Vec<PathBuf>,
    global_hiera: Option<PathBuf>,
    cache: &'c ParseCache,
    ruby: Option<Arc<troupe_rubyhost::Pool>>,
    storeconfigs: Option<Arc<dyn troupe_eval::code::Storeconfigs>>,
    module_dirs: std::cell::RefCell<HashMap<String, Option<PathBuf>>>,
    /// The modules on the modulepath, listed once per compile.
    modules: std::cell::OnceCell<Vec<(String, PathBuf)>>,
    /// The environment as kept for its `environment_timeout` (none when it is 0).
    snap: Option<Arc<envcache::Snapshot>>,
    timeout: EnvironmentTimeout,
}

impl<'c> DiskEnv<'c> {
    /// The environment's module directories, in order.
    pub fn modulepath(&self) -> &[PathBuf] {
        &self.modulepath
    }

    /// This environment as the Ruby helper keys its environments: name, modulepath, directory.
    fn ruby_key(&self) -> String {
        format!(
            "{}\0{:?}\0{}",
            self.name,
            self.modulepath,
            self.dir.display()
        )
    }

    /// The environment's `environment_timeout` (its own, or the settings').
    pub fn timeout(&self) -> EnvironmentTimeout {
        self.timeout
    }

    /// The site manifest (file or directory).
    pub fn manifest(&self) -> &Path {
        &self.manifest
    }

    pub fn open(
        settings: &Settings,
        name: &str,
        cache: &'c ParseCache,
    ) -> Result<DiskEnv<'c>, String> {
        let dir = settings.environmentpath.join(name);
        if let Some(snap) = cache.snapshots.get(&dir) {
            let (opened, timeout) = (snap.opened.clone(), snap.timeout());
            return Ok(DiskEnv::from_opened(
                name,
                opened,
                cache,
                settings,
                timeout,
                Some(snap),
            ));
        }
        if !dir.is_dir() {
            return Err(format!("Could not find a directory environment named '{name}' anywhere in the path: {}. Does the directory exist?", settings.environmentpath.display()));
        }
        let conf = envconf::EnvConf::load(&dir);
        let vars = envconf::Interpolation {
            environment: name,
            codedir: &settings.codedir,
            environmentpath: &settings.environmentpath,
            basemodulepath: &settings.basemodulepath,
        };
        let timeout = match conf.get("environment_timeout") {
            Some(v) => EnvironmentTimeout::parse(v, "environment_timeout")?,
            None => settings.environment_timeout,
        };
        let opened = envcache::Opened {
            modulepath: conf.modulepath(&dir, &vars),
            manifest: conf.manifest(&dir, &vars),
            dir,
            // Puppet's default `hiera_config`: `<codedir>/hiera.yaml` when it exists.
            global_hiera: settings.hiera_config.clone().or_else(|| {
                let p = settings.codedir.join("hiera.yaml");
                p.is_file().then_some(p)
            }),
        };
        let snap = (!timeout.is_zero()).then(|| {
            let s = Arc::new(envcache::Snapshot::new(opened.clone(), timeout));
            cache.snapshots.keep(name, s.clone());
            s
        });
        Ok(DiskEnv::from_opened(
            name, opened, cache, settings, timeout, snap,
        ))
    }

    fn from_opened(
        name: &str,
        o: envcache::Opened,
        cache: &'c ParseCache,
        settings: &Settings,
        timeout: EnvironmentTimeout,
        snap: Option<Arc<envcache::Snapshot>>,
    ) -> DiskEnv<'c> {
        DiskEnv {
            name: name.to_string(),
            manifest: o.manifest,
            dir: o.dir,
            modulepath: o.modulepath,
            global_hiera: o.global_hiera,
            cache,
            ruby: settings.ruby.clone(),
            storeconfigs: settings.storeconfigs.clone(),
            module_dirs: Default::default(),
            modules: Default::default(),
            snap,
            timeout,
        }
    }

    /// Parses a file through the environment's snapshot, if it is kept.
    fn parse(
        &self,
        path: &Path,
        epp: bool,
        env_name: Option<&str>,
        namespace: Option<&str>,
    ) -> EResult<Option<Arc<Code>>> {
        let parse = || self.cache.parse(path, epp, env_name, namespace);
        match &self.snap {
            Some(s) => s.parse(path, epp, namespace, parse),
            None => parse(),
        }
    }

    /// The `.pp` files of the site manifest (a file, or a directory's files, sorted).
    fn site_files(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        if self.manifest.is_dir() {
            let mut stack = vec![self.manifest.clone()];
            while let Some(d) = stack.pop() {
                if let Ok(rd) = std::fs::read_dir(&d) {
                    for e in rd.flatten() {
                        let p = e.path();
                        if p.is_dir() {
                            stack.push(p);
                        } else if p.extension().is_some_and(|x| x == "pp") {
                            files.push(p);
                        }
                    }
                }
            }
            files.sort();
        } else if self.manifest.is_file() {
            files.push(self.manifest.clone());
        }
        files
    }

    /// The file that defines `name` of `kind`, parsed (Puppet's autoload paths).
    fn autoload_file(&self, kind: LoadKind, name: &str) -> EResult<Option<Arc<Code>>> {
        let segs: Vec<&str> = name.split("::").collect();
        let module = segs[0];
        if module.is_empty() {
            return Ok(None);
        }
        // `environment::` functions are the environment's own: `<env>/functions/environment/..`.
        if module == "environment" && kind == LoadKind::Function && segs.len() > 1 {
            let mut p = self.dir.join("functions");
            for s in &segs[..segs.len() - 1] {
                p.push(s);
            }
            p.push(format!("{}.pp", segs[segs.len() - 1]));
            if let Some(code) = self.parse(&p, false, None, Some(&name.to_lowercase()))? {
                return Ok(Some(code));
            }
        }
        let Some(mdir) = self.module_dir(module) else {
            return Ok(None);
        };
        let sub = match kind {
            LoadKind::Manifest => "manifests",
            LoadKind::Function => "functions",
            LoadKind::Type => "types",
        };
        let path = if segs.len() == 1 {
            if kind != LoadKind::Manifest {
                return Ok(None);
            }
            mdir.join("manifests/init.pp")
        } else {
            let mut p = mdir.join(sub);
            for s in &segs[1..segs.len() - 1] {
                p.push(s);
            }
            p.push(format!("{}.pp", segs[segs.len() - 1]));
            p
        };
        self.parse(&path, false, None, Some(&name.to_lowercase()))
    }

    fn list_modules(&self) -> Vec<(String, PathBuf)> {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for mp in &self.modulepath {
            if let Ok(rd) = std::fs::read_dir(mp) {
                // A directory entry's own type, when it is a directory, spares
                // a stat; a symlink is followed.
                let mut names: Vec<_> = rd
                    .flatten()
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()) || e.path().is_dir())
                    .collect();
                names.sort_by_key(|e| e.file_name());
                for e in names {
                    let n = e.file_name().to_string_lossy().to_string();
                    if seen.insert(n.clone()) {
                        out.push((n, e.path()));
                    }
                }
            }
        }
        out
    }
}

impl Environment for DiskEnv<'_> {
    fn ruby(&self) -> Option<Arc<troupe_rubyhost::Pool>> {
        self.ruby.clone()
    }

    fn storeconfigs(&self) -> Option<&dyn troupe_eval::code::Storeconfigs> {
        self.storeconfigs.as_deref()
    }

    fn ruby_answer(&self, key: &str, file: &Path) -> Option<serde_json::Value> {
        if let Some(a) = self.snap.as_ref().and_then(|s| s.ruby_answer(key, file)) {
            return Some(a);
        }
        let a = self.cache.ruby_answer(&self.ruby_key(), key, file)?;
        if let Some(s) = &self.snap {
            s.keep_ruby_answer(key, file, &a);
        }
        Some(a)
    }

    fn keep_ruby_answer(&self, key: &str, file: &Path, answer: &serde_json::Value) {
        if let Some(s) = &self.snap {
            s.keep_ruby_answer(key, file, answer);
        }
        self.cache
            .keep_ruby_answer(&self.ruby_key(), key, file, answer)
    }

    fn modulepath(&self) -> Vec<PathBuf> {
        self.modulepath.clone()
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn dir(&self) -> PathBuf {
        self.dir.clone()
    }

    fn site(&self) -> EResult<Vec<Arc<Code>>> {
        let files = match &self.snap {
            Some(s) => s.site_files.get_or_init(|| self.site_files()).clone(),
            None => self.site_files(),
        };
        let mut out = Vec::new();
        for f in files {
            if let Some(c) = self.parse(&f, false, Some(&self.name), None)? {
                out.push(c);
            }
        }
        Ok(out)
    }

    fn autoload(&self, kind: LoadKind, name: &str) -> EResult<Option<Arc<Code>>> {
        match &self.snap {
            Some(s) => s.autoload(kind, name, || self.autoload_file(kind, name)),
            None => self.autoload_file(kind, name),
        }
    }

    fn kept(&self, key: &str) -> Option<troupe_eval::code::Kept> {
        self.snap.as_ref()?.kept(key)
    }

    fn keep(&self, key: &str, value: troupe_eval::code::Kept) {
        if let Some(s) = &self.snap {
            s.keep(key, value);
        }
    }

    fn module_dir(&self, module: &str) -> Option<PathBuf> {
        if module.is_empty()
            || !module
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return None;
        }
        if let Some(d) = self.module_dirs.borrow().get(module) {
            return d.clone();
        }
        let find = || {
            self.modulepath
                .iter()
                .map(|p| p.join(module))
                .find(|p| p.is_dir())
        };
        let d = match &self.snap {
            Some(s) => s.module_dir(module, find),
            None => find(),
        };
        self.module_dirs
            .borrow_mut()
            .insert(module.to_string(), d.clone());
        d
    }

    fn list_dir(&self, dir: &Path) -> Vec<PathBuf> {
        match &self.snap {
            Some(s) => s.list_dir(dir, || self.cache.list_dir(dir)).to_vec(),
            None => self.cache.list_dir(dir).to_vec(),
        }
    }

    fn data(
        &self,
        path: &Path,
        format: DataFormat,
    ) -> Option<Result<Arc<serde_json::Value>, String>> {
        match &self.snap {
            Some(s) => s.data(path, || self.cache.data(path, format)),
            None => self.cache.data(path, format),
        }
    }

    fn parse_data(&self, text: &str, format: DataFormat) -> Result<serde_json::Value, String> {
        match format {
            DataFormat::Json => serde_json::from_str(text).map_err(|e| e.to_string()),
            DataFormat::Yaml => crate::yaml::parse(text),
            DataFormat::Hocon => crate::hocon::parse(text),
        }
    }

    fn read(&self, path: &Path) -> Option<Arc<str>> {
        match &self.snap {
            Some(s) => s.read(path, || self.cache.read(path)),
            None => self.cache.read(path),
        }
    }

    fn read_bytes(&self, path: &Path) -> Option<Vec<u8>> {
        std::fs::read(path).ok()
    }

    fn generate(&self, argv: &[String]) -> Result<String, String> {
        let (cmd, args) = argv.split_first().ok_or("no command")?;
        let dir = Path::new(cmd).parent().unwrap_or(Path::new("/"));
        let out = std::process::Command::new(cmd)
            .args(args)
            .current_dir(dir)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| format!("Could not execute '{}': {e}", argv.join(" ")))?;
        // Puppet combines the two streams.
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        if out.status.success() {
            Ok(text)
        } else {
            Err(format!(
                "Execution of '{}' returned {}: {}",
                argv.join(" "),
                out.status.code().unwrap_or(-1),
                text.trim_end()
            ))
        }
    }

    fn epp(&self, path: &Path) -> EResult<Arc<Code>> {
        match self.parse(path, true, Some(&self.name), None)? {
            Some(c) => Ok(c),
            None => Err(EvalError::new(format!(
                "Could not find template '{}'",
                path.display()
            ))),
        }
    }

    fn inline_epp(&self, text: &str) -> EResult<Arc<Code>> {
        let parsed = troupe_syntax::parse_epp("inline_epp", text.to_string());
        Code::from_parsed(parsed, Some(&self.name))
            .map(Arc::new)
            .map_err(EvalError::new)
    }

    fn global_hiera(&self) -> Option<PathBuf> {
        let find = || self.global_hiera.clone().filter(|p| p.is_file());
        match &self.snap {
            Some(s) => s.global_hiera.get_or_init(find).clone(),
            None => find(),
        }
    }

    fn modules(&self) -> Vec<(String, PathBuf)> {
        match &self.snap {
            Some(s) => s.modules.get_or_init(|| self.list_modules()).clone(),
            None => self.modules.get_or_init(|| self.list_modules()).clone(),
        }
    }
}

fn h(pairs: &[(&str, Value)]) -> Value {
    let mut m = Map::default();
    for (k, v) in pairs {
        m.insert(Value::str(*k), v.clone());
    }
    Value::hash(m)
}

/// `$trusted` as puppetserver builds it for an authenticated node.
pub fn trusted_for(certname: &str, extensions: Value) -> Value {
    let (host, domain) = match certname.split_once('.') {
        Some((a, b)) => (a.to_string(), b.to_string()),
        None => (certname.to_string(), String::new()),
    };
    h(&[
        ("authenticated", Value::str("remote")),
        ("certname", Value::str(certname)),
        ("domain", Value::str(domain)),
        ("extensions", extensions),
        ("hostname", Value::str(host)),
        ("external", Value::hash(Map::default())),
    ])
}

/// `$server_facts`.
pub fn server_facts(env: &str, overrides: &[(String, String)]) -> Value {
    let mut m = Map::default();
    m.insert(Value::str("serverversion"), Value::str("7.23.0"));
    m.insert(Value::str("servername"), Value::str("puppet"));
    m.insert(Value::str("serverip"), Value::str("127.0.0.1"));
    m.insert(Value::str("environment"), Value::str(env));
    for (k, v) in overrides {
        m.insert(Value::str(k.as_str()), Value::str(v.as_str()));
    }
    Value::hash(m)
}

#[derive(Debug)]
pub struct CompileRequest<'a> {
    pub environment: &'a str,
    pub certname: &'a str,
    pub facts: Value,
    pub extensions: Value,
    pub server_facts: &'a [(String, String)],
    /// Classes and parameters from an external node classifier (see `enc`).
    pub node: troupe_eval::NodeData,
}

#[derive(Debug)]
pub struct CompileOutput {
    pub json: Result<String, String>,
    pub warnings: Vec<String>,
    /// With storeconfigs: the catalog as PuppetDB's `replace catalog` command carries it
    /// (see `troupe_eval::catalog::puppetdb`).
    pub puppetdb: Option<serde_json::Value>,
}

/// Compiles and renders the catalog JSON puppetserver would return.
pub fn compile_json(
    settings: &Settings,
    cache: &ParseCache,
    req: &CompileRequest<'_>,
    catalog_uuid: &str,
    version: serde_json::Value,
) -> CompileOutput {
    compile_json_with(
        settings,
        cache,
        req,
        catalog_uuid,
        version,
        &Budget::default(),
    )
}

/// `compile_json` within a budget (deadline, memory, cancellation): a compile that exceeds
/// it fails with the budget's message.
pub fn compile_json_with(
    settings: &Settings,
    cache: &ParseCache,
    req: &CompileRequest<'_>,
    catalog_uuid: &str,
    version: serde_json::Value,
    budget: &Budget,
) -> CompileOutput {
    let env = match DiskEnv::open(settings, req.environment, cache) {
        Ok(e) => e,
        Err(e) => {
            return CompileOutput {
                json: Err(e),
                warnings: vec![],
                puppetdb: None,
            }
        }
    };
    let input = NodeInput {
        certname: req.certname.to_string(),
        facts: req.facts.clone(),
        trusted: trusted_for(req.certname, req.extensions.clone()),
        server_facts: server_facts(req.environment, req.server_facts),
        node: req.node.clone(),
    };
    let out = troupe_eval::compile_with(&env, input, budget);
    let mut puppetdb = None;
    let json = out.result.map(|mut c| {
        c.version = version;
        if settings.storeconfigs.is_some() {
            puppetdb = Some(c.puppetdb_json(catalog_uuid));
        }
        c.write_json(catalog_uuid)
    });
    CompileOutput {
        json,
        warnings: out.warnings,
        puppetdb,
    }
}
