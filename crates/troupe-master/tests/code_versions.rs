//! Code versions: each master reports the version of each environment's code in
//! `/status/v1/services`; a change of a file changes it without a restart; two masters over
//! the same code (in different directories) agree; `code_id_command` gives the version and
//! the catalog's `code_id`, and its failures are reported, never fatal.

mod common;

use common::{config, front_headers, http, refs, start, Scratch};
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

fn status(addr: std::net::SocketAddr) -> Value {
    let r = http(addr, "GET", "/status/v1/services", &[], b"");
    assert_eq!(r.status, 200, "{}", r.body);
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body))
}

fn version(addr: std::net::SocketAddr, env: &str) -> Value {
    status(addr)["master"]["status"]["code_versions"][env].clone()
}

/// Waits until the version of `env` differs from `old`, at most `limit`.
fn wait_change(addr: std::net::SocketAddr, env: &str, old: &Value, limit: Duration) -> Value {
    let start = Instant::now();
    loop {
        let v = version(addr, env);
        if &v != old || start.elapsed() > limit {
            return v;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn fast(dir: &Path) -> troupe_master::Config {
    let mut c = config(dir, false);
    c.code_version_refresh = Duration::from_millis(200);
    c
}

#[test]
fn a_changed_file_changes_the_version_and_equal_code_agrees() {
    let a = Scratch::new("codever-a");
    let b = Scratch::new("codever-b");
    let (ca, cb) = (fast(a.path()), fast(b.path()));
    let env_a = ca.codedir.join("environments/production");
    let env_b = cb.codedir.join("environments/production");
    std::fs::create_dir_all(env_a.join("data")).expect("data");
    std::fs::write(env_a.join("data/common.yaml"), "x: 1\n").expect("write");
    std::fs::create_dir_all(env_b.join("data")).expect("data");
    std::fs::write(env_b.join("data/common.yaml"), "x: 1\n").expect("write");
    // Hidden files (a VCS directory) are not code.
    std::fs::create_dir_all(env_b.join(".git")).expect("git");
    std::fs::write(env_b.join(".git/HEAD"), "ref: refs/heads/main\n").expect("write");
    let ma = start(ca);
    let mb = start(cb);

    let va = version(ma.addr, "production");
    let vb = version(mb.addr, "production");
    assert!(va.as_str().is_some_and(|s| s.len() == 16), "{va}");
    assert_eq!(
        va, vb,
        "the same code in two directories has the same version"
    );
    assert_eq!(
        status(ma.addr)["master"]["status"]["code_version_source"],
        "content"
    );

    // Same size, new content: found by its modification time, then its content.
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(env_a.join("data/common.yaml"), "x: 2\n").expect("write");
    let changed = wait_change(ma.addr, "production", &va, Duration::from_secs(10));
    assert_ne!(changed, va, "a changed data file changes the version");
    assert_eq!(version(mb.addr, "production"), vb, "b is unchanged");

    // The same change on b: they agree again.
    std::fs::write(env_b.join("data/common.yaml"), "x: 2\n").expect("write");
    let again = wait_change(mb.addr, "production", &vb, Duration::from_secs(10));
    assert_eq!(again, changed);

    // A new environment appears; a new module file changes only its environment.
    let dev = env_a.parent().expect("envs").join("dev");
    std::fs::create_dir_all(dev.join("manifests")).expect("dev");
    std::fs::write(dev.join("manifests/site.pp"), "notify { 'dev': }\n").expect("write");
    let dev_v = wait_change(ma.addr, "dev", &Value::Null, Duration::from_secs(10));
    assert!(dev_v.is_string(), "{dev_v}");
    std::fs::create_dir_all(env_a.join("modules/site/manifests")).expect("module");
    std::fs::write(
        env_a.join("modules/site/manifests/init.pp"),
        "class site {}\n",
    )
    .expect("w");
    let prod = wait_change(ma.addr, "production", &changed, Duration::from_secs(10));
    assert_ne!(prod, changed);
    assert_eq!(version(ma.addr, "dev"), dev_v);
}

fn script(dir: &Path, body: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join("code_id.sh");
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).expect("script");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    p
}

#[test]
fn code_id_command_gives_the_version_and_the_catalogs_code_id() {
    let dir = Scratch::new("codever-cmd");
    let mut c = fast(dir.path());
    let id_file = dir.path().join("id");
    std::fs::write(&id_file, "v1").expect("write");
    c.code_id_command = Some(script(
        dir.path(),
        &format!("printf '%s-%s\\n' \"$1\" \"$(cat {})\"", id_file.display()),
    ));
    c.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
    let m = start(c);
    assert_eq!(version(m.addr, "production"), "production-v1");
    let s = status(m.addr);
    assert_eq!(
        s["master"]["status"]["code_version_source"],
        "code_id_command"
    );
    let me = front_headers("node1.example.test", None);
    let r = http(
        m.addr,
        "GET",
        "/puppet/v3/catalog/node1.example.test?environment=production",
        &refs(&me),
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let cat: Value = serde_json::from_str(&r.body).expect("catalog");
    assert_eq!(cat["code_id"], "production-v1");
    assert_eq!(cat["name"], "node1.example.test");

    // A new id is picked up without a restart.
    std::fs::write(&id_file, "v2").expect("write");
    let v = wait_change(
        m.addr,
        "production",
        &Value::from("production-v1"),
        Duration::from_secs(10),
    );
    assert_eq!(v, "production-v2");

    // Bad output is reported (and no code_id), the master keeps serving.
    std::fs::write(&id_file, "v3 with spaces").expect("write");
    let v = wait_change(
        m.addr,
        "production",
        &Value::from("production-v2"),
        Duration::from_secs(10),
    );
    assert_eq!(v, Value::Null);
    let err = status(m.addr)["master"]["status"]["code_version_errors"]["production"].clone();
    assert!(
        err.as_str()
            .is_some_and(|e| e.contains("printed a code id with ' '")),
        "{err}"
    );
    let r = http(
        m.addr,
        "GET",
        "/puppet/v3/catalog/node1.example.test?environment=production",
        &refs(&me),
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let cat: Value = serde_json::from_str(&r.body).expect("catalog");
    assert_eq!(cat["code_id"], Value::Null);
}

#[test]
fn a_failing_code_id_command_is_reported() {
    let dir = Scratch::new("codever-fail");
    let mut c = fast(dir.path());
    c.code_id_command = Some(script(dir.path(), "echo 'no repo here' >&2; exit 3"));
    let m = start(c);
    let s = status(m.addr);
    assert_eq!(
        s["master"]["status"]["code_versions"]["production"],
        Value::Null
    );
    let err = s["master"]["status"]["code_version_errors"]["production"].clone();
    assert!(
        err.as_str()
            .is_some_and(|e| e.contains("failed (exit status: 3): no repo here")),
        "{err}"
    );
    let mut c = fast(&dir.path().join("m2"));
    c.code_id_command = Some(dir.path().join("missing.sh"));
    let m2 = start(c);
    let err = status(m2.addr)["master"]["status"]["code_version_errors"]["production"].clone();
    assert!(
        err.as_str().is_some_and(|e| e.contains("cannot run")),
        "{err}"
    );
}
