//! Deliberately broken files (`tests/broken/*.pp|epp`): troupe's first error must be the one
//! the Ruby Puppet parser reports, with the same message, line and column. The expectations
//! beside each file were written by `scripts/broken-expect.py` from `puppet parser validate`
//! and `puppet epp validate`, and CI re-checks them against Puppet.

use std::path::PathBuf;
use troupe_syntax::{parse_epp, parse_manifest, Severity};

fn broken_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/broken")
}

#[test]
fn first_error_matches_puppet() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(broken_dir())
        .expect("tests/broken exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "pp" || e == "epp"))
        .collect();
    files.sort();
    assert!(files.len() >= 30, "expected at least 30 broken files");
    let mut failures = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("readable");
        let expect_path = PathBuf::from(format!("{}.expect", f.display()));
        let expect = std::fs::read_to_string(&expect_path).expect("expectation written");
        let field = |k: &str| {
            expect
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{k}: ")))
                .unwrap_or("")
                .to_string()
        };
        let name = f
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .to_string();
        let parsed = if f.extension().is_some_and(|e| e == "epp") {
            parse_epp(name.clone(), text)
        } else {
            parse_manifest(name.clone(), text)
        };
        let Some(first) = parsed
            .diagnostics
            .iter()
            .find(|d| d.severity == Severity::Error)
        else {
            failures.push(format!(
                "{name}: no error reported; puppet says {}",
                field("message")
            ));
            continue;
        };
        let lc = first.line_col(&parsed.source);
        let got = (
            first.message.clone(),
            lc.line.to_string(),
            lc.col.to_string(),
        );
        let line_ok = field("line") == "-" || field("line") == got.1;
        let col_ok = field("col") == "-" || field("col") == got.2;
        if got.0 != field("message") || !line_ok || !col_ok {
            failures.push(format!(
                "{name}: troupe says {:?} at {}:{}; puppet says {:?} at {}:{}",
                got.0,
                got.1,
                got.2,
                field("message"),
                field("line"),
                field("col")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} broken files differ from Puppet:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}
