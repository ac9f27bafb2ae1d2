//! Hostile input to the built binary: `troupe parser validate` on files nested 50,000 levels
//! deep answers with an error naming file, line and column, and exits 1; the process is never
//! killed by a signal (a stack overflow aborts with SIGABRT).

use std::path::PathBuf;
use std::process::Command;

const HOSTILE: usize = 50_000;

/// A scratch directory for one test, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "troupe-hostile-parse-{}-{name}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).expect("write");
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `troupe parser validate FILE` and checks it failed cleanly with a located error.
fn validate_rejects(name: &str, text: String) {
    let dir = Scratch::new(&name.replace('.', "-"));
    let file = dir.file(name, &text);
    let out = Command::new(env!("CARGO_BIN_EXE_troupe"))
        .args(["parser", "validate"])
        .arg(&file)
        .output()
        .expect("run troupe");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{name}: troupe must exit 1, not die by a signal: {:?}\n{stderr}",
        out.status
    );
    let prefix = format!("{}:", file.display());
    let line = stderr
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("{name}: no FILE:LINE:COL: error in {stderr}"));
    let mut rest = line[prefix.len()..].splitn(3, ':');
    let (l, c) = (rest.next(), rest.next());
    assert!(
        l.is_some_and(|l| l.parse::<u32>().is_ok()) && c.is_some_and(|c| c.parse::<u32>().is_ok()),
        "{name}: {line}"
    );
    assert!(
        line.contains(&format!(
            "nesting deeper than {} levels",
            troupe_syntax::MAX_NESTING
        )),
        "{name}: {line}"
    );
}

#[test]
fn validate_survives_50000_nested_parentheses() {
    let n = HOSTILE;
    validate_rejects(
        "parens.pp",
        format!("$x = {}1{}\n", "(".repeat(n), ")".repeat(n)),
    );
}

#[test]
fn validate_survives_50000_nested_blocks() {
    let n = HOSTILE;
    validate_rejects(
        "blocks.pp",
        format!("{}{}", "if true {\n".repeat(n), "}\n".repeat(n)),
    );
}

#[test]
fn validate_survives_50000_nested_interpolations() {
    let n = HOSTILE;
    validate_rejects(
        "interpolation.pp",
        format!("$x = {}1{}\n", "\"${".repeat(n), "}\"".repeat(n)),
    );
}

#[test]
fn validate_survives_a_50000_long_method_chain() {
    validate_rejects("chain.pp", format!("$y = $x{}\n", ".f()".repeat(HOSTILE)));
}

#[test]
fn validate_survives_a_50000_long_operator_chain() {
    validate_rejects(
        "operators.pp",
        format!("$y = 1{}\n", " + 1".repeat(HOSTILE)),
    );
}

#[test]
fn validate_survives_50000_nested_epp_expressions() {
    let n = HOSTILE;
    validate_rejects(
        "expr.epp",
        format!("<%= {}1{} %>\n", "(".repeat(n), ")".repeat(n)),
    );
}

#[test]
fn validate_survives_50000_nested_epp_blocks() {
    let n = HOSTILE;
    validate_rejects(
        "blocks.epp",
        format!(
            "{}{}",
            "<% if true { %>x\n".repeat(n),
            "<% } %>\n".repeat(n)
        ),
    );
}
