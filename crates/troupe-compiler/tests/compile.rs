//! Compiles through the on-disk environment: determinism and cache invalidation.

use std::path::PathBuf;
use troupe_compiler::{compile_json, load_facts, CompileRequest, ParseCache, Settings};

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "troupe-compiler-test-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("environments/production/manifests")).expect("mkdir");
    d
}

fn compile(settings: &Settings, cache: &ParseCache) -> Result<String, String> {
    let facts = load_facts(
        r#"{"values": {"os": {"family": "Debian"}, "networking": {"fqdn": "n1.example.test"}}}"#,
    )
    .expect("facts");
    let req = CompileRequest {
        environment: "production",
        certname: "n1.example.test",
        facts,
        extensions: troupe_eval::Value::hash(Default::default()),
        server_facts: &[],
        node: Default::default(),
    };
    compile_json(settings, cache, &req, "uuid", serde_json::Value::from(0)).json
}

const SITE: &str = r#"
class app($port = 80) { file { "/etc/app-${port}": ensure => file, content => "${facts['os']['family']}\n" } }
node default { include app  $h = {'b' => 1, 'a' => 2}  notify { 'h': message => $h } }
"#;

#[test]
fn same_input_gives_byte_identical_json() {
    let dir = scratch("determinism");
    std::fs::write(dir.join("environments/production/manifests/site.pp"), SITE).expect("write");
    let settings = Settings::new(&dir);
    let a = compile(&settings, &ParseCache::default()).expect("compile");
    let cache = ParseCache::default();
    let b = compile(&settings, &cache).expect("compile");
    let c = compile(&settings, &cache).expect("compile warm");
    assert_eq!(a, b);
    assert_eq!(b, c);
    assert!(a.contains(r#""title":"/etc/app-80""#), "{a}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn code_changes_on_disk_are_seen_without_a_new_cache() {
    let dir = scratch("invalidate");
    let site = dir.join("environments/production/manifests/site.pp");
    std::fs::write(&site, "notify { 'one': }\n").expect("write");
    let settings = Settings::new(&dir);
    let cache = ParseCache::default();
    assert!(compile(&settings, &cache)
        .expect("compile")
        .contains("Notify[one]"));
    std::fs::write(&site, "notify { 'second version': }\n").expect("write");
    let out = compile(&settings, &cache).expect("compile");
    assert!(out.contains("Notify[second version]"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn errors_name_file_line_and_column() {
    let dir = scratch("errors");
    let site = dir.join("environments/production/manifests/site.pp");
    std::fs::write(&site, "\n\n  $x = 1 + 'a'\n").expect("write");
    let err = compile(&Settings::new(&dir), &ParseCache::default()).expect_err("must fail");
    assert_eq!(
        err,
        format!("Evaluation Error: The value 'a' cannot be converted to Numeric. (file: {}, line: 3, column: 12) on node n1.example.test", site.display())
    );
    std::fs::write(&site, "notify { 'x': \n").expect("write");
    let err = compile(&Settings::new(&dir), &ParseCache::default()).expect_err("must fail");
    assert!(
        err.starts_with("Could not parse for environment production: Syntax error at end of input"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn erb_outside_the_supported_subset_names_template_and_line() {
    let dir = scratch("erb");
    let tdir = dir.join("environments/production/modules/m/templates");
    std::fs::create_dir_all(&tdir).expect("mkdir");
    std::fs::write(
        tdir.join("t.erb"),
        "ok <%= @x %>\n<% ObjectSpace.each_object { } %>\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("environments/production/manifests/site.pp"),
        "$x = 1\nfile { '/t': content => template('m/t.erb') }\n",
    )
    .expect("write");
    // Without a Ruby helper (with one, Puppet's Ruby renders it: tests/ruby_functions.rs).
    let mut settings = Settings::new(&dir);
    settings.ruby = None;
    let err = compile(&settings, &ParseCache::default()).expect_err("must fail");
    assert!(err.contains("Failed to parse template"), "{err}");
    assert!(err.contains("not supported by troupe's ERB"), "{err}");
    assert!(err.contains("t.erb"), "{err}");
    assert!(err.contains("Line: 2"), "{err}");
    assert!(err.contains("(file: "), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
