//! Golden tree tests: each `tests/data/*.pp|epp` parses without errors to the S-expressions
//! in the `.tree` file beside it, one line per top-level statement. Re-bless with
//! `UPDATE_EXPECT=1 cargo test -p troupe-syntax --test tree`.

use std::path::PathBuf;
use troupe_syntax::ast::ExprKind;
use troupe_syntax::sexpr::sexpr;
use troupe_syntax::{parse_epp, parse_manifest};

#[test]
fn fixtures_parse_to_golden_trees() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let update = std::env::var("UPDATE_EXPECT").is_ok_and(|v| v == "1");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/data")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "pp" || e == "epp"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let mut failures = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("fixture");
        let name = f.display().to_string();
        let parsed = if f.extension().is_some_and(|e| e == "epp") {
            parse_epp(name.clone(), text)
        } else {
            parse_manifest(name.clone(), text)
        };
        let errors: Vec<String> = parsed.errors().map(|d| d.render(&parsed.source)).collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
        let got = match &parsed.program.kind {
            ExprKind::Block(stmts) => stmts.iter().map(sexpr).collect::<Vec<_>>().join("\n"),
            _ => sexpr(&parsed.program),
        } + "\n";
        let golden = f.with_extension(format!(
            "{}.tree",
            f.extension().and_then(|e| e.to_str()).unwrap_or("")
        ));
        if update {
            std::fs::write(&golden, &got).expect("write golden");
            continue;
        }
        let want = std::fs::read_to_string(&golden).unwrap_or_default();
        if want != got {
            failures.push(format!("{name}:\n--- want\n{want}--- got\n{got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
