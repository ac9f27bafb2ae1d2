//! Module functions written only in Ruby, run in the Ruby helper against real Puppet: the
//! environment `tests/ruby_env` (our own module `kit`) compiles to the values Puppet 7.23's
//! own compiler gives (taken from the oracle, `oracle-compile.sh`), errors read as Puppet's,
//! and a missing Ruby names the function and its file. Skipped where Ruby with Puppet's
//! library is absent, unless CI=true.

use serde_json::{json, Value as J};
use std::path::PathBuf;
use std::sync::Arc;
use troupe_compiler::{compile_json, load_facts, CompileRequest, ParseCache, Settings};

fn have_puppet() -> bool {
    let ok = std::process::Command::new("ruby")
        .args(["-e", "require 'puppet'"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(std::env::var("CI").is_err(), "CI must have ruby and Puppet");
        eprintln!("skipped: ruby with Puppet's library is not installed");
    }
    ok
}

fn tests_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests")
}

/// `tests/ruby_env` as an environment, or (with `site`) an environment of its own in a
/// scratch directory whose site manifest is `site`, with `kit` on its modulepath.
fn settings(site: Option<(&str, &str)>) -> (Settings, &'static str) {
    let mut s = Settings::new(std::env::temp_dir().join("troupe-no-codedir"));
    match site {
        None => {
            s.environmentpath = tests_dir();
            s.basemodulepath = vec![];
            (s, "ruby_env")
        }
        Some((tag, text)) => {
            let dir =
                std::env::temp_dir().join(format!("troupe-ruby-{tag}-{}", std::process::id()));
            let manifests = dir.join("production/manifests");
            std::fs::create_dir_all(&manifests).expect("mkdir");
            std::fs::write(manifests.join("site.pp"), text).expect("site.pp");
            s.environmentpath = dir;
            s.basemodulepath = vec![tests_dir().join("ruby_env/modules")];
            (s, "production")
        }
    }
}

fn compile_env(settings: &Settings, env: &str) -> (Result<J, String>, Vec<String>) {
    let facts =
        load_facts(r#"{"os":{"family":"Debian"},"osfamily":"Debian","fqdn":"n1.example.test"}"#)
            .expect("facts");
    let req = CompileRequest {
        environment: env,
        certname: "n1.example.test",
        facts,
        extensions: troupe_eval::Value::hash(Default::default()),
        server_facts: &[],
        node: Default::default(),
    };
    let out = compile_json(settings, &ParseCache::default(), &req, "uuid", J::from(0));
    (
        out.json
            .map(|t| serde_json::from_str(&t).expect("catalog JSON")),
        out.warnings,
    )
}

fn params(cat: &J, ty: &str, title: &str) -> J {
    cat["resources"]
        .as_array()
        .and_then(|rs| {
            rs.iter()
                .find(|r| r["type"] == ty && r["title"] == title)
                .map(|r| r["parameters"].clone())
        })
        .unwrap_or(J::Null)
}

#[test]
fn ruby_functions_compile_as_puppet_compiles_them() {
    if !have_puppet() {
        return;
    }
    let (s, env) = settings(None);
    let (cat, warnings) = compile_env(&s, env);
    let cat = cat.expect("compiles");
    let msg = |t: &str| params(&cat, "Notify", t)["message"].clone();
    assert_eq!(msg("fmt"), json!(["webweb:8080", "dbdb:80"]));
    assert_eq!(msg("pairs"), json!(["a=1", "b=2"]));
    assert_eq!(msg("count"), json!(2));
    assert_eq!(
        msg("rich"),
        json!([
            "one",
            true,
            "Optional[Array[String[1]]]",
            [null, "x", null],
            "1.2.3",
            true
        ])
    );
    assert_eq!(
        msg("legacy"),
        json!(["from-class", "SHOUT", "empty", "nestednested:80"])
    );
    assert_eq!(msg("strict"), json!(8140));
    // A template beyond troupe's ERB (a lambda, a heredoc) renders through Puppet's Ruby.
    assert_eq!(
        msg("erb"),
        json!("twice=42\nport=8140\nfmt=tt:80\nos=Debian\n")
    );
    assert_eq!(
        params(&cat, "Package", "curl"),
        json!({"ensure": "installed"})
    );
    assert_eq!(
        params(&cat, "Package", "git"),
        json!({"ensure": "installed"})
    );
    // Declared from a 4.x function's call_function: in top scope (Class[main]), as Puppet does.
    let curl = cat["resources"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["title"] == "curl").cloned())
        .unwrap_or(J::Null);
    assert_eq!(curl["tags"], json!(["package", "curl", "class"]));
    // A module type known only by running its Ruby: the namevars its title sets come first.
    assert_eq!(
        params(&cat, "Kit_setting", "main:port").to_string(),
        r#"{"section":"main","key":"port","value":8140}"#
    );
    assert_eq!(
        params(&cat, "Kit_setting", "workers").to_string(),
        r#"{"key":"workers","section":"main","value":2,"comment":"cores"}"#
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains(r#"kit_legacy called with ["", "shout"]"#)),
        "{warnings:?}"
    );
}

/// The error text of compiling `site` (with `kit` on the modulepath), as the master reports it.
fn error_of(tag: &str, site: &str, tweak: impl FnOnce(&mut Settings)) -> String {
    let (mut s, env) = settings(Some((tag, site)));
    tweak(&mut s);
    let (r, _) = compile_env(&s, env);
    let _ = std::fs::remove_dir_all(&s.environmentpath);
    r.expect_err("must fail")
}

#[test]
fn ruby_function_errors_read_as_puppets() {
    if !have_puppet() {
        return;
    }
    // Texts and locations as Puppet 7.23's compiler gives them.
    let e = error_of(
        "dispatch",
        "notify { 'x': message => kit::fmt('web', 70000) }\n",
        |_| {},
    );
    assert!(
        e.contains("Error while evaluating a Function Call, The function 'kit::fmt' was called with arguments it does not accept. It expects one of:\n  (String[1] name, Kit::Port = Integer[1, 65535] port)\n    rejected: parameter 'port' expects a Kit::Port = Integer[1, 65535] value, got Integer[70000, 70000]\n  (String[1] name)\n    rejected: expects 1 argument, got 2 (file: ")
            && e.contains("line: 1, column: 26"),
        "{e}"
    );
    let e = error_of("raise", "$p = kit::strict(80)\n", |_| {});
    assert!(
        e.contains("Error while evaluating a Function Call, port 80 is reserved")
            && e.contains("line: 1, column: 6"),
        "{e}"
    );
    let e = error_of("single", "$p = kit::fmt('')\n", |_| {});
    assert!(
        e.contains("rejected: parameter 'name' expects a String[1] value, got String (file: "),
        "{e}"
    );
    // A template rendered by Ruby fails as Puppet's template function reports it.
    let e = error_of(
        "erbraise",
        "$port = 9\nnotify { 'x': message => template('kit/raise.erb') }\n",
        |_| {},
    );
    assert!(
        e.contains("Failed to parse template kit/raise.erb:\n  Filepath: ")
            && e.contains("kit/templates/raise.erb\n  Line: 2\n  Detail: bad 9\n (file: ")
            && e.contains("line: 2, column: 26"),
        "{e}"
    );
    // `fail` called back from Ruby: Puppet's text and the call site's location.
    let e = error_of("callback", "\n\n$p = kit::guard(3)\n", |_| {});
    assert!(
        e.contains("Error while evaluating a Function Call, guard: 3 (file: ")
            && e.contains("line: 3, column: 6"),
        "{e}"
    );
}

#[test]
fn without_ruby_the_function_and_its_file_are_named() {
    let site = "$p = kit::fmt('web')\n";
    let e = error_of("noruby", site, |s| {
        s.ruby = Some(Arc::new(troupe_rubyhost::Pool::new(
            troupe_rubyhost::Config {
                ruby: "/nonexistent/ruby".into(),
                ..Default::default()
            },
        )))
    });
    assert!(e.contains("kit::fmt ("), "{e}");
    assert!(
        e.contains("lib/puppet/functions/kit/fmt.rb) is written in Ruby"),
        "{e}"
    );
    assert!(e.contains("Ruby is not installed"), "{e}");
    let e = error_of("off", site, |s| s.ruby = None);
    assert!(
        e.contains("is written in Ruby, and this compile has no Ruby helper"),
        "{e}"
    );
}

#[test]
fn module_types_built_in_ruby_are_checked_as_puppet_checks_them() {
    if !have_puppet() {
        return;
    }
    let e = error_of("typeattr", "kit_setting { 'a': valu => 1 }\n", |_| {});
    assert!(e.contains("no parameter named 'valu' (file: "), "{e}");
    assert!(e.contains("line: 1) on Kit_setting[a]"), "{e}");
    let site = "kit_setting { 'main:port': value => 1 }\nkit_setting { 'other': section => 'main', key => 'port' }\n";
    let e = error_of("typekey", site, |_| {});
    assert!(
        e.contains("Cannot alias Kit_setting[other] to [\"port\", \"main\"] at (file: ")
            && e.contains(
                "line: 2); resource [\"Kit_setting\", \"port\", \"main\"] already declared (file: "
            ),
        "{e}"
    );
}
