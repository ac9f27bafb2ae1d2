//! Tests of the host file: a full file, the defaults, and each kind of error with its file,
//! line and key.

use super::config::*;
use std::net::SocketAddr;
use std::path::PathBuf;
use troupe_store::StoreConfig;

/// A file in a fresh temp dir, removed with the dir when the test ends.
struct TempFile(PathBuf);

impl TempFile {
    fn new(tag: &str, text: &str) -> TempFile {
        let dir =
            std::env::temp_dir().join(format!("troupe-node-conf-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let p = dir.join("troupe.conf");
        std::fs::write(&p, text).expect("write");
        TempFile(p)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(d) = self.0.parent() {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

fn error(tag: &str, text: &str) -> String {
    let f = TempFile::new(tag, text);
    let e = load(&f.0).expect_err("the file is refused");
    let msg = format!("{e:#}");
    assert!(msg.starts_with(&f.0.display().to_string()), "{msg}");
    msg
}

#[test]
fn a_full_file_gives_every_role() {
    let f = TempFile::new(
        "good",
        "# host A\ncertname = puppet.example.test\n[main]\nssldir = /s/ssl\nstore = dir:/s/ca\n\n[master]\ninstances = 3\nbase_port = 19000\ncodedir = /srv/code\nworkers = 4\ntrusted_proxy = 127.0.0.1, ::1\ntrusted_proxy = 10.0.0.9\n\n[front]\nlisten = 0.0.0.0:8140\nlisten = [::]:8141\nrise = 3\n\n[vrrp VI_1]\ninterface = eth0\nvrid = 51\nvirtual_address = 10.0.0.21/24\ntrack = up\n\n[check up]\ninterface = eth0\n",
    );
    let c = load(&f.0).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(c.certname.as_deref(), Some("puppet.example.test"));
    assert_eq!(c.ssldir, PathBuf::from("/s/ssl"));
    assert_eq!(
        c.store_config,
        StoreConfig::Dir {
            path: "/s/ca".into()
        }
    );
    let m = c.master.as_ref().expect("masters");
    let ports: Vec<u16> = m.addrs.iter().map(|a| a.port()).collect();
    assert_eq!(ports, vec![19000, 19001, 19002]);
    assert!(m.addrs.iter().all(|a| a.ip().is_loopback()));
    assert_eq!(m.config.workers, 4);
    assert_eq!(m.config.trusted_proxies.len(), 3);
    assert!(m.config.plain_http);
    assert_eq!(m.config.cadir, Some(PathBuf::from("/s/ca")));
    let fr = c.front.as_ref().expect("front");
    assert!(fr.local_backends);
    let backends: Vec<SocketAddr> = fr.config.backends.iter().map(|b| b.addr).collect();
    assert_eq!(backends, m.addrs);
    assert_eq!(fr.config.listen.len(), 2);
    assert_eq!(fr.config.rise, 3);
    assert_eq!(
        fr.config.tls.cert,
        PathBuf::from("/s/ssl/certs/puppet.example.test.pem")
    );
    assert_eq!(c.vrrp.instances.len(), 1);
    assert_eq!(c.vrrp.instances[0].vrid, 51);
    // The file's check, and the two built-in checks of the local front that every instance
    // follows.
    let names: Vec<&str> = c.vrrp.checks.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(names.contains(&"front_process") && names.contains(&"front_health"));
    assert!(c.vrrp.instances[0]
        .tracks
        .iter()
        .any(|t| t == "front_health"));
    assert_eq!(
        fr.health_listen,
        Some("127.0.0.1:8139".parse().expect("addr"))
    );
}

#[test]
fn defaults_two_instances_and_given_backends() {
    let f = TempFile::new(
        "defaults",
        "[master]\n[front]\nbackend = https://10.0.0.2:8140\ncertname = f.example.test\n",
    );
    let c = load(&f.0).unwrap_or_else(|e| panic!("{e:#}"));
    let m = c.master.as_ref().expect("masters");
    assert_eq!(m.addrs.len(), usize::from(DEFAULT_INSTANCES));
    assert_eq!(m.addrs[0].port(), DEFAULT_BASE_PORT);
    assert_eq!(
        m.config.cadir,
        Some(PathBuf::from(DEFAULT_SSLDIR).join("ca"))
    );
    let fr = c.front.as_ref().expect("front");
    assert!(!fr.local_backends);
    assert_eq!(fr.config.backends.len(), 1);
    assert!(fr.config.backends[0].tls);
}

#[test]
fn errors_name_the_line_and_the_key() {
    for (tag, text, want) in [
        ("section", "[mian]\n", "line 1: unknown section '[mian]'"),
        ("header", "[master\n", "line 1: expected '[section]'"),
        ("noeq", "[master]\nworkers\n", "line 2: expected 'setting = value'"),
        (
            "main-key",
            "[main]\ncodedir = /x\n",
            "line 2: unknown setting 'codedir' in [main]",
        ),
        (
            "master-key",
            "[master]\ncolour = blue\n",
            "line 2: unknown setting 'colour'",
        ),
        (
            "master-value",
            "[master]\nworkers = lots\n",
            "line 2: setting 'workers' must be a number, not 'lots'",
        ),
        (
            "front-value",
            "[master]\n[front]\nrise = lots\n",
            "line 3: setting 'rise' must be a count, not 'lots'",
        ),
        (
            "balance",
            "[master]\n[front]\nbalance = random\n",
            "line 3: setting 'balance' must be round-robin or least-outstanding",
        ),
        (
            "dup-key",
            "[main]\ncertname = a\ncertname = b\n",
            "line 3: setting 'certname' given twice in [main] (first on line 2)",
        ),
        (
            "dup-section",
            "[master]\n[front]\n[master]\n",
            "line 3: section '[master]' given twice (first on line 1)",
        ),
        (
            "store-place",
            "[master]\nstore = dir:/x\n",
            "line 2: setting 'store' belongs in [main]",
        ),
        (
            "store-value",
            "[main]\nstore = etcd://h1\n[master]\n",
            "line 2: store = \"etcd://h1\": endpoint \"h1\" is not HOST:PORT",
        ),
        (
            "store-dir",
            "store_prefix = /p/\n[master]\n",
            "line 1: store_prefix = \"/p/\" applies only to an etcd store",
        ),
        (
            "instances",
            "[master]\ninstances = 0\n",
            "line 2: setting 'instances' must be 1 to 64, not '0'",
        ),
        (
            "base-port",
            "[master]\nbase_port = 70000\n",
            "line 2: setting 'base_port' must be a port 1 to 65535",
        ),
        (
            "collide",
            "[master]\nbase_port = 8140\n[front]\nlisten = 0.0.0.0:9000\nlisten = 0.0.0.0:8140\n",
            "line 5: setting 'listen': the front's 0.0.0.0:8140 and a master instance's 127.0.0.1:8140",
        ),
        (
            "past-end",
            "[master]\nlisten = 127.0.0.1:65535\n",
            "[master]: 2 instances from port 65535 run past port 65535",
        ),
        (
            "no-backend",
            "[front]\n",
            "[front]: no backend given and no [master] section",
        ),
        (
            "vrrp",
            "[vrrp V]\ninterface = eth0\nvrid = 300\n",
            "line 3: key 'vrid': expected 1..255, got '300'",
        ),
        (
            "certname",
            "certname = a b\n[master]\n",
            "line 1: certname 'a b'",
        ),
        ("empty", "# nothing\n", "names no role"),
        (
            "front-check",
            "[master]\n[front]\nlisten = 0.0.0.0:8140\n[check front]\nhttp = http://127.0.0.1:8140/status/v1/simple\n",
            "line 5: check front: http = http://127.0.0.1:8140/status/v1/simple is the front's TLS port",
        ),
    ] {
        let e = error(tag, text);
        assert!(e.contains(want), "{tag}: {e}");
    }
}

#[test]
fn the_health_listener_skips_ports_taken_and_a_given_one_must_be_free() {
    // The port below the front's is a master instance's: the next free one below is taken.
    let f = TempFile::new(
        "health-free",
        "[master]\nbase_port = 9139\ninstances = 1\n[front]\nlisten = 0.0.0.0:9140\n",
    );
    let c = load(&f.0).unwrap_or_else(|e| panic!("{e:#}"));
    let fr = c.front.as_ref().expect("front");
    assert_eq!(
        fr.health_listen,
        Some("127.0.0.1:9138".parse().expect("addr"))
    );
    // A health_listen the file gives on a master's port is refused, naming it.
    let e = error(
        "health-taken",
        "[master]\nbase_port = 9139\ninstances = 1\n[front]\nlisten = 0.0.0.0:9140\nhealth_listen = 127.0.0.1:9139\n",
    );
    assert!(
        e.contains("health_listen 127.0.0.1:9139") && e.contains("use the same port"),
        "{e}"
    );
}
