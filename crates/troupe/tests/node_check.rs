//! `troupe node --config FILE --check` as a process: a valid host file prints the roles it
//! would start and exits 0; an invalid one exits 1 naming the file, line and setting.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

const TROUPE: &str = env!("CARGO_BIN_EXE_troupe");

/// A temp directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let d =
            std::env::temp_dir().join(format!("troupe-node-check-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("temp dir");
        TempDir(d)
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).expect("write config");
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn check(file: &PathBuf) -> Output {
    Command::new(TROUPE)
        .args(["node", "--check", "--config"])
        .arg(file)
        .stdin(Stdio::null())
        .output()
        .expect("run troupe node")
}

const HOST_A: &str = "# host A of the classic pool
[main]
certname = ha-puppet.example.test
ssldir = SSLDIR
store = etcd://127.0.0.1:2379,127.0.0.1:22379
store_prefix = /pool1
join_secret_file = /etc/troupe/join.secret

[master]
instances = 2
base_port = 18140
codedir = /srv/puppet/code
workers = 4
autosign = false

[front]
listen = 0.0.0.0:8140
balance = round-robin

[vrrp VI_1]
interface = eth0
vrid = 51
priority = 150
virtual_address = 10.0.0.21/24
unicast_peer = 10.0.0.12
track = front

[vrrp VI_2]
interface = eth0
vrid = 52
priority = 100
virtual_address = 10.0.0.22/24
track = front

[check front]
process = troupe
weight = -60
";

#[test]
fn a_valid_file_prints_every_role_in_plain_words() {
    let d = TempDir::new("good");
    let text = HOST_A.replace("SSLDIR", &d.0.join("ssl").display().to_string());
    let f = d.file("troupe.conf", &text);
    let o = check(&f);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for want in [
        "the configuration is valid",
        "pool: certname ha-puppet.example.test",
        "CA store: etcd at 127.0.0.1:2379, 127.0.0.1:22379 (key prefix /pool1/, no TLS, join secret in /etc/troupe/join.secret)",
        "front: TLS on 0.0.0.0:8140",
        "backends (the local master instances): 127.0.0.1:18140, 127.0.0.1:18141",
        "balance round-robin",
        "masters: 2 instances (plain HTTP, identity headers trusted from 127.0.0.1)",
        "instance 1: 127.0.0.1:18140",
        "instance 2: 127.0.0.1:18141",
        "code in /srv/puppet/code",
        "4 compile workers each; the CA in the store; autosign false",
        "vrrp VI_1: interface eth0, virtual router 51, priority 150, VRRPv3",
        "VIPs 10.0.0.21/24; advertisement every 1000 ms",
        "unicast peers 10.0.0.12",
        "vrrp VI_2: interface eth0, virtual router 52, priority 100",
        "check front: a process named troupe runs; every 1000 ms, timeout 1000 ms, priority -60 while it fails",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    // No Rust Debug forms.
    for debug in ["Some(", "Process(", "\"", "{ "] {
        assert!(!out.contains(debug), "{debug:?} in:\n{out}");
    }
    // --check opens nothing: no etcd was contacted and no file was written.
    assert!(!d.0.join("ssl").exists());
}

#[test]
fn an_invalid_file_exits_1_naming_the_file_line_and_setting() {
    let d = TempDir::new("bad");
    let cases = [
        ("[master]\nworkers = 4\ncolour = blue\n", "line 3: unknown setting 'colour'"),
        (
            "[master]\n[front]\nlisten = 0.0.0.0:18141\n",
            "line 3: setting 'listen': the front's 0.0.0.0:18141 and a master instance's 127.0.0.1:18141 use the same port",
        ),
        (
            "[main]\nstore = etcd://127.0.0.1:2379\nstore_cert = /c.pem\n[master]\n",
            "store_cert = \"/c.pem\" needs store_key as well",
        ),
        (
            "[vrrp VI_1]\ninterface = eth0\nvrid = 51\npriority = 0\n",
            "line 4: key 'priority'",
        ),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let f = d.file(&format!("bad{i}.conf"), text);
        let o = check(&f);
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert_eq!(o.status.code(), Some(1), "{text}: {err}");
        assert!(
            err.contains(&f.display().to_string()) && err.contains(want),
            "{text}: want {want:?} in {err}"
        );
        assert!(o.stdout.is_empty(), "{text}");
    }
    let o = check(&d.0.join("missing.conf"));
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing.conf"));
}
