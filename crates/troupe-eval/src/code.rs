//! Parsed code as the evaluator consumes it, and the `Environment` through which it reads code,
//! data and templates. The evaluator never touches the file system itself.

use std::path::PathBuf;
use std::sync::Arc;
use troupe_syntax::ast::{Definition, Expr, ExprKind, Param};
use troupe_syntax::{Parsed, SourceFile, Span};
use troupe_values::error::{EResult, Loc};

#[derive(Debug)]
pub enum DefKind {
    Class { parent: Option<String> },
    Define,
    Node { hosts: Vec<Expr> },
    Function { return_type: Option<Expr> },
    TypeAlias { value: Expr },
}

/// A named definition (class, define, node, function, type alias), lifted out of its file.
#[derive(Debug)]
pub struct Def {
    /// Lower-case, without a leading `::`.
    pub name: String,
    pub kind: DefKind,
    pub params: Vec<Param>,
    pub body: Option<Expr>,
    pub source: Arc<SourceFile>,
    pub span: Span,
}

impl Def {
    pub fn loc(&self, span: Span) -> Loc {
        loc_of(&self.source, span.lo)
    }
}

pub fn loc_of(src: &SourceFile, offset: u32) -> Loc {
    let lc = src.line_col(offset);
    Loc {
        file: src.path.clone(),
        line: lc.line,
        col: Some(lc.col),
    }
}

/// One parsed file: its top-level code and the definitions found anywhere in it.
#[derive(Debug)]
pub struct Code {
    pub source: Arc<SourceFile>,
    pub program: Expr,
    pub defs: Vec<Arc<Def>>,
}

impl Code {
    /// Digests a parse. Fails with Puppet's message when the file has errors: for the site
    /// manifest (`env_name` given) "Could not parse for environment ...", for autoloaded
    /// files the bare message.
    pub fn from_parsed(parsed: Parsed, env_name: Option<&str>) -> Result<Code, String> {
        // Puppet's validator reports every problem it finds, and more than one as a count.
        let validation = parsed
            .errors()
            .filter(|d| d.phase == troupe_syntax::Phase::Validate)
            .count();
        if validation > 1
            && parsed
                .errors()
                .all(|d| d.phase == troupe_syntax::Phase::Validate)
        {
            let msg = format!(
                "Language validation logged {validation} errors. Giving up (file: {})",
                parsed.source.path
            );
            return Err(match env_name {
                Some(env_name) => format!("Could not parse for environment {env_name}: {msg}"),
                None => msg,
            });
        }
        if let Some(d) = parsed.errors().next() {
            let lc = d.offset.map(|o| parsed.source.line_col(o));
            let loc = match lc {
                Some(lc) => format!(
                    " (file: {}, line: {}, column: {})",
                    parsed.source.path, lc.line, lc.col
                ),
                None => format!(" (file: {})", parsed.source.path),
            };
            return Err(match env_name {
                Some(env_name) => format!(
                    "Could not parse for environment {env_name}: {}{loc}",
                    d.message
                ),
                None => format!("{}{loc}", d.message),
            });
        }
        let mut defs = Vec::new();
        collect_defs(&parsed.program, &parsed.source, &mut defs);
        Ok(Code {
            source: parsed.source,
            program: parsed.program,
            defs,
        })
    }
}

fn norm(name: &str) -> String {
    name.trim_start_matches("::").to_lowercase()
}

fn push_def(
    out: &mut Vec<Arc<Def>>,
    src: &Arc<SourceFile>,
    e: &Expr,
    def: &Definition,
    kind: DefKind,
) {
    out.push(Arc::new(Def {
        name: norm(&def.name),
        kind,
        params: def.params.clone(),
        body: def.body.as_deref().cloned(),
        source: src.clone(),
        span: e.span,
    }));
}

fn collect_defs(e: &Expr, src: &Arc<SourceFile>, out: &mut Vec<Arc<Def>>) {
    troupe_values::limits::grow(|| match &e.kind {
        ExprKind::Block(items) => {
            for i in items {
                collect_defs(i, src, out);
            }
        }
        ExprKind::Class { def, parent } => {
            let parent = parent.as_ref().map(|p| norm(p));
            push_def(out, src, e, def, DefKind::Class { parent });
            if let Some(b) = &def.body {
                collect_defs(b, src, out);
            }
        }
        ExprKind::Define(def) => {
            push_def(out, src, e, def, DefKind::Define);
            if let Some(b) = &def.body {
                collect_defs(b, src, out);
            }
        }
        ExprKind::Node { hosts, body, .. } => {
            out.push(Arc::new(Def {
                name: String::new(),
                kind: DefKind::Node {
                    hosts: hosts.clone(),
                },
                params: vec![],
                body: body.as_deref().cloned(),
                source: src.clone(),
                span: e.span,
            }));
        }
        ExprKind::Function { def, return_type } => {
            let return_type = return_type.as_deref().cloned();
            push_def(out, src, e, def, DefKind::Function { return_type });
        }
        ExprKind::TypeAlias { name, value } => {
            let n = match &name.kind {
                ExprKind::QRef(n) => n.clone(),
                ExprKind::Access { target, .. } => match &target.kind {
                    ExprKind::QRef(n) => n.clone(),
                    _ => return,
                },
                _ => return,
            };
            out.push(Arc::new(Def {
                name: norm(&n),
                kind: DefKind::TypeAlias {
                    value: (**value).clone(),
                },
                params: vec![],
                body: None,
                source: src.clone(),
                span: e.span,
            }));
        }
        _ => {}
    })
}

/// A value derived from an environment's code, kept across compiles (see
/// [`Environment::kept`]).
pub type Kept = Arc<dyn std::any::Any + Send + Sync>;

/// What kind of thing the evaluator asks the environment to autoload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoadKind {
    /// Classes and defined types: `<mod>/manifests/<path>.pp`.
    Manifest,
    /// Puppet-language functions: `<mod>/functions/<path>.pp`.
    Function,
    /// Type aliases: `<mod>/types/<path>.pp`.
    Type,
}

/// The code, data and templates of one environment, as the evaluator sees them.
pub trait Environment {
    fn name(&self) -> &str;
    /// The environment directory (for `$environment`-relative paths in messages).
    fn dir(&self) -> PathBuf;
    /// The site manifest(s), in evaluation order.
    fn site(&self) -> EResult<Vec<Arc<Code>>>;
    /// The file that would define `name` (already parsed), if it exists.
    fn autoload(&self, kind: LoadKind, name: &str) -> EResult<Option<Arc<Code>>>;
    /// A module's directory on the modulepath.
    fn module_dir(&self, module: &str) -> Option<PathBuf>;
    /// Reads a text file (templates, data). `None` if it does not exist.
    fn read(&self, path: &std::path::Path) -> Option<Arc<str>>;
    /// Reads a file's bytes (`binary_file`). `None` if it does not exist.
    fn read_bytes(&self, path: &std::path::Path) -> Option<Vec<u8>>;
    /// Parses an EPP template (cached).
    fn epp(&self, path: &std::path::Path) -> EResult<Arc<Code>>;
    /// Parses `inline_epp` text.
    fn inline_epp(&self, text: &str) -> EResult<Arc<Code>>;
    /// The global layer `hiera.yaml`, if any.
    fn global_hiera(&self) -> Option<PathBuf>;
    /// The entries of a directory (Hiera globs); empty if it does not exist.
    fn list_dir(&self, dir: &std::path::Path) -> Vec<PathBuf>;
    /// Modules in modulepath order (name, dir).
    fn modules(&self) -> Vec<(String, PathBuf)>;
    /// The directories modules are looked up in, in order (by default, those the
    /// modules found live in).
    fn modulepath(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = Vec::new();
        for (_, dir) in self.modules() {
            if let Some(p) = dir.parent() {
                if !out.iter().any(|x| x == p) {
                    out.push(p.to_path_buf());
                }
            }
        }
        out
    }
    /// Runs a `generate()` command (absolute path, already checked) with its directory as the
    /// working directory; its output, or Puppet's execution failure text.
    fn generate(&self, argv: &[String]) -> Result<String, String>;
    /// Parses data text (stdlib's `parseyaml`/`parsejson`) as Hiera files are parsed.
    fn parse_data(&self, text: &str, format: DataFormat) -> Result<serde_json::Value, String>;
    /// A parsed Hiera data file; `None` if the file does not exist. Implementations may
    /// cache the parse across compiles.
    fn data(
        &self,
        path: &std::path::Path,
        format: DataFormat,
    ) -> Option<Result<Arc<serde_json::Value>, String>>;
    /// The pool of Ruby helpers that runs module functions written only in Ruby; `None`:
    /// such functions fail with a message naming them.
    fn ruby(&self) -> Option<Arc<troupe_rubyhost::Pool>> {
        None
    }
    /// What the Ruby helper answered about `file` under `key` (a module's resource type) in
    /// an earlier compile of this environment, while the file is unchanged: the helper itself
    /// reloads an environment only when the file it is asked about changes. Implementations
    /// may keep nothing.
    fn ruby_answer(&self, _key: &str, _file: &std::path::Path) -> Option<serde_json::Value> {
        None
    }
    /// Keeps an answer for [`Environment::ruby_answer`].
    fn keep_ruby_answer(&self, _key: &str, _file: &std::path::Path, _answer: &serde_json::Value) {}
    /// The store of exported resources (Puppet's `storeconfigs`); `None`: storeconfigs is
    /// off, and `<<| |>>` collects nothing (with Puppet's warning).
    fn storeconfigs(&self) -> Option<&dyn Storeconfigs> {
        None
    }
    /// What an earlier compile of this environment derived from its code alone (the module
    /// index, module types) under `key`, while the environment is kept whole for its
    /// `environment_timeout`; `None` when nothing is kept.
    fn kept(&self, _key: &str) -> Option<Kept> {
        None
    }
    /// Keeps a value for [`Environment::kept`] (ignored unless the environment is kept).
    fn keep(&self, _key: &str, _value: Kept) {}
}

/// Where exported resources of other nodes are found (PuppetDB's resource query, as Puppet's
/// `Puppet::Resource::Puppetdb#search` makes it).
pub trait Storeconfigs: Send + Sync + std::fmt::Debug {
    /// The exported resources of `type_name` (`Host`, `Concat::Fragment`) of every node but
    /// `host` that match `filter` (a PuppetDB query expression, already built from the
    /// collector's query), as PuppetDB's rows: objects with `certname`, `type`, `title`,
    /// `parameters`. The error is the whole message (Puppet's "Could not retrieve resources
    /// from the PuppetDB at ...").
    fn search(
        &self,
        type_name: &str,
        host: &str,
        filter: Option<&serde_json::Value>,
    ) -> Result<Vec<serde_json::Value>, String>;
}

/// The syntax of a Hiera data file (the `data_hash` backends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataFormat {
    Yaml,
    Json,
    Hocon,
}
