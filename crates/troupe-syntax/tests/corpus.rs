//! Every `.pp` and `.epp` file of Debian's `puppet-module-*` packages parses and validates
//! with zero errors. The corpus is `TROUPE_MODULE_CORPUS` (default `/usr/share/puppet/modules`);
//! CI installs the packages and sets `TROUPE_REQUIRE_CORPUS=1`, so a missing corpus fails there.

use std::path::{Path, PathBuf};
use troupe_syntax::{parse_epp, parse_manifest};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|x| x == "pp" || x == "epp") {
            out.push(p);
        }
    }
}

#[test]
fn module_corpus_parses_without_errors() {
    let dir = std::env::var("TROUPE_MODULE_CORPUS")
        .unwrap_or_else(|_| "/usr/share/puppet/modules".into());
    let required = std::env::var("TROUPE_REQUIRE_CORPUS").is_ok_and(|v| v == "1");
    let mut files = Vec::new();
    collect(Path::new(&dir), &mut files);
    if files.is_empty() {
        assert!(
            !required,
            "no .pp/.epp files under {dir}: install the puppet-module-* packages"
        );
        eprintln!("skipped: no module corpus under {dir}");
        return;
    }
    files.sort();
    let (mut lines, mut pp, mut epp) = (0usize, 0usize, 0usize);
    let mut bad = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("module files are UTF-8");
        let name = f.display().to_string();
        let parsed = if f.extension().is_some_and(|x| x == "epp") {
            epp += 1;
            parse_epp(name, text)
        } else {
            pp += 1;
            parse_manifest(name, text)
        };
        lines += parsed.source.line_count();
        let first = parsed.errors().next().map(|d| d.render(&parsed.source));
        bad.extend(first);
    }
    eprintln!(
        "module corpus: {pp} .pp + {epp} .epp files, {lines} lines, {} with errors",
        bad.len()
    );
    if required {
        assert!(
            pp >= 1500,
            "expected the full Debian module corpus, found {pp} .pp files"
        );
    }
    assert!(
        bad.is_empty(),
        "{} files with errors:\n{}",
        bad.len(),
        bad.join("\n")
    );
}
