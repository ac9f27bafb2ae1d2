//! A report as Puppet's report processors see it: the YAML of a
//! `Puppet::Transaction::Report` (its data hash under the `!ruby/object` tag), which the
//! `http` processor posts to `reporturl`. Strings are double-quoted (valid YAML whatever they
//! hold), `null` is empty as Psych writes it, and the report's keys keep their order.

use serde_json::Value as J;
use std::fmt::Write;

/// The YAML document of a report (its JSON as the agent sent it).
pub(crate) fn report(v: &J) -> String {
    let mut out = String::from("--- !ruby/object:Puppet::Transaction::Report\n");
    match v {
        J::Object(m) if !m.is_empty() => {
            for (k, val) in m {
                entry(&mut out, 0, k, val);
            }
        }
        other => {
            let _ = writeln!(out, "value: {}", scalar(other));
        }
    }
    out
}

fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// `key: value` at `depth` (a nested block below it when the value is a non-empty
/// collection).
fn entry(out: &mut String, depth: usize, key: &str, v: &J) {
    indent(out, depth);
    out.push_str(&quote_key(key));
    out.push(':');
    block(out, depth, v);
}

/// The value after `key:` or `-`: a scalar on the same line, else a nested block.
fn block(out: &mut String, depth: usize, v: &J) {
    match v {
        J::Object(m) if !m.is_empty() => {
            out.push('\n');
            for (k, val) in m {
                entry(out, depth + 2, k, val);
            }
        }
        J::Array(a) if !a.is_empty() => {
            out.push('\n');
            for item in a {
                indent(out, depth);
                out.push('-');
                match item {
                    J::Object(m) if !m.is_empty() => {
                        // The first key on the dash's line, the others below it.
                        let mut first = true;
                        for (k, val) in m {
                            if first {
                                out.push(' ');
                                out.push_str(&quote_key(k));
                                out.push(':');
                                block(out, depth + 2, val);
                                first = false;
                            } else {
                                entry(out, depth + 2, k, val);
                            }
                        }
                    }
                    other => block(out, depth + 2, other),
                }
            }
        }
        J::Null => out.push('\n'),
        other => {
            out.push(' ');
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

fn scalar(v: &J) -> String {
    match v {
        J::Null => String::new(),
        J::Bool(b) => b.to_string(),
        J::Number(n) => n.to_string(),
        J::String(s) => J::String(s.clone()).to_string(),
        J::Array(_) => "[]".into(),
        J::Object(_) => "{}".into(),
    }
}

/// A key plain when it is a simple word, else double-quoted.
fn quote_key(k: &str) -> String {
    let plain = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
        && !k.starts_with(['-', '.'])
        && !matches!(
            k,
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
        )
        && k.parse::<f64>().is_err();
    if plain {
        k.to_string()
    } else {
        J::String(k.to_string()).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reports_read_back_as_their_data() {
        let v = json!({
            "host": "n1.example.test", "time": "2026-12-04T10:00:00.000+00:00",
            "configuration_version": 1795704409, "status": "changed", "noop": false,
            "logs": [{"level": "notice", "message": "line one\nline two: \"quoted\"", "tags": ["notice"], "file": null}],
            "metrics": {"time": {"name": "time", "values": [["total", "Total", 0.5]]}},
            "resource_statuses": {"File[/etc/motd]": {"changed": true, "events": []}},
            "empty": {}, "yes": "no", "123": "-",
        });
        let y = report(&v);
        assert!(
            y.starts_with(
                "--- !ruby/object:Puppet::Transaction::Report\nhost: \"n1.example.test\"\n"
            ),
            "{y}"
        );
        // Ruby's YAML reads it back as the same data (the tag names a Ruby class: read it
        // untagged).
        let body = y.replacen("--- !ruby/object:Puppet::Transaction::Report\n", "---\n", 1);
        let dir = std::env::temp_dir().join(format!("troupe-report-yaml-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let f = dir.join("r.yaml");
        let _ = std::fs::write(&f, body);
        let ruby = std::process::Command::new("ruby")
            .args([
                "-ryaml",
                "-rjson",
                "-e",
                "print JSON.generate(YAML.safe_load(File.read(ARGV[0])))",
            ])
            .arg(&f)
            .output();
        let _ = std::fs::remove_dir_all(&dir);
        let Ok(out) = ruby else { return };
        if !out.status.success() {
            panic!(
                "ruby could not read it: {}\n{y}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let back: J = serde_json::from_slice(&out.stdout).unwrap_or(J::Null);
        assert_eq!(back, v, "{y}");
    }
}
