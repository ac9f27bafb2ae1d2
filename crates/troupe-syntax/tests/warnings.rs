//! Warnings are reported without making a file invalid (what `troupe parser validate
//! --warnings` prints): an unknown escape in a double-quoted string, a duplicate hash key.

use troupe_syntax::{parse_manifest, Severity};

#[test]
fn unknown_escape_and_duplicate_key_warn_only() {
    let p = parse_manifest("w.pp", "$a = \"x\\qy\"\n$h = { 'k' => 1, 'k' => 2 }\n");
    assert!(!p.has_errors(), "{:?}", p.diagnostics);
    let warnings: Vec<String> = p
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .map(|d| d.render(&p.source))
        .collect();
    assert_eq!(
        warnings,
        vec![
            "w.pp:1:7: warning: Unrecognized escape sequence '\\q'".to_string(),
            "w.pp:2:22: warning: The key 'k' is declared more than once".to_string(),
        ]
    );
}
