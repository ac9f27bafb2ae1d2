//! Puppet's default `auth.conf` (puppetserver 7): the first rule that matches a request's
//! method and path decides.

use crate::Identity;

enum Allow {
    /// Anyone, with or without a certificate.
    Unauthenticated,
    /// Any client with a verified certificate.
    Authenticated,
    /// Only the node named by the path's capture.
    Own,
    /// Certificates carrying `pp_cli_auth: true` (the CA's own admin certificates), presented
    /// to this master in a TLS handshake: never an identity vouched for by headers.
    CliAuth,
    Deny,
}

enum Match {
    Prefix(&'static str),
    /// A path of the form `<prefix><name>` with no further `/`.
    Named(&'static str),
}

struct Rule {
    m: Match,
    methods: &'static [&'static str],
    allow: Allow,
}

const ANY: &[&str] = &["GET", "HEAD", "POST", "PUT", "DELETE"];

const RULES: &[Rule] = &[
    Rule {
        m: Match::Named("/puppet/v3/catalog/"),
        methods: &["GET", "POST"],
        allow: Allow::Own,
    },
    Rule {
        m: Match::Prefix("/puppet-ca/v1/certificate/"),
        methods: &["GET"],
        allow: Allow::Unauthenticated,
    },
    Rule {
        m: Match::Prefix("/puppet-ca/v1/certificate_revocation_list/ca"),
        methods: &["GET"],
        allow: Allow::Unauthenticated,
    },
    Rule {
        m: Match::Prefix("/puppet-ca/v1/certificate_request"),
        methods: &["GET", "PUT"],
        allow: Allow::Unauthenticated,
    },
    Rule {
        m: Match::Prefix("/puppet-ca/v1/certificate_status"),
        methods: &["GET", "PUT", "DELETE"],
        allow: Allow::CliAuth,
    },
    Rule {
        m: Match::Prefix("/puppet-ca/v1/certificate_statuses"),
        methods: &["GET"],
        allow: Allow::CliAuth,
    },
    Rule {
        m: Match::Prefix("/puppet-ca/v1/expirations"),
        methods: &["GET"],
        allow: Allow::Authenticated,
    },
    Rule {
        m: Match::Prefix("/puppet-ca/v1/clean"),
        methods: &["PUT"],
        allow: Allow::CliAuth,
    },
    Rule {
        m: Match::Prefix("/status/v1/services"),
        methods: &["GET"],
        allow: Allow::Unauthenticated,
    },
    Rule {
        m: Match::Prefix("/status/v1/simple"),
        methods: &["GET"],
        allow: Allow::Unauthenticated,
    },
    Rule {
        m: Match::Prefix("/puppet/v3/environments"),
        methods: &["GET"],
        allow: Allow::Authenticated,
    },
    Rule {
        m: Match::Prefix("/puppet/v3/file_bucket_file"),
        methods: &["GET", "HEAD", "POST", "PUT"],
        allow: Allow::Authenticated,
    },
    Rule {
        m: Match::Prefix("/puppet/v3/file_content"),
        methods: &["GET", "POST"],
        allow: Allow::Authenticated,
    },
    Rule {
        m: Match::Prefix("/puppet/v3/file_metadata"),
        methods: &["GET", "POST"],
        allow: Allow::Authenticated,
    },
    Rule {
        m: Match::Named("/puppet/v3/node/"),
        methods: &["GET"],
        allow: Allow::Own,
    },
    Rule {
        m: Match::Named("/puppet/v3/report/"),
        methods: &["PUT"],
        allow: Allow::Own,
    },
    Rule {
        m: Match::Named("/puppet/v3/facts/"),
        methods: &["PUT"],
        allow: Allow::Own,
    },
    Rule {
        m: Match::Prefix("/puppet/v3/static_file_content"),
        methods: &["GET"],
        allow: Allow::Authenticated,
    },
    Rule {
        m: Match::Prefix("/puppet/v3/tasks"),
        methods: ANY,
        allow: Allow::Authenticated,
    },
    Rule {
        m: Match::Prefix("/puppet-admin-api/v1/environment-cache"),
        methods: &["DELETE"],
        allow: Allow::CliAuth,
    },
    Rule {
        m: Match::Prefix("/"),
        methods: ANY,
        allow: Allow::Deny,
    },
];

/// Whether `who` may `method` `path`.
#[cfg(test)]
pub fn allowed(method: &str, path: &str, who: &Identity) -> bool {
    refusal(method, path, who).is_none()
}

/// `None` when `who` may `method` `path`, else the rule that refuses it (for the log).
pub fn refusal(method: &str, path: &str, who: &Identity) -> Option<String> {
    for r in RULES {
        if !r.methods.contains(&method) {
            continue;
        }
        let capture = match r.m {
            Match::Prefix(p) => {
                if !path.starts_with(p) {
                    continue;
                }
                None
            }
            Match::Named(p) => match path.strip_prefix(p) {
                Some(rest) if !rest.is_empty() && !rest.contains('/') => Some(rest),
                _ => continue,
            },
        };
        let ok = match r.allow {
            Allow::Unauthenticated => true,
            Allow::Authenticated => who.certname.is_some(),
            Allow::Own => who.certname.is_some() && who.certname.as_deref() == capture,
            Allow::CliAuth => {
                !who.via_headers
                    && who.cert.as_ref().is_some_and(|der| {
                        troupe_ca::trusted_extensions(der).get("1.3.6.1.4.1.34380.1.3.39")
                            == Some(&serde_json::Value::String("true".into()))
                    })
            }
            Allow::Deny => false,
        };
        return (!ok).then(|| describe(r));
    }
    Some("no rule matches the method".into())
}

/// `PATH METHODS: who may`, as the rule reads.
fn describe(r: &Rule) -> String {
    let path = match r.m {
        Match::Prefix(p) => p.to_string(),
        Match::Named(p) => format!("{p}<certname>"),
    };
    let who = match r.allow {
        Allow::Unauthenticated => "anyone",
        Allow::Authenticated => "any verified certificate",
        Allow::Own => "the node named in the path",
        Allow::CliAuth => "a pp_cli_auth certificate presented to this master",
        Allow::Deny => "nobody (the default deny)",
    };
    format!("{path} {}: {who}", r.methods.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(n: &str) -> Identity {
        Identity {
            certname: Some(n.into()),
            ..Identity::default()
        }
    }

    #[test]
    fn nodes_reach_only_their_own_objects() {
        let n1 = node("node1.example.test");
        assert!(allowed(
            "POST",
            "/puppet/v3/catalog/node1.example.test",
            &n1
        ));
        assert!(!allowed(
            "POST",
            "/puppet/v3/catalog/node2.example.test",
            &n1
        ));
        assert!(!allowed("GET", "/puppet/v3/node/node2.example.test", &n1));
        assert!(allowed("PUT", "/puppet/v3/report/node1.example.test", &n1));
        assert!(!allowed("PUT", "/puppet/v3/report/node2.example.test", &n1));
        assert!(!allowed(
            "PUT",
            "/puppet/v3/catalog/node1.example.test",
            &n1
        ));
    }

    #[test]
    fn ca_and_status_are_open_admin_is_not() {
        let anon = Identity::default();
        assert!(allowed("GET", "/puppet-ca/v1/certificate/ca", &anon));
        assert!(allowed("PUT", "/puppet-ca/v1/certificate_request/x", &anon));
        assert!(!allowed(
            "DELETE",
            "/puppet-ca/v1/certificate_request/x",
            &anon
        ));
        assert!(allowed("GET", "/status/v1/simple", &anon));
        assert!(!allowed("GET", "/puppet/v3/file_metadatas/plugins", &anon));
        assert!(!allowed(
            "PUT",
            "/puppet-ca/v1/certificate_status/x",
            &node("x")
        ));
        assert!(!allowed("GET", "/puppet/v3/catalog/x", &anon));
        for who in [&anon, &node("x")] {
            assert!(!allowed(
                "DELETE",
                "/puppet-admin-api/v1/environment-cache",
                who
            ));
        }
    }

    #[test]
    fn a_refusal_names_its_rule() {
        let n1 = node("node1.example.test");
        let r = refusal("GET", "/puppet/v3/catalog/node2.example.test", &n1).expect("refused");
        assert_eq!(
            r,
            "/puppet/v3/catalog/<certname> GET,POST: the node named in the path"
        );
        let r = refusal("GET", "/nowhere", &n1).expect("refused");
        assert!(r.contains("default deny"), "{r}");
        assert!(refusal("GET", "/status/v1/simple", &n1).is_none());
    }
}
