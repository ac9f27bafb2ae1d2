//! `puppetdb.conf`, as the PuppetDB terminus reads it (`Puppet::Util::Puppetdb::Config`):
//! an INI file whose `[main]` section names `server_urls` (comma-separated `https://` URLs,
//! tried in order), `server_url_timeout` (seconds, default 30), `submit_only_server_urls`
//! (commands go there too, queries never), `soft_write_failure`,
//! `include_unchanged_resources`, and the settings troupe accepts without acting on them
//! (`min_successful_submissions`, `command_broadcast`, `sticky_read_failover`,
//! `verify_client_certificate`). An unknown key, a bad URL or a bad number is an error
//! naming the file, line and key.

use crate::http_client::Target;
use std::path::Path;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct PdbConf {
    /// Where commands go and queries are asked, in order (the first that answers).
    pub server_urls: Vec<Target>,
    /// Where commands also go.
    pub submit_only: Vec<Target>,
    pub timeout: Duration,
    /// Reports keep resources without events (PuppetDB's `include_unchanged_resources`).
    pub include_unchanged_resources: bool,
    pub soft_write_failure: bool,
}

impl PdbConf {
    pub fn read(path: &Path) -> Result<PdbConf, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read puppetdb.conf {}: {e}", path.display()))?;
        PdbConf::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, file: &str) -> Result<PdbConf, String> {
        let mut c = PdbConf {
            server_urls: Vec::new(),
            submit_only: Vec::new(),
            timeout: Duration::from_secs(30),
            include_unchanged_resources: false,
            soft_write_failure: false,
        };
        let mut urls = "https://puppetdb:8081".to_string();
        let mut section = String::from("main");
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            let at = |msg: String| format!("{file}, line {}: {msg}", n + 1);
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if let Some(s) = line.strip_prefix('[') {
                section = s.trim_end_matches(']').trim().to_string();
                continue;
            }
            if section != "main" {
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                return Err(at(format!("'{line}' is not 'key = value'")));
            };
            let (k, v) = (k.trim(), v.trim());
            let flag = |v: &str| match v {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(at(format!("{k} = {v}: expected true or false"))),
            };
            match k {
                "server_urls" => urls = v.to_string(),
                "submit_only_server_urls" => {
                    c.submit_only = targets(v, k).map_err(at)?;
                }
                "server_url_timeout" => {
                    let secs: u64 = v
                        .parse()
                        .ok()
                        .filter(|s| *s > 0 && *s <= 3600)
                        .ok_or_else(|| at(format!("{k} = {v}: expected seconds (1 to 3600)")))?;
                    c.timeout = Duration::from_secs(secs);
                }
                "include_unchanged_resources" => c.include_unchanged_resources = flag(v)?,
                "soft_write_failure" => c.soft_write_failure = flag(v)?,
                "min_successful_submissions"
                | "command_broadcast"
                | "sticky_read_failover"
                | "verify_client_certificate" => {}
                "server" | "port" => {
                    return Err(at(format!(
                        "'{k}' is retired in PuppetDB's terminus: use server_urls"
                    )))
                }
                other => return Err(at(format!("unknown setting '{other}'"))),
            }
        }
        c.server_urls = targets(&urls, "server_urls").map_err(|e| format!("{file}: {e}"))?;
        if c.server_urls.is_empty() {
            return Err(format!("{file}: server_urls names no server"));
        }
        Ok(c)
    }
}

fn targets(list: &str, key: &str) -> Result<Vec<Target>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(|u| {
            let t = Target::parse(u.trim_end_matches('/'), key)?;
            if t.path != "/" {
                return Err(format!("{key} = {u}: a server URL has no path"));
            }
            Ok(t)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_terminus_settings() {
        let c = PdbConf::parse(
            "# site\n[main]\nserver_urls = https://pdb1.example.test:8081, https://pdb2.example.test:8081/\nserver_url_timeout = 5\nsoft_write_failure = true\n[other]\nx = y\n",
            "puppetdb.conf",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.server_urls.len(), 2);
        assert_eq!(c.server_urls[1].authority, "pdb2.example.test:8081");
        assert_eq!(c.timeout, Duration::from_secs(5));
        assert!(c.soft_write_failure && !c.include_unchanged_resources);
        let d = PdbConf::parse("", "p").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.server_urls[0].authority, "puppetdb:8081");
    }

    #[test]
    fn names_what_is_wrong() {
        let e = PdbConf::parse("[main]\nserver_urls = ftp://x\n", "pdb.conf").err();
        assert_eq!(
            e.as_deref(),
            Some("pdb.conf: server_urls = ftp://x: not an http:// or https:// URL")
        );
        let e = PdbConf::parse("[main]\nfrobnicate = 1\n", "pdb.conf").err();
        assert_eq!(
            e.as_deref(),
            Some("pdb.conf, line 2: unknown setting 'frobnicate'")
        );
        let e = PdbConf::parse("server_url_timeout = -1\n", "f").err();
        assert!(e.is_some_and(|e| e.contains("line 1: server_url_timeout = -1")));
        let e = PdbConf::parse("server_urls = https://h:1/pdb\n", "f").err();
        assert!(e.is_some_and(|e| e.contains("has no path")));
    }
}
