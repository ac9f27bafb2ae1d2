//! `environment_timeout`: within it a changed file is not seen (the environment is kept whole,
//! without looking at the disk); with 0 it is seen at once; after a flush or once the timeout
//! has passed since the environment's last use it is seen again.

use std::path::{Path, PathBuf};
use troupe_compiler::{
    compile_json, load_facts, CompileRequest, DiskEnv, EnvironmentTimeout, ParseCache, Settings,
};

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "troupe-compiler-envtimeout-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("environments/production/manifests")).expect("mkdir");
    std::fs::create_dir_all(d.join("environments/production/modules/app/manifests"))
        .expect("mkdir");
    std::fs::create_dir_all(d.join("environments/production/data")).expect("mkdir");
    d
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join("environments/production").join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

fn compile(settings: &Settings, cache: &ParseCache) -> String {
    let facts = load_facts(r#"{"values": {"os": {"family": "Debian"}}}"#).expect("facts");
    let req = CompileRequest {
        environment: "production",
        certname: "n1.example.test",
        facts,
        extensions: troupe_eval::Value::hash(Default::default()),
        server_facts: &[],
        node: Default::default(),
    };
    compile_json(settings, cache, &req, "uuid", serde_json::Value::from(0))
        .json
        .unwrap_or_else(|e| format!("ERROR {e}"))
}

/// A site, a module class, Hiera data and a module type: version `v` of each.
fn version(dir: &Path, v: &str) {
    write(
        dir,
        "manifests/site.pp",
        &format!("notify {{ 'site {v}': }}\ninclude app\n"),
    );
    write(
        dir,
        "modules/app/manifests/init.pp",
        &format!("class app {{ notify {{ 'app {v}': message => lookup('msg') }} }}\n"),
    );
    write(
        dir,
        "hiera.yaml",
        "version: 5\nhierarchy:\n  - name: common\n    path: common.yaml\n",
    );
    write(dir, "data/common.yaml", &format!("msg: 'data {v}'\n"));
}

fn sees(out: &str, v: &str) -> bool {
    ["site", "app"]
        .iter()
        .all(|what| out.contains(&format!("Notify[{what} {v}]")))
        && out.contains(&format!("data {v}"))
}

fn settings(dir: &Path, t: EnvironmentTimeout) -> Settings {
    let mut s = Settings::new(dir);
    s.ruby = None;
    s.environment_timeout = t;
    s
}

#[test]
fn with_0_a_change_is_seen_at_once() {
    let dir = scratch("zero");
    version(&dir, "one");
    let s = settings(&dir, EnvironmentTimeout::Seconds(0));
    let cache = ParseCache::default();
    assert!(sees(&compile(&s, &cache), "one"));
    version(&dir, "second");
    let out = compile(&s, &cache);
    assert!(sees(&out, "second"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn within_the_timeout_a_change_is_not_seen_until_flushed() {
    let dir = scratch("unlimited");
    version(&dir, "one");
    let s = settings(&dir, EnvironmentTimeout::Unlimited);
    let cache = ParseCache::default();
    let first = compile(&s, &cache);
    assert!(sees(&first, "one"), "{first}");
    version(&dir, "second");
    // A new module directory is not seen either.
    write(
        &dir,
        "modules/extra/manifests/init.pp",
        "class extra { notify { 'extra': } }\n",
    );
    write(
        &dir,
        "manifests/site.pp",
        "notify { 'site second': }\ninclude app\ninclude extra\n",
    );
    assert_eq!(compile(&s, &cache), first, "the kept environment is used");
    // Flushing another environment changes nothing.
    assert_eq!(cache.flush_environments(Some("staging")), 0);
    assert_eq!(compile(&s, &cache), first);
    assert_eq!(cache.flush_environments(Some("production")), 1);
    let out = compile(&s, &cache);
    assert!(sees(&out, "second"), "{out}");
    assert!(out.contains("Notify[extra]"), "{out}");
    // And flushing everything.
    write(&dir, "data/common.yaml", "msg: 'data third'\n");
    assert!(compile(&s, &cache).contains("data second"));
    assert_eq!(cache.flush_environments(None), 1);
    assert!(compile(&s, &cache).contains("data third"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_environment_expires_its_timeout_after_its_last_use() {
    let dir = scratch("seconds");
    version(&dir, "one");
    let s = settings(&dir, EnvironmentTimeout::Seconds(1));
    let cache = ParseCache::default();
    assert!(sees(&compile(&s, &cache), "one"));
    version(&dir, "second");
    assert!(sees(&compile(&s, &cache), "one"), "within the timeout");
    std::thread::sleep(std::time::Duration::from_millis(1300));
    let out = compile(&s, &cache);
    assert!(sees(&out, "second"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn environment_conf_sets_its_own_timeout() {
    let dir = scratch("conf");
    version(&dir, "one");
    write(
        &dir,
        "environment.conf",
        "environment_timeout = unlimited\n",
    );
    let s = settings(&dir, EnvironmentTimeout::Seconds(0));
    let cache = ParseCache::default();
    let env = DiskEnv::open(&s, "production", &cache).expect("open");
    assert_eq!(env.timeout(), EnvironmentTimeout::Unlimited);
    assert!(sees(&compile(&s, &cache), "one"));
    version(&dir, "second");
    assert!(
        sees(&compile(&s, &cache), "one"),
        "kept by environment.conf"
    );
    cache.flush_environments(None);
    write(&dir, "environment.conf", "environment_timeout = 0\n");
    assert!(sees(&compile(&s, &cache), "second"));
    version(&dir, "third");
    assert!(sees(&compile(&s, &cache), "third"), "0 in environment.conf");
    write(
        &dir,
        "environment.conf",
        "environment_timeout = 5 minutes\n",
    );
    let out = compile(&s, &cache);
    assert_eq!(
        out,
        "ERROR Invalid 'time to live' format '\"5 minutes\"' for parameter: environment_timeout"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_module_type_added_later_is_seen_only_after_a_flush() {
    let dir = scratch("types");
    write(&dir, "manifests/site.pp", "widget { 'w': size => 3 }\n");
    let s = settings(&dir, EnvironmentTimeout::Unlimited);
    let cache = ParseCache::default();
    let out = compile(&s, &cache);
    assert!(out.contains("Unknown resource type: 'widget'"), "{out}");
    write(
        &dir,
        "modules/app/lib/puppet/type/widget.rb",
        "Puppet::Type.newtype(:widget) do\n  newparam(:name, :namevar => true)\n  newproperty(:size)\nend\n",
    );
    assert_eq!(compile(&s, &cache), out, "the kept module index");
    cache.flush_environments(None);
    let out = compile(&s, &cache);
    assert!(out.contains(r#""type":"Widget""#), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}
