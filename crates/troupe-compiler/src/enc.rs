//! External node classifiers, as Puppet's `node_terminus = exec` runs them: the command in
//! `external_nodes` (split on whitespace; the program must be an absolute path) is run with the
//! node's name as its last argument; it prints YAML with `classes` (a list of names, or a hash
//! of name => parameters), `parameters` (top-scope variables) and `environment`. An empty
//! answer means the classifier does not know the node. Errors carry Puppet's texts.

use crate::command::{self, Failure};
use crate::yaml;
use serde_json::Value as J;
use std::time::Duration;
use troupe_eval::NodeData;

/// The most a classifier may print; more is an error, not memory.
const MAX_OUTPUT: u64 = 16 * 1024 * 1024;

/// What the classifier said about one node.
#[derive(Debug, Clone, Default)]
pub struct Classification {
    /// The environment it puts the node in (it wins over the agent's).
    pub environment: Option<String>,
    /// Classes and parameters for the compile.
    pub node: NodeData,
    /// `classes` and `parameters` as the classifier gave them, for the node object.
    pub classes: J,
    pub parameters: serde_json::Map<String, J>,
}

/// Runs the classifier `command` for `name`: `Ok(None)` when it printed nothing (an unknown
/// node). `Err` carries Puppet's message for the compile ("Failed when searching for node
/// ..." is added by the caller).
pub fn classify(
    command: &str,
    name: &str,
    timeout: Duration,
) -> Result<Option<Classification>, String> {
    let mut argv: Vec<&str> = command.split_whitespace().collect();
    if argv.is_empty() || command.trim() == "none" {
        return Err(
            "You must set the 'external_nodes' parameter to use the external node terminus".into(),
        );
    }
    if !argv[0].starts_with('/') {
        return Err("You must set the exec parameter to a fully qualified command".into());
    }
    argv.push(name);
    let shown = argv.join(" ");
    let fail = |e: String| format!("Failed to find {name} via exec: {e}");
    let out = match command::run(&argv, timeout, MAX_OUTPUT, false, false) {
        Ok(o) if o.truncated => {
            return Err(fail(format!(
                "its output is larger than {MAX_OUTPUT} bytes"
            )))
        }
        Ok(o) => o,
        Err(Failure::Run(e)) => return Err(fail(e)),
        Err(Failure::Timeout) => {
            return Err(fail(format!(
                "the classifier gave no answer within {} s",
                timeout.as_secs()
            )))
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    if out.status.code() != Some(0) {
        let status = out
            .status
            .code()
            .map(|c| c.to_string())
            .unwrap_or_else(|| "a signal".into());
        return Err(fail(format!(
            "Execution of '{shown}' returned {status}: {}",
            stdout.trim()
        )));
    }
    if stdout.trim().is_empty() {
        return Ok(None);
    }
    parse(name, &stdout).map(Some)
}

/// The classifier's YAML.
fn parse(name: &str, text: &str) -> Result<Classification, String> {
    let fail =
        |detail: String| format!("Could not load external node results for {name}: {detail}");
    let doc = yaml::parse(text).map_err(fail)?;
    let J::Object(top) = doc else {
        return Err(fail(format!(
            "the output is not a hash of classes, parameters and environment: {}",
            short(&doc)
        )));
    };
    let mut c = Classification::default();
    for (k, v) in top {
        match (k.as_str(), v) {
            (_, J::Null) => {}
            ("classes", J::String(s)) => {
                c.node.classes.push((s.clone(), None));
                c.classes = J::Array(vec![J::String(s)]);
            }
            ("classes", J::Array(a)) => {
                for n in &a {
                    c.node.classes.push((display(n), None));
                }
                c.classes = J::Array(a);
            }
            ("classes", J::Object(h)) => {
                for (n, p) in &h {
                    let params = match p {
                        J::Object(m) => {
                            Some(m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                        }
                        J::Null => None,
                        other => {
                            return Err(fail(format!(
                                "the parameters of class {n} are not a hash: {}",
                                short(other)
                            )))
                        }
                    };
                    c.node.classes.push((n.clone(), params));
                }
                c.classes = J::Object(h);
            }
            ("classes", other) => {
                return Err(fail(format!(
                    "classes must be a list or a hash, not {}",
                    short(&other)
                )))
            }
            ("parameters", J::Object(h)) => {
                c.node.parameters = h.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                c.parameters = h;
            }
            ("parameters", other) => {
                return Err(fail(format!(
                    "parameters must be a hash, not {}",
                    short(&other)
                )))
            }
            ("environment", J::String(e)) => c.environment = Some(e),
            ("environment", other) => {
                return Err(fail(format!(
                    "environment must be a name, not {}",
                    short(&other)
                )))
            }
            _ => {}
        }
    }
    Ok(c)
}

fn display(v: &J) -> String {
    match v {
        J::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A value for an error message, cut short.
fn short(v: &J) -> String {
    let s = v.to_string();
    match s.char_indices().nth(80) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn yaml_forms() {
        let c = parse(
            "n",
            "classes:\n  - a\n  - b::c\nparameters:\n  role: web\nenvironment: dev\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.environment.as_deref(), Some("dev"));
        assert_eq!(c.node.classes.len(), 2);
        assert!(c.node.classes.iter().all(|(_, p)| p.is_none()));
        assert_eq!(c.node.parameters.len(), 1);
        let c = parse("n", "---\nclasses:\n  ntp:\n    servers: [a, b]\n  motd:\n")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(c.node.classes[0].1.is_some() && c.node.classes[1].1.is_none());
        for bad in [
            "- a\n- b\n",
            "classes: 3\n",
            "parameters: [1]\n",
            "classes:\n  a: 1\n",
            "environment: [x]\n",
            "a: [\n",
        ] {
            let e = parse("n", bad).err().unwrap_or_default();
            assert!(
                e.starts_with("Could not load external node results for n: "),
                "{bad:?}: {e}"
            );
        }
    }

    fn script(dir: &std::path::Path, name: &str, body: &str) -> String {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap_or_else(|e| panic!("{e}"));
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("{e}"));
        p.display().to_string()
    }

    #[test]
    fn hostile_classifiers_fail_with_a_message() {
        let dir = std::env::temp_dir().join(format!("troupe-enc-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        let t = Duration::from_secs(5);
        let e = classify("enc.sh", "n", t).err().unwrap_or_default();
        assert_eq!(
            e,
            "You must set the exec parameter to a fully qualified command"
        );
        let e = classify("none", "n", t).err().unwrap_or_default();
        assert!(e.contains("external_nodes"), "{e}");
        let slow = script(&dir, "slow.sh", "#!/bin/sh\nsleep 30\n");
        let started = Instant::now();
        let e = classify(&slow, "n", Duration::from_millis(300))
            .err()
            .unwrap_or_default();
        assert!(e.contains("no answer within"), "{e}");
        assert!(started.elapsed() < Duration::from_secs(5));
        let flood = script(&dir, "flood.sh", "#!/bin/sh\nexec yes classes\n");
        let e = classify(&flood, "n", t).err().unwrap_or_default();
        assert!(e.contains("larger than"), "{e}");
        let bad = script(&dir, "bad.sh", "#!/bin/sh\necho 'classes: [a'\n");
        let e = classify(&bad, "n", t).err().unwrap_or_default();
        assert!(
            e.starts_with("Could not load external node results for n: "),
            "{e}"
        );
        let arg = script(
            &dir,
            "arg.sh",
            "#!/bin/sh\necho \"parameters: {who: $2, extra: $1}\"\n",
        );
        let c = classify(&format!("{arg} --flag"), "n1", t)
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_default();
        assert_eq!(c.parameters.get("who"), Some(&J::String("n1".into())));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
