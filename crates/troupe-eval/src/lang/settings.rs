//! The node's settings as code sees them: `$settings::x` and `$server_facts`.

use crate::lang::eval::Evaluator;
use troupe_values::value::Value;

/// `$settings::x`: the few settings code reads.
pub fn setting(ev: &Evaluator<'_>, name: &str) -> Value {
    match name {
        "environment" => Value::str(ev.env.name()),
        "environmentpath" => Value::str(
            ev.env
                .dir()
                .parent()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        ),
        "strict_variables" => Value::Bool(false),
        "storeconfigs" => Value::Bool(ev.env.storeconfigs().is_some()),
        "strict" => Value::str("warning"),
        "certname" | "servername" => ev.input.server_facts_get("servername"),
        // The server's directories, as Debian's Puppet lays them out (modules default paths
        // from them: puppetdb's globals read `$settings::confdir`). `codedir` is the one the
        // environments really live under.
        "codedir" => Value::str(
            ev.env
                .dir()
                .parent()
                .and_then(|p| p.parent())
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "/etc/puppet/code".into()),
        ),
        "confdir" => Value::str("/etc/puppet"),
        "vardir" => Value::str("/var/cache/puppet"),
        "ssldir" => Value::str("/var/lib/puppet/ssl"),
        "rundir" => Value::str("/run/puppet"),
        "logdir" => Value::str("/var/log/puppet"),
        // Puppet's hash of every setting; troupe's holds the settings above.
        "all_local" => {
            let mut h = troupe_values::value::Map::default();
            for k in KNOWN {
                h.insert(Value::str(*k), setting(ev, k));
            }
            Value::hash(h)
        }
        _ => Value::Undef,
    }
}

/// The settings `setting` knows, in `$settings::all_local`.
const KNOWN: &[&str] = &[
    "environment",
    "environmentpath",
    "strict_variables",
    "storeconfigs",
    "strict",
    "certname",
    "servername",
    "codedir",
    "confdir",
    "vardir",
    "ssldir",
    "rundir",
    "logdir",
];
impl crate::lang::eval::NodeInput {
    pub fn server_facts_get(&self, k: &str) -> Value {
        match &self.server_facts {
            Value::Hash(h) => h.get(&Value::str(k)).cloned().unwrap_or(Value::Undef),
            _ => Value::Undef,
        }
    }
}
