//! The differential ERB probe suite: every probe in `tests/erb_probes/*.txt` is rendered by
//! troupe's ERB and by real Ruby (`tests/erb_probes/render.rb`, Puppet's template wrapper's
//! conversions) and the two must agree byte for byte (or both fail). Without `ruby` the suite
//! is skipped with a message, unless `CI=true`, where it fails.
//!
//! A probe file holds probes as
//!
//! ```text
//! ### name
//! @vars {"json": "object"}      (optional: the Puppet variables the template sees)
//! @unsupported                  (optional: troupe must refuse it as unsupported)
//! template text, up to the next `### ` line (trailing blank lines dropped)
//! ```

use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};
use troupe_ruby::erb::{RenderError, RubyScope};
use troupe_values::error::{EResult, EvalError};
use troupe_values::value::{Map, Value};

struct Probe {
    name: String,
    vars: serde_json::Value,
    tpl: String,
    /// troupe must fail with its unsupported-construct error (Ruby renders it).
    unsupported: bool,
}

fn probes() -> Vec<Probe> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/erb_probes");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("probe directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("probe file");
        let stem = f
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut cur: Option<Probe> = None;
        let mut lines: Vec<&str> = Vec::new();
        let finish = |p: Option<Probe>, lines: &mut Vec<&str>, out: &mut Vec<Probe>| {
            if let Some(mut p) = p {
                while lines.last().is_some_and(|l| l.trim().is_empty()) {
                    lines.pop();
                }
                p.tpl = lines.join("\n");
                out.push(p);
            }
            lines.clear();
        };
        for line in text.split('\n') {
            if let Some(name) = line.strip_prefix("### ") {
                finish(cur.take(), &mut lines, &mut out);
                cur = Some(Probe {
                    name: format!("{stem}/{}", name.trim()),
                    vars: serde_json::json!({}),
                    tpl: String::new(),
                    unsupported: false,
                });
            } else if let (Some(p), Some(v), true) =
                (cur.as_mut(), line.strip_prefix("@vars "), lines.is_empty())
            {
                p.vars = serde_json::from_str(v)
                    .unwrap_or_else(|e| panic!("{}: bad @vars: {e}", p.name));
            } else if let (Some(p), "@unsupported", true) = (cur.as_mut(), line, lines.is_empty()) {
                p.unsupported = true;
            } else if cur.is_some() {
                lines.push(line);
            }
        }
        finish(cur.take(), &mut lines, &mut out);
    }
    out
}

struct ProbeScope {
    vars: Map,
}

impl RubyScope for ProbeScope {
    fn lookupvar(&mut self, name: &str) -> EResult<Value> {
        Ok(self
            .vars
            .get(&Value::str(name))
            .cloned()
            .unwrap_or(Value::Undef))
    }
    fn setvar(&mut self, name: &str, v: Value) {
        self.vars.insert(Value::str(name), v);
    }
    fn replace_var(&mut self, name: &str, v: Value) {
        self.vars.insert(Value::str(name), v);
    }
    fn to_hash(&self) -> Map {
        self.vars
            .iter()
            .filter(|(_, v)| !v.is_undef())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
    fn call_function(&mut self, name: &str, _args: Vec<Value>) -> EResult<Value> {
        Err(EvalError::new(format!("Unknown function: '{name}'.")))
    }
}

/// troupe's answer: the text, or the error (`Unsupported: ...` for an unsupported construct).
fn troupe(p: &Probe) -> Result<String, String> {
    let vars = match &troupe_values::value::from_json(&p.vars) {
        Value::Hash(h) => (**h).clone(),
        _ => Map::default(),
    };
    let mut scope = ProbeScope { vars };
    troupe_ruby::erb::render_checked(&mut scope, &p.tpl, "probe.erb").map_err(|e| match e {
        RenderError::Failed(e) => e.msg,
        RenderError::Unsupported(u) => format!("Unsupported: {} (line {})", u.what, u.line),
    })
}

fn ruby(probes: &[Probe]) -> Option<HashMap<String, Result<String, String>>> {
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/erb_probes/render.rb");
    let mut child = match Command::new("ruby")
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(_) => return None,
    };
    let mut input = String::new();
    for p in probes {
        let line = serde_json::json!({"name": p.name, "vars": p.vars, "tpl": p.tpl});
        input.push_str(&line.to_string());
        input.push('\n');
    }
    let mut stdin = child.stdin.take().expect("ruby stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("ruby output");
    writer
        .join()
        .expect("writer")
        .expect("writing probes to ruby");
    assert!(out.status.success(), "render.rb failed");
    let mut answers = HashMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let j: serde_json::Value = serde_json::from_str(line).expect("render.rb's JSON");
        let name = j["name"].as_str().unwrap_or_default().to_string();
        let r = match (j.get("ok"), j.get("err")) {
            (Some(ok), _) => Ok(ok.as_str().unwrap_or_default().to_string()),
            (_, Some(e)) => Err(e.as_str().unwrap_or_default().to_string()),
            _ => Err("no answer".into()),
        };
        answers.insert(name, r);
    }
    Some(answers)
}

#[test]
fn erb_probes_render_as_ruby_does() {
    let probes = probes();
    let mut seen = std::collections::HashSet::new();
    for p in &probes {
        assert!(
            seen.insert(p.name.clone()),
            "duplicate probe name {}",
            p.name
        );
    }
    let Some(answers) = ruby(&probes) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "ruby is required under CI=true for the ERB probe suite"
        );
        eprintln!("SKIPPED: the ERB probe suite needs `ruby` (with erb, json, ipaddr) on PATH");
        return;
    };
    let mut bad = Vec::new();
    let mut refused = 0;
    for p in &probes {
        let want = answers
            .get(&p.name)
            .cloned()
            .unwrap_or(Err("no answer".into()));
        let got = troupe(p);
        let same = match (&want, &got) {
            _ if got.as_ref().is_err_and(|e| e.contains('\0')) => false,
            (_, Err(e)) if p.unsupported => e.starts_with("Unsupported: "),
            _ if p.unsupported => false,
            (Ok(a), Ok(b)) => a == b,
            (Err(_), Err(_)) => true,
            _ => false,
        };
        if p.unsupported {
            refused += 1;
        }
        if !same {
            bad.push(format!(
                "--- {}\n{}\n  ruby:   {:?}\n  troupe: {:?}",
                p.name, p.tpl, want, got
            ));
        }
    }
    eprintln!(
        "ERB probes: {} of {} agree with Ruby ({refused} of them refused as unsupported, as expected)",
        probes.len() - bad.len(),
        probes.len()
    );
    assert!(
        bad.is_empty(),
        "{} probes differ:\n{}",
        bad.len(),
        bad.join("\n")
    );
}
