//! `puppet.conf` as Puppet reads it for the server: `[section]` headers, `name = value` lines,
//! `#` comment lines, file metadata (`{owner = puppet, mode = 0750}`) after a value, and
//! `$name` / `${name}` references to other settings, resolved as Puppet does.

use std::collections::BTreeMap;

/// One setting as written: its value and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raw {
    pub value: String,
    pub section: String,
    pub line: usize,
}

/// A parsed `puppet.conf`.
#[derive(Debug, Default, Clone)]
pub struct PuppetConf {
    /// Section name -> setting -> value (a repeated setting: the last wins, as in Puppet).
    pub sections: BTreeMap<String, BTreeMap<String, Raw>>,
    /// Lines that are neither a section, a setting nor a comment, with their numbers.
    pub bad_lines: Vec<(usize, String)>,
}

/// The sections the server reads, strongest first (`[master]` is Puppet 7's old name of
/// `[server]`).
pub const SERVER_SECTIONS: [&str; 3] = ["server", "master", "main"];

pub fn parse(text: &str) -> PuppetConf {
    let mut c = PuppetConf::default();
    let mut section = "main".to_string();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if let Some(name) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            section = name.trim().to_string();
            c.sections.entry(section.clone()).or_default();
            continue;
        }
        let Some((k, v)) = t.split_once('=') else {
            c.bad_lines.push((i + 1, t.to_string()));
            continue;
        };
        let k = k.trim();
        if k.is_empty() || !k.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_') {
            c.bad_lines.push((i + 1, t.to_string()));
            continue;
        }
        let raw = Raw {
            value: strip_metadata(v.trim()).to_string(),
            section: section.clone(),
            line: i + 1,
        };
        c.sections
            .entry(section.clone())
            .or_default()
            .insert(k.to_string(), raw);
    }
    c
}

/// `value {owner = puppet}` -> `value` (Puppet's file metadata on path settings).
fn strip_metadata(v: &str) -> &str {
    if v.ends_with('}') {
        if let Some(i) = v.rfind('{') {
            let inner = &v[i + 1..v.len() - 1];
            if inner.contains('=') && !v[..i].ends_with('$') {
                return v[..i].trim_end();
            }
        }
    }
    v
}

impl PuppetConf {
    /// The server's setting as written: `[server]`, else `[master]`, else `[main]`.
    pub fn raw(&self, key: &str) -> Option<&Raw> {
        SERVER_SECTIONS
            .iter()
            .find_map(|s| self.sections.get(*s).and_then(|m| m.get(key)))
    }

    /// The server's setting with `$name` references resolved against the other settings, then
    /// `defaults`; `None` when neither sets it. An unknown reference stays as written.
    pub fn get(&self, key: &str, defaults: &BTreeMap<String, String>) -> Option<String> {
        self.resolve(key, defaults, 0)
    }

    fn resolve(
        &self,
        key: &str,
        defaults: &BTreeMap<String, String>,
        depth: u32,
    ) -> Option<String> {
        let v = match self.raw(key) {
            Some(r) => r.value.clone(),
            None => defaults.get(key)?.clone(),
        };
        if depth > 16 {
            return Some(v);
        }
        Some(interpolate(&v, |name| {
            (name != key)
                .then(|| self.resolve(name, defaults, depth + 1))
                .flatten()
        }))
    }
}

/// Replaces `$name` and `${name}` with `lookup(name)`; unknown names stay as written.
pub fn interpolate(v: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let mut rest = v;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, len) = if let Some(b) = after.strip_prefix('{') {
            match b.find('}') {
                Some(j) => (&b[..j], j + 2),
                None => ("", 0),
            }
        } else {
            let n = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..n], n)
        };
        match (name.is_empty(), lookup(name)) {
            (false, Some(val)) => out.push_str(&val),
            _ => out.push_str(&rest[i..i + 1 + len]),
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> BTreeMap<String, String> {
        [
            ("confdir", "/etc/puppet"),
            ("vardir", "/var/lib/puppetserver"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn sections_comments_and_precedence() {
        let c = parse(
            "# a comment\ncertname = top.example\n[main]\n  # indented comment\nautosign = false\n\
             dns_alt_names = a,b\n[master]\nautosign = true\n[server]\nautosign = /etc/autosign.conf\n\
             [agent]\nserver = puppet\nnot a setting\n",
        );
        assert_eq!(
            c.raw("certname").map(|r| r.value.as_str()),
            Some("top.example")
        );
        assert_eq!(
            c.raw("autosign").map(|r| r.section.as_str()),
            Some("server")
        );
        assert_eq!(
            c.get("autosign", &defaults()).as_deref(),
            Some("/etc/autosign.conf")
        );
        // [agent] is not the server's.
        assert_eq!(c.raw("server"), None);
        assert_eq!(c.bad_lines, vec![(13, "not a setting".to_string())]);
        assert_eq!(c.raw("dns_alt_names").map(|r| r.line), Some(6));
    }

    #[test]
    fn master_section_when_no_server_section() {
        let c = parse("[main]\nca_ttl = 5y\n[master]\nca_ttl = 10y\n");
        assert_eq!(c.get("ca_ttl", &defaults()).as_deref(), Some("10y"));
    }

    #[test]
    fn interpolation_of_settings_and_defaults() {
        let c = parse(
            "[main]\nssldir = $vardir/ssl {owner = service, mode = 0771}\nreportdir = ${vardir}/reports\n\
             [server]\nvardir = /srv/puppet\nhiera_config = $confdir/hiera.yaml\nodd = $nosuch/x and ${also}\n",
        );
        let d = defaults();
        assert_eq!(c.get("ssldir", &d).as_deref(), Some("/srv/puppet/ssl"));
        assert_eq!(
            c.get("reportdir", &d).as_deref(),
            Some("/srv/puppet/reports")
        );
        assert_eq!(
            c.get("hiera_config", &d).as_deref(),
            Some("/etc/puppet/hiera.yaml")
        );
        assert_eq!(c.get("odd", &d).as_deref(), Some("$nosuch/x and ${also}"));
        assert_eq!(c.get("missing", &d), None);
    }

    #[test]
    fn self_reference_does_not_loop() {
        let c = parse("a = $b\nb = $a\nc = $c/x\n");
        assert!(c.get("a", &defaults()).is_some());
        assert_eq!(c.get("c", &defaults()).as_deref(), Some("$c/x"));
    }
}
