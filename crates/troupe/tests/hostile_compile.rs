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
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
