//! The evaluator's layering, as ARCHITECTURE.md states it: which folder of `src/` may name which
//! (`crate::<folder>` paths), which may not name `Evaluator` at all, and where
//! `impl ... Evaluator` may appear. Values and types (`troupe-values`) and the Ruby subset
//! (`troupe-ruby`) are crates of their own, so Cargo already keeps them below this crate.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// For each top-level module of `src/`, the others it may name.
const ALLOWED: &[(&str, &[&str])] = &[
    ("code", &[]),
    ("catalog", &[]),
    ("data", &["code"]),
    // Native functions reach the evaluator only through `functions::host::Host`, which `lang`
    // implements: they never name `lang`.
    ("functions", &["catalog", "code", "data"]),
    ("lang", &["catalog", "code", "data", "functions"]),
    ("lib", &["catalog", "code", "data", "functions", "lang"]),
];

/// Folders whose code may implement methods on the evaluator.
const IMPL_EVALUATOR: &[&str] = &["lang"];

/// Folders whose code (comments aside) may not name the evaluator's type at all, however it is
/// reached (`crate::Evaluator`, `super::...`): they see the compile through a narrow trait.
const NO_EVALUATOR: &[&str] = &["catalog", "code", "data", "functions"];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("src/ is readable") {
        let p = e.expect("a directory entry").path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn top_module(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src/");
    let first = rel.components().next().expect("a component");
    let name = first.as_os_str().to_string_lossy();
    name.trim_end_matches(".rs").to_string()
}

#[test]
fn folders_name_only_the_folders_below_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let allowed: BTreeMap<&str, BTreeSet<&str>> = ALLOWED
        .iter()
        .map(|(m, ok)| (*m, ok.iter().copied().collect()))
        .collect();
    let mut wrong = Vec::new();
    for f in &files {
        let from = top_module(&src, f);
        let text = std::fs::read_to_string(f).expect("a source file");
        let Some(ok) = allowed.get(from.as_str()) else {
            wrong.push(format!(
                "{}: top-level module `{from}` is not in ALLOWED",
                f.display()
            ));
            continue;
        };
        for (i, _) in text.match_indices("crate::") {
            let to: String = text[i + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if to.is_empty() || to == from || ok.contains(to.as_str()) {
                continue;
            }
            wrong.push(format!("{}: `{from}` names `crate::{to}`", f.display()));
        }
        let names_impl = text.lines().any(|l| {
            let l = l.trim_start();
            l.starts_with("impl") && l.contains("Evaluator") && !l.contains(" for ")
        });
        let names_type = text.lines().any(|l| {
            let l = l.trim_start();
            !l.starts_with("//") && l.contains("Evaluator")
        });
        if names_type && NO_EVALUATOR.contains(&from.as_str()) {
            wrong.push(format!("{}: `{from}` names `Evaluator`", f.display()));
        }
        if names_impl && !IMPL_EVALUATOR.contains(&from.as_str()) {
            wrong.push(format!(
                "{}: `impl Evaluator` outside {IMPL_EVALUATOR:?}",
                f.display()
            ));
        }
    }
    assert!(wrong.is_empty(), "layering broken:\n{}", wrong.join("\n"));
}
