//! What `troupe migrate` maps: every setting of `puppet.conf`'s server sections and of
//! puppetserver's `conf.d`, each either mapped to a troupe setting (a note) or reported as not
//! mapped (a warning); and the files to copy (the CA directory, the server's certificate).

use super::puppet_conf::{self, SERVER_SECTIONS};
use anyhow::{bail, Context, Result};
use serde_json::Value as J;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

#[derive(Debug, Default)]
pub struct Plan {
    main: Vec<(String, String, String)>,
    master: Vec<(String, String, String)>,
    front: Vec<(String, String, String)>,
    pub notes: Vec<String>,
    pub warnings: Vec<String>,
    pub copies: Vec<(PathBuf, PathBuf)>,
}

/// puppetserver's conf.d, flattened to dotted keys: file -> key -> value.
type ConfD = BTreeMap<String, BTreeMap<String, J>>;

fn flatten(prefix: &str, v: &J, out: &mut BTreeMap<String, J>) {
    match v {
        J::Object(m) => {
            for (k, v) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        _ => {
            out.insert(prefix.to_string(), v.clone());
        }
    }
}

fn text(v: &J) -> String {
    match v {
        J::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn read_confd(dir: &Path, warnings: &mut Vec<String>) -> ConfD {
    let mut out = ConfD::new();
    let Ok(rd) = fs::read_dir(dir) else {
        return out;
    };
    let mut files: Vec<_> = rd.flatten().map(|e| e.path()).collect();
    files.sort();
    for f in files {
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !name.ends_with(".conf") {
            warnings.push(format!("{}: not read (not a .conf file)", f.display()));
            continue;
        }
        match fs::read_to_string(&f)
            .map_err(|e| e.to_string())
            .and_then(|t| troupe_compiler::hocon::parse(&t))
        {
            Ok(v) => {
                let mut flat = BTreeMap::new();
                flatten("", &v, &mut flat);
                out.insert(name, flat);
            }
            Err(e) => warnings.push(format!(
                "{}: cannot read it ({e}); none of its settings are mapped",
                f.display()
            )),
        }
    }
    out
}

impl Plan {
    fn set(&mut self, section: &str, key: &str, value: &str, from: String) {
        self.notes
            .push(format!("{from} -> [{section}] {key} = {value}"));
        let line = (key.to_string(), value.to_string(), from);
        match section {
            "main" => self.main.push(line),
            "master" => self.master.push(line),
            _ => self.front.push(line),
        }
    }

    pub fn read(from: &Path, confd: Option<&Path>, ssldir: &Path) -> Result<Plan> {
        let mut p = Plan::default();
        let confd = confd.map(Path::to_path_buf).or_else(|| {
            [from.join("puppetserver/conf.d"), from.join("conf.d")]
                .into_iter()
                .find(|d| d.is_dir())
        });
        let cd = match &confd {
            Some(d) => read_confd(d, &mut p.warnings),
            None => {
                p.warnings.push(format!("no puppetserver conf.d found under {}: webserver, CA and JRuby settings not read", from.display()));
                ConfD::new()
            }
        };
        let ps = cd.get("puppetserver.conf").cloned().unwrap_or_default();
        let jr = |k: &str| ps.get(&format!("jruby-puppet.{k}")).map(text);
        let conf_file = [from.join("puppet.conf"), from.join("puppet/puppet.conf")]
            .into_iter()
            .chain(jr("server-conf-dir").map(|d| Path::new(&d).join("puppet.conf")))
            .find(|f| f.is_file());
        let Some(conf_file) = conf_file else {
            bail!(
                "no puppet.conf in {} (nor {}/puppet, nor puppetserver's server-conf-dir)",
                from.display(),
                from.display()
            );
        };
        let conf_text = fs::read_to_string(&conf_file)
            .with_context(|| format!("reading {}", conf_file.display()))?;
        let pc = puppet_conf::parse(&conf_text);
        p.notes.push(format!("read {}", conf_file.display()));
        let confdir = conf_file.parent().unwrap_or(Path::new("/")).to_path_buf();
        let inc = from.to_string_lossy().contains("puppetlabs");
        let mut d = BTreeMap::new();
        let mut def = |k: &str, v: String| {
            d.insert(k.to_string(), v);
        };
        def("confdir", confdir.display().to_string());
        def(
            "codedir",
            jr("server-code-dir").unwrap_or_else(|| {
                if inc {
                    "/etc/puppetlabs/code"
                } else {
                    "/etc/puppet/code"
                }
                .into()
            }),
        );
        def(
            "vardir",
            jr("server-var-dir").unwrap_or_else(|| {
                if inc {
                    "/opt/puppetlabs/server/data/puppetserver"
                } else {
                    "/var/lib/puppetserver"
                }
                .into()
            }),
        );
        def(
            "ssldir",
            if inc {
                "$confdir/ssl".into()
            } else {
                "/var/lib/puppet/ssl".into()
            },
        );
        def("environmentpath", "$codedir/environments".into());
        def("hiera_config", "$confdir/hiera.yaml".into());
        def("reportdir", "$vardir/reports".into());
        def("autosign", "$confdir/autosign.conf".into());
        let get = |k: &str| pc.get(k, &d).unwrap_or_default();
        let at = |k: &str| match pc.raw(k) {
            Some(r) => format!(
                "{} [{}] {k} (line {})",
                conf_file.display(),
                r.section,
                r.line
            ),
            None => format!(
                "{k} (Puppet's default, {})",
                d.get(k).map(String::as_str).unwrap_or("")
            ),
        };
        for (n, l) in &pc.bad_lines {
            p.warnings.push(format!(
                "{} line {n}: not a setting, ignored: {l}",
                conf_file.display()
            ));
        }
        for s in pc
            .sections
            .keys()
            .filter(|s| !SERVER_SECTIONS.contains(&s.as_str()))
        {
            p.warnings.push(format!(
                "{} [{s}]: not the server's section, not read",
                conf_file.display()
            ));
        }
        let mut keys: Vec<&String> = SERVER_SECTIONS
            .iter()
            .filter_map(|s| pc.sections.get(*s))
            .flat_map(|m| m.keys())
            .collect();
        keys.sort();
        keys.dedup();
        let srv_ssldir = PathBuf::from(get("ssldir"));
        let mut certname = None;
        let mut node_terminus = String::from("plain");
        for k in keys.iter().map(|k| k.as_str()) {
            let v = get(k);
            match k {
                "certname" => {
                    p.set("main", "certname", &v, at(k));
                    certname = Some(v);
                }
                "dns_alt_names" | "codedir" | "environmentpath" | "basemodulepath"
                | "hiera_config" | "reportdir" => {
                    let v = if k == "environmentpath" && v.contains(':') {
                        p.warnings.push(format!(
                            "{}: troupe reads one environment directory, the first of '{v}'",
                            at(k)
                        ));
                        v.split(':').next().unwrap_or("").to_string()
                    } else {
                        v
                    };
                    p.set("master", k, &v, at(k));
                }
                "ca_ttl" => match crate::master_cmd::duration(&v) {
                    Ok(_) => p.set("master", k, &v, at(k)),
                    Err(e) => p.warnings.push(format!("{}: {e}; not mapped", at(k))),
                },
                "autosign" => {}
                "node_terminus" => node_terminus = v,
                "external_nodes" => {}
                "ssldir" | "cadir" | "confdir" | "vardir" => p
                    .notes
                    .push(format!("{} = {v}: used to find the files", at(k))),
                "storeconfigs" | "storeconfigs_backend" | "reporturl" => {
                    p.set("master", k, &v, at(k));
                    if k == "storeconfigs" && v == "true" && from.join("puppetdb.conf").is_file() {
                        let conf = from.join("puppetdb.conf").display().to_string();
                        p.set("master", "puppetdb_conf", &conf, at(k));
                    }
                }
                "reports" => {
                    let known: Vec<&str> = v
                        .split(',')
                        .map(str::trim)
                        .filter(|r| matches!(*r, "store" | "http" | "puppetdb" | "none"))
                        .collect();
                    let others: Vec<&str> = v
                        .split(',')
                        .map(str::trim)
                        .filter(|r| !r.is_empty() && !known.contains(r))
                        .collect();
                    if !known.is_empty() {
                        p.set("master", k, &known.join(", "), at(k));
                    }
                    if !others.is_empty() {
                        p.warnings.push(format!(
                            "{} = {v}: troupe has the report processors store, http and puppetdb; {} not run",
                            at(k),
                            others.join(", ")
                        ));
                    }
                }
                _ => p.warnings.push(format!(
                    "{} = {v}: not mapped (troupe has no such setting)",
                    at(k)
                )),
            }
        }
        // Puppet's defaults troupe's differ from.
        if pc.raw("codedir").is_none() {
            p.set("master", "codedir", &get("codedir"), at("codedir"));
        }
        if pc.raw("hiera_config").is_none() && Path::new(&get("hiera_config")).is_file() {
            p.set(
                "master",
                "hiera_config",
                &get("hiera_config"),
                at("hiera_config"),
            );
        }
        if pc.raw("reportdir").is_none() {
            p.warnings.push(format!(
                "reportdir: puppetserver's reports in {} stay there; troupe writes its own (JSON) to its default, <ssldir>/../reports",
                get("reportdir")
            ));
        }
        // autosign: Puppet's default is $confdir/autosign.conf when that file exists.
        let autosign = get("autosign");
        let autosign = if pc.raw("autosign").is_none() && !Path::new(&autosign).exists() {
            "false".to_string()
        } else {
            autosign
        };
        p.set("master", "autosign", &autosign, at("autosign"));
        match node_terminus.as_str() {
            "plain" => {}
            "exec" => {
                let en = get("external_nodes");
                p.set("master", "node_terminus", "exec", at("node_terminus"));
                p.set("master", "external_nodes", &en, at("external_nodes"));
            }
            other => p.warnings.push(format!(
                "{} = {other}: not supported (troupe classifies with plain or exec)",
                at("node_terminus")
            )),
        }
        if node_terminus != "exec" && pc.raw("external_nodes").is_some() {
            p.warnings.push(format!(
                "{}: not used (node_terminus is not exec)",
                at("external_nodes")
            ));
        }
        let certname = certname.unwrap_or_else(|| {
            let h = crate::master_cmd::default_certname();
            p.warnings.push(format!("puppet.conf sets no certname: Puppet's default is the host's name, '{h}'; check it is the puppetserver's"));
            p.main.push(("certname".into(), h.clone(), "the host's name".into()));
            h
        });
        let mut cert_src = (
            srv_ssldir.join("certs").join(format!("{certname}.pem")),
            srv_ssldir
                .join("private_keys")
                .join(format!("{certname}.pem")),
        );
        let mut listen = (
            "0.0.0.0".to_string(),
            "8140".to_string(),
            "puppetserver's default".to_string(),
        );
        for (file, flat) in &cd {
            for (k, v) in flat {
                let v = text(v);
                let from = format!("conf.d/{file}: {k}");
                match (file.as_str(), k.as_str()) {
                    ("webserver.conf", "webserver.ssl-port") => { listen.1 = v; listen.2 = from; }
                    ("webserver.conf", "webserver.ssl-host") => listen.0 = v,
                    ("webserver.conf", "webserver.ssl-cert") => cert_src.0 = v.into(),
                    ("webserver.conf", "webserver.ssl-key") => cert_src.1 = v.into(),
                    ("webserver.conf", "webserver.client-auth") if v == "want" => p.notes.push(format!("{from} = want: troupe's front asks for and verifies client certificates the same way")),
                    ("ca.conf", "certificate-authority.allow-subject-alt-names") => p.set("master", "allow_subject_alt_names", &v, from),
                    ("ca.conf", "certificate-authority.allow-authorization-extensions") => p.set("master", "allow_authorization_extensions", &v, from),
                    ("puppetserver.conf", "jruby-puppet.max-active-instances") => p.set("master", "workers", &v, from),
                    ("puppetserver.conf", "versioned-code.code-id-command") => p.set("master", "code_id_command", &v, from),
                    ("puppetserver.conf", k) if k.starts_with("jruby-puppet.server-") && k.ends_with("-dir") => p.notes.push(format!("{from} = {v}: used to find the files")),
                    ("auth.conf", _) => {}
                    _ => p.warnings.push(format!("{from} = {v}: not mapped")),
                }
            }
        }
        if cd.contains_key("auth.conf") {
            p.warnings.push("conf.d/auth.conf: not read; troupe authorizes requests as puppetserver's default auth.conf does (check yours has no local rules)".into());
        }
        let host = if listen.0 == "0.0.0.0" || listen.0.is_empty() {
            "0.0.0.0".to_string()
        } else {
            listen.0.clone()
        };
        p.set("front", "listen", &format!("{host}:{}", listen.1), listen.2);
        // The CA: cadir from puppet.conf, else puppetserver's own directory, else $ssldir/ca.
        let cadir = match pc.raw("cadir") {
            Some(_) => PathBuf::from(get("cadir")),
            None => [
                confd
                    .as_ref()
                    .and_then(|c| c.parent())
                    .map(|d| d.join("ca")),
                Some(from.join("puppetserver/ca")),
                Some(srv_ssldir.join("ca")),
            ]
            .into_iter()
            .flatten()
            .find(|d| d.join("ca_crt.pem").is_file())
            .unwrap_or_else(|| srv_ssldir.join("ca")),
        };
        let dst_ca = ssldir.join("ca");
        if cadir.join("ca_crt.pem").is_file() && cadir.join("ca_key.pem").is_file() {
            p.copies.push((cadir.clone(), dst_ca.clone()));
            p.notes.push(format!("the CA {} (certificate, key, serial, inventory, CRL, signed certificates, pending requests) -> {}", cadir.display(), dst_ca.display()));
            for f in [
                "infra_crl.pem",
                "infra_inventory.txt",
                "infra_serials",
                "root_key.pem",
            ] {
                if cadir.join(f).exists() {
                    p.warnings.push(format!(
                        "{}: copied, but troupe does not use it (no infrastructure CRL / root key)",
                        cadir.join(f).display()
                    ));
                }
            }
        } else {
            p.warnings.push(format!("no CA (ca_crt.pem and ca_key.pem) in {}: troupe will create a new CA and every agent will need a new certificate", cadir.display()));
        }
        p.main.push((
            "ssldir".into(),
            ssldir.display().to_string(),
            "troupe's ssldir (--ssldir)".into(),
        ));
        p.main.push((
            "store".into(),
            format!("dir:{}", dst_ca.display()),
            "the copied CA".into(),
        ));
        if cert_src.0.is_file() && cert_src.1.is_file() {
            let (c, k) = (
                ssldir.join("certs").join(format!("{certname}.pem")),
                ssldir.join("private_keys").join(format!("{certname}.pem")),
            );
            p.notes.push(format!(
                "the server's certificate {} and key -> {}",
                cert_src.0.display(),
                c.display()
            ));
            p.copies.push((cert_src.0, c));
            p.copies.push((cert_src.1, k));
            p.copies
                .push((cadir.join("ca_crt.pem"), ssldir.join("certs/ca.pem")));
        } else {
            p.warnings.push(format!("no server certificate {} (and key): troupe node will issue a new one for {certname} from the CA (agents trust it: same CA)", cert_src.0.display()));
        }
        Ok(p)
    }

    /// The `troupe node` config.
    pub fn config_text(&self, from: &Path) -> String {
        let mut s = format!(
            "# written by troupe migrate from {}; each setting says where it came from\n",
            from.display()
        );
        for (name, lines) in [
            ("main", &self.main),
            ("master", &self.master),
            ("front", &self.front),
        ] {
            let _ = writeln!(s, "\n[{name}]");
            for (k, v, from) in lines {
                let _ = writeln!(s, "# {from}\n{k} = {v}");
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Debian-like install in a scratch directory: every setting is mapped or warned.
    #[test]
    fn debian_layout_maps_or_warns_every_setting() -> Result<()> {
        let root = std::env::temp_dir().join(format!("troupe-migrate-plan-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let ca = root.join("puppetserver/ca");
        fs::create_dir_all(root.join("puppetserver/conf.d"))?;
        fs::create_dir_all(&ca)?;
        for f in ["ca_crt.pem", "ca_key.pem", "infra_crl.pem"] {
            fs::write(ca.join(f), "x")?;
        }
        fs::write(
            root.join("puppet.conf"),
            "[main]\ncertname = puppet.example\nssldir = $vardir/ssl\n[master]\nnode_terminus = exec\n\
             external_nodes = /usr/local/bin/enc\nstoreconfigs = true\nca_ttl = 10y\nfrobnicate = 1\n\
             [agent]\nserver = puppet\n",
        )
        ?;
        fs::write(
            root.join("puppetserver/conf.d/webserver.conf"),
            "webserver: {\n  ssl-host: 0.0.0.0\n  ssl-port: 8141\n  idle-timeout-milliseconds: 5\n}\n",
        )
        ?;
        fs::write(
            root.join("puppetserver/conf.d/ca.conf"),
            "certificate-authority: { allow-subject-alt-names: true }\n",
        )?;
        let p = Plan::read(&root, None, Path::new("/var/lib/troupe/ssl"));
        let _ = fs::remove_dir_all(&root);
        let p = p?;
        let text = p.config_text(&root);
        for line in [
            "certname = puppet.example",
            "codedir = /etc/puppet/code",
            "node_terminus = exec",
            "external_nodes = /usr/local/bin/enc",
            "ca_ttl = 10y",
            "allow_subject_alt_names = true",
            "listen = 0.0.0.0:8141",
            "store = dir:/var/lib/troupe/ssl/ca",
            "autosign = false",
            "storeconfigs = true",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
        let w = p.warnings.join("\n");
        for needle in [
            "frobnicate (line 9) = 1: not mapped",
            "[agent]: not the server's section",
            "webserver.idle-timeout-milliseconds = 5: not mapped",
            "infra_crl.pem: copied, but troupe does not use it",
            "no server certificate /var/lib/puppetserver/ssl/certs/puppet.example.pem",
        ] {
            assert!(w.contains(needle), "{needle} missing in\n{w}");
        }
        assert_eq!(p.copies.len(), 1);
        Ok(())
    }
}
