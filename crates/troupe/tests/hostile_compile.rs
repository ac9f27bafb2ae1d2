//! `troupe compile` on hostile manifests: each fails with a clear error and exit 1, never a
//! signal (a stack overflow aborts with SIGABRT, an allocation failure too).

use std::path::PathBuf;
use std::process::{Command, Output};

struct Code {
    dir: PathBuf,
}

impl Code {
    fn new(name: &str, site: &str) -> Code {
        let dir = std::env::temp_dir().join(format!(
            "troupe-hostile-compile-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let m = dir.join("environments/production/manifests");
        std::fs::create_dir_all(&m).expect("mkdir");
        std::fs::write(m.join("site.pp"), site).expect("site.pp");
        std::fs::write(dir.join("facts.json"), r#"{"values": {}}"#).expect("facts");
        Code { dir }
    }

    fn compile(&self, extra: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_troupe"))
            .arg("compile")
            .arg("--codedir")
            .arg(&self.dir)
            .args(["--certname", "n1.example.test", "--facts"])
            .arg(self.dir.join("facts.json"))
            .args(extra)
            .output()
            .expect("run troupe compile")
    }
}

impl Drop for Code {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Exit 1 (not a signal) and stderr naming every one of `parts`.
fn fails_cleanly(out: &Output, parts: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "expected exit 1, got {:?}; stderr: {stderr}",
        out.status
    );
    for p in parts {
        assert!(stderr.contains(p), "stderr {stderr:?} lacks {p:?}");
    }
}

#[test]
fn recursive_function() {
    let code = Code::new("recursive", "function f($x) {\n  f($x + 1)\n}\nf(1)\n");
    fails_cleanly(
        &code.compile(&[]),
        &[
            "Error: Evaluation Error:",
            "recursion deeper than 1000 levels in function 'f'",
            "site.pp, line: 2",
        ],
    );
}

#[test]
fn huge_range_reduce_is_bounded() {
    // Lazily iterated: it runs until the deadline instead of allocating 9.6 GB at once.
    let code = Code::new(
        "huge-reduce",
        "notify { 'x': message => Integer[1, 200000000].reduce |$m, $x| { $m + $x } }\n",
    );
    fails_cleanly(
        &code.compile(&["--compile-timeout", "1s"]),
        &["compile of n1.example.test exceeded its deadline of 1 s"],
    );
}

#[test]
fn materializing_huge_range_hits_the_memory_limit() {
    let code = Code::new(
        "huge-map",
        "notify { 'x': message => Integer[1, 200000000].map |$x| { \"item-${x}\" }.length }\n",
    );
    fails_cleanly(
        &code.compile(&["--compile-memory-limit", "32m"]),
        &["compile of n1.example.test exceeded its memory budget of 32 MiB"],
    );
}

#[test]
fn endless_loop_hits_the_deadline() {
    let code = Code::new(
        "deadline",
        "define d() { Integer[1, 200000000].each |$x| { } }\nd { 'a': }\n",
    );
    fails_cleanly(
        &code.compile(&["--compile-timeout", "200ms"]),
        &["exceeded its deadline of 200 ms"],
    );
}

#[test]
fn bad_limit_settings_are_refused() {
    let code = Code::new("settings", "notify { 'x': }\n");
    let out = code.compile(&["--compile-timeout", "soon"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--compile-timeout"));
    let out = code.compile(&["--compile-memory-limit", "0", "--compile-timeout", "0"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Manifests nesting each construct `n` deep (each defines `$x`, and `$x` is used).
fn nested(n: usize) -> Vec<(&'static str, String)> {
    vec![
        (
            "parens",
            format!("$x = {}1{}\n", "(".repeat(n), ")".repeat(n)),
        ),
        (
            "arrays",
            format!("$x = {}1{}\n", "[".repeat(n), "]".repeat(n)),
        ),
        (
            "hashes",
            format!("$x = {}1{}\n", "{a => ".repeat(n), "}".repeat(n)),
        ),
        (
            "ifs",
            format!("{}$x = 1\n{}", "if true {\n".repeat(n), "}\n".repeat(n)),
        ),
        (
            "calls",
            format!("$x = {}1{}\n", "abs(".repeat(n), ")".repeat(n)),
        ),
        (
            "selectors",
            format!(
                "$x = {}1{}\n",
                "true ? { default => ".repeat(n),
                "}".repeat(n)
            ),
        ),
        (
            "interpolations",
            format!("$x = {}1{}\n", "\"${".repeat(n), "}\"".repeat(n)),
        ),
        ("unary", format!("$x = {}true\n", "!".repeat(n))),
        ("negation", format!("$x = {}1\n", "- ".repeat(n))),
        ("method-chain", format!("$x = 1{}\n", ".abs".repeat(n))),
        ("operators", format!("$x = 1{}\n", " + 1".repeat(n))),
    ]
    .into_iter()
    .map(|(k, v)| (k, format!("{v}notify {{ 'x': message => \"${{x}}\" }}\n")))
    .collect()
}

#[test]
fn fifty_thousand_deep_manifests_fail_with_file_and_line() {
    for (what, site) in nested(50_000) {
        let code = Code::new(&format!("deep-{what}"), &site);
        let out = code.compile(&[]);
        fails_cleanly(&out, &["nesting deeper than", "site.pp", "line"]);
    }
    // An EPP template (rendered by the compile) nested as deep.
    let code = Code::new("deep-epp", "notify { 'x': message => epp('m/deep.epp') }\n");
    let t = code.dir.join("environments/production/modules/m/templates");
    std::fs::create_dir_all(&t).expect("mkdir");
    let n = 50_000;
    std::fs::write(
        t.join("deep.epp"),
        format!("<%= {}1{} %>\n", "(".repeat(n), ")".repeat(n)),
    )
    .expect("epp");
    fails_cleanly(&code.compile(&[]), &["nesting deeper than", "deep.epp"]);
}

#[test]
fn manifests_just_under_the_nesting_limit_compile() {
    // The evaluator walks trees as deep as the parser allows without overflowing.
    let n = troupe_syntax::MAX_NESTING as usize - 10;
    for (what, site) in nested(n) {
        let code = Code::new(&format!("limit-{what}"), &site);
        let out = code.compile(&[]);
        assert!(
            out.status.success(),
            "{what} nested {n} deep: {:?} {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
