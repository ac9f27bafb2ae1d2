//! The `store*` settings: `store = dir:PATH | etcd://HOST:PORT[,HOST:PORT...]`,
//! `store_ca_cert`, `store_cert`, `store_key` (etcd client TLS) and `store_prefix`.

use std::path::{Path, PathBuf};

use crate::error::{Result, StoreError};
use crate::{Secret, Store};

/// The key prefix of an etcd store when `store_prefix` is not set.
pub const DEFAULT_ETCD_PREFIX: &str = "/troupe/";

/// A parsed store selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    Dir {
        path: PathBuf,
    },
    Etcd {
        /// `HOST:PORT` of each member.
        endpoints: Vec<String>,
        /// Every key is stored under it; starts and ends with `/`.
        prefix: String,
        /// With TLS: the CA that signed the members' certificates.
        ca_cert: Option<PathBuf>,
        /// With client-certificate authentication: the client certificate and key.
        client_cert: Option<(PathBuf, PathBuf)>,
    },
}

/// The raw `store*` settings as read from flags or a config file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreSettings {
    pub store: Option<String>,
    pub store_ca_cert: Option<String>,
    pub store_cert: Option<String>,
    pub store_key: Option<String>,
    pub store_prefix: Option<String>,
    /// The file holding the pool's join secret (`troupe pool init` writes it): unseals the CA
    /// and pool keys kept in an etcd store.
    pub join_secret_file: Option<String>,
}

impl StoreSettings {
    /// Takes one `name = value` setting (snake_case or kebab-case name); false when the name is
    /// not a store setting.
    pub fn set(&mut self, name: &str, value: &str) -> bool {
        let slot = match name.replace('-', "_").as_str() {
            "store" => &mut self.store,
            "store_ca_cert" => &mut self.store_ca_cert,
            "store_cert" => &mut self.store_cert,
            "store_key" => &mut self.store_key,
            "store_prefix" => &mut self.store_prefix,
            "join_secret_file" => &mut self.join_secret_file,
            _ => return false,
        };
        *slot = Some(value.trim().to_string());
        true
    }

    /// The configuration these settings select; `store` unset means `dir:<default_dir>`.
    pub fn to_config(&self, default_dir: &Path) -> Result<StoreConfig> {
        let bad = |msg: String| Err(StoreError::Config(msg));
        let store = match self.store.as_deref() {
            None => return self.dir_config(default_dir.to_path_buf()),
            Some(s) => s,
        };
        if let Some(path) = store.strip_prefix("dir:") {
            if path.is_empty() {
                return bad(format!(
                    "store = {store:?}: dir: needs a directory path (dir:/var/lib/troupe/ca)"
                ));
            }
            return self.dir_config(PathBuf::from(path));
        }
        let Some(list) = store.strip_prefix("etcd://") else {
            return bad(format!(
                "store = {store:?}: expected dir:PATH or etcd://HOST:PORT[,HOST:PORT...]"
            ));
        };
        let mut endpoints = Vec::new();
        for ep in list.split(',') {
            let ep = ep.trim();
            check_endpoint(ep).map_err(|why| {
                StoreError::Config(format!("store = {store:?}: endpoint {ep:?} {why}"))
            })?;
            endpoints.push(ep.to_string());
        }
        let prefix = match self.store_prefix.as_deref() {
            None => DEFAULT_ETCD_PREFIX.to_string(),
            Some(p) => {
                if !p.starts_with('/') || p.contains('\0') || p.contains("//") {
                    return bad(format!("store_prefix = {p:?}: expected a key prefix starting with '/' (like {DEFAULT_ETCD_PREFIX})"));
                }
                if p.ends_with('/') {
                    p.to_string()
                } else {
                    format!("{p}/")
                }
            }
        };
        let nonempty = |name: &str, v: &Option<String>| -> Result<Option<PathBuf>> {
            match v.as_deref() {
                None => Ok(None),
                Some("") => Err(StoreError::Config(format!(
                    "{name} is empty: expected a PEM file path"
                ))),
                Some(p) => Ok(Some(PathBuf::from(p))),
            }
        };
        let ca_cert = nonempty("store_ca_cert", &self.store_ca_cert)?;
        let cert = nonempty("store_cert", &self.store_cert)?;
        let key = nonempty("store_key", &self.store_key)?;
        let client_cert = match (cert, key) {
            (None, None) => None,
            (Some(c), Some(k)) => Some((c, k)),
            (Some(c), None) => {
                return bad(format!(
                    "store_cert = {:?} needs store_key as well",
                    c.display()
                ))
            }
            (None, Some(k)) => {
                return bad(format!(
                    "store_key = {:?} needs store_cert as well",
                    k.display()
                ))
            }
        };
        if client_cert.is_some() && ca_cert.is_none() {
            return bad("store_cert and store_key need store_ca_cert (the CA of the etcd members' certificates)".to_string());
        }
        Ok(StoreConfig::Etcd {
            endpoints,
            prefix,
            ca_cert,
            client_cert,
        })
    }

    fn dir_config(&self, path: PathBuf) -> Result<StoreConfig> {
        for (name, v) in [
            ("store_ca_cert", &self.store_ca_cert),
            ("store_cert", &self.store_cert),
            ("store_key", &self.store_key),
            ("store_prefix", &self.store_prefix),
            ("join_secret_file", &self.join_secret_file),
        ] {
            if let Some(v) = v {
                return Err(StoreError::Config(format!(
                    "{name} = {v:?} applies only to an etcd store, but store = dir:{}",
                    path.display()
                )));
            }
        }
        Ok(StoreConfig::Dir { path })
    }
}

impl StoreSettings {
    /// The shared store these settings select, opened, with the join secret read: `None` for a
    /// `dir` store (one host; the caller uses `dir_path`).
    pub fn open_shared(&self) -> Result<Option<Shared>> {
        let config = self.to_config(Path::new(""))?;
        if matches!(config, StoreConfig::Dir { .. }) {
            return Ok(None);
        }
        let secret = match self.join_secret_file.as_deref() {
            None | Some("") => None,
            Some(f) => Some(
                Secret::read_file(Path::new(f))
                    .map_err(|e| StoreError::Config(format!("join_secret_file: {e}")))?,
            ),
        };
        Ok(Some(Shared {
            store: Store::open(&config)?,
            secret,
        }))
    }

    /// The directory of a `store = dir:PATH` setting; `None` when unset or etcd.
    pub fn dir_path(&self) -> Option<PathBuf> {
        self.store
            .as_deref()
            .and_then(|s| s.strip_prefix("dir:"))
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
    }
}

/// A store shared by the pool's hosts (etcd), with this host's join secret when it has one
/// (needed to unseal the CA key and the pool key).
#[derive(Debug, Clone)]
pub struct Shared {
    pub store: Store,
    pub secret: Option<Secret>,
}

impl StoreConfig {
    /// Parses a `store` value alone (no TLS, default prefix).
    pub fn parse(store: &str) -> Result<StoreConfig> {
        StoreSettings {
            store: Some(store.to_string()),
            ..Default::default()
        }
        .to_config(Path::new(""))
    }
}

fn check_endpoint(ep: &str) -> std::result::Result<(), &'static str> {
    let (host, port) = if let Some(rest) = ep.strip_prefix('[') {
        let (h, p) = rest.split_once("]:").ok_or("is not [IPV6]:PORT")?;
        (h, p)
    } else {
        ep.rsplit_once(':').ok_or("is not HOST:PORT")?
    };
    if host.is_empty() {
        return Err("has no host");
    }
    if host.contains(['/', '@', ' ', '?', '#']) {
        return Err("has a bad host name");
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(()),
        _ => Err("has no valid port (1-65535)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(s: &StoreSettings) -> String {
        match s.to_config(Path::new("/d")) {
            Err(e) => e.to_string(),
            Ok(c) => panic!("expected an error, got {c:?}"),
        }
    }

    #[test]
    fn parses_dir_and_default() {
        assert_eq!(
            StoreSettings::default().to_config(Path::new("/d")).ok(),
            Some(StoreConfig::Dir { path: "/d".into() })
        );
        assert_eq!(
            StoreConfig::parse("dir:/var/ca").ok(),
            Some(StoreConfig::Dir {
                path: "/var/ca".into()
            })
        );
    }

    #[test]
    fn parses_etcd_with_tls_and_prefix() {
        let mut s = StoreSettings::default();
        assert!(s.set("store", "etcd://10.0.0.1:2379, [::1]:2379,e3:2379"));
        assert!(s.set("store-ca-cert", "/ca.pem"));
        assert!(s.set("store_cert", "/c.pem"));
        assert!(s.set("store_key", "/k.pem"));
        assert!(s.set("store_prefix", "/pool1"));
        assert!(!s.set("certname", "x"));
        assert_eq!(
            s.to_config(Path::new("/d")).ok(),
            Some(StoreConfig::Etcd {
                endpoints: vec![
                    "10.0.0.1:2379".into(),
                    "[::1]:2379".into(),
                    "e3:2379".into()
                ],
                prefix: "/pool1/".into(),
                ca_cert: Some("/ca.pem".into()),
                client_cert: Some(("/c.pem".into(), "/k.pem".into())),
            })
        );
    }

    #[test]
    fn bad_values_are_named() {
        let set = |pairs: &[(&str, &str)]| {
            let mut s = StoreSettings::default();
            for (n, v) in pairs {
                s.set(n, v);
            }
            s
        };
        assert!(err(&set(&[("store", "zookeeper://x")]))
            .contains("store = \"zookeeper://x\": expected dir:PATH"));
        assert!(err(&set(&[("store", "dir:")])).contains("needs a directory path"));
        assert!(err(&set(&[("store", "etcd://h1:2379,h2")]))
            .contains("endpoint \"h2\" is not HOST:PORT"));
        assert!(err(&set(&[("store", "etcd://h1:99999")]))
            .contains("endpoint \"h1:99999\" has no valid port"));
        assert!(err(&set(&[("store", "etcd://:2379")])).contains("has no host"));
        assert!(
            err(&set(&[("store", "etcd://h:1"), ("store_prefix", "troupe")]))
                .contains("store_prefix = \"troupe\"")
        );
        assert!(
            err(&set(&[("store", "etcd://h:1"), ("store_cert", "/c")])).contains("needs store_key")
        );
        assert!(err(&set(&[
            ("store", "etcd://h:1"),
            ("store_cert", "/c"),
            ("store_key", "/k")
        ]))
        .contains("need store_ca_cert"));
        assert!(err(&set(&[("store", "dir:/x"), ("store_ca_cert", "/ca")]))
            .contains("store_ca_cert = \"/ca\" applies only to an etcd store"));
    }
}
