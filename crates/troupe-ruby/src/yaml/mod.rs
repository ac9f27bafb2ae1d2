//! YAML: Ruby's `Object#to_yaml` (Psych 4.0 on libyaml 0.2.5).
//!
//! Psych picks a style per string (its ScalarScanner decides which strings would read back as
//! something else), then libyaml's emitter analyses the text, downgrades the style where it
//! must (plain → single-quoted → double-quoted), folds long scalars after column 80 and writes
//! sequences inside mappings without indentation. The fixtures in
//! `conformance/psych/fixtures.json` are Ruby's own output.

use crate::yaml::emit::analyze;
use crate::yaml::emit::Emitter;
use crate::yaml::scalar::scalar_of;
mod emit;
mod scalar;

use troupe_values::value::Value;

fn simple_key_ok(k: &Value) -> Result<bool, String> {
    match k {
        Value::Array(a) => Ok(a.is_empty()),
        Value::Hash(h) => Ok(h.is_empty()),
        other => {
            let sc = scalar_of(other)?;
            let chars: Vec<char> = sc.value.chars().collect();
            if analyze(&chars).multiline {
                return Ok(false);
            }
            Ok(sc.value.len() + if sc.tagged { 5 } else { 0 } <= 128)
        }
    }
}

/// Ruby's `value.to_yaml`: a YAML document as Psych writes it.
pub fn psych_yaml(v: &Value) -> Result<String, String> {
    let mut e = Emitter {
        out: String::new(),
        column: 0,
        whitespace: true,
        indention: true,
        open_ended: 0,
    };
    e.write_indent(-1);
    e.indicator("---", true, false, false);
    e.node(v, -1, false, false)?;
    e.write_indent(-1);
    if e.open_ended == 2 {
        e.indicator("...", true, false, false);
        e.write_indent(-1);
    }
    Ok(e.out)
}

#[cfg(test)]
mod yaml_tests {
    use super::*;
    use troupe_values::value::format_float;

    /// Every fixture is Ruby 3.1's own `to_yaml` output (`conformance/psych/gen.rb`).
    /// `PSYCH_FIXTURES=file` checks another fixture file of the same form (random cases).
    #[test]
    fn psych_fixtures() {
        let path = std::env::var("PSYCH_FIXTURES").unwrap_or_else(|_| {
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../conformance/psych/fixtures.json"
            )
            .to_string()
        });
        let text = std::fs::read_to_string(path).expect("fixtures");
        let cases: serde_json::Value = serde_json::from_str(&text).expect("json");
        let mut bad = Vec::new();
        let all = cases.as_array().expect("array");
        for (i, c) in all.iter().enumerate() {
            let v = troupe_values::value::from_json(&c["input"]);
            let want = c["yaml"].as_str().expect("yaml");
            match psych_yaml(&v) {
                Ok(got) if got == want => {}
                got => bad.push(format!(
                    "#{i} {:?}\n  want {want:?}\n  got  {got:?}",
                    c["input"]
                )),
            }
        }
        assert!(
            bad.is_empty(),
            "{} of {} differ:\n{}",
            bad.len(),
            all.len(),
            bad[..bad.len().min(10)].join("\n")
        );
        assert!(all.len() > 400);
    }

    #[test]
    fn ruby_float_format() {
        assert_eq!(format_float(1234567890123456.8), "1234567890123456.8");
        assert_eq!(format_float(1e15), "1.0e+15");
        assert_eq!(format_float(1e14), "100000000000000.0");
        assert_eq!(format_float(0.0001), "0.0001");
        assert_eq!(format_float(0.00001), "1.0e-05");
    }

    #[test]
    fn refuses_what_ruby_refuses() {
        assert!(psych_yaml(&Value::str("0b_")).is_err());
        assert!(psych_yaml(&Value::Binary(std::rc::Rc::from(&b"x"[..]))).is_err());
    }
}
