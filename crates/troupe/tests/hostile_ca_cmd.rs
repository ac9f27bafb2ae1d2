//! `troupe ca generate` as a process: pool and front certificates carry no `pp_cli_auth`
//! unless `--cli-auth` asks for it, and the keys it writes are never readable by others.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(name: &str) -> Scratch {
    let d = std::env::temp_dir().join(format!("troupe-ca-cmd-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    Scratch(d)
}

fn troupe_ca(ssldir: &Path, args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_troupe"))
        .arg("ca")
        .arg("--ssldir")
        .arg(ssldir)
        .args(["--keylength", "2048"])
        .args(args)
        .output()
        .expect("troupe runs");
    assert!(
        out.status.success(),
        "troupe ca {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).expect("metadata").permissions().mode() & 0o7777
}

fn cli_auth(cert: &Path) -> Option<serde_json::Value> {
    let pem = std::fs::read_to_string(cert).expect("cert");
    troupe_ca::cert_info(&pem)
        .expect("cert info")
        .auth_extensions
        .get("pp_cli_auth")
        .cloned()
}

#[test]
fn ca_generate_gives_no_cli_auth_unless_asked_and_keeps_keys_private() {
    let d = scratch("generate");
    let ssl = d.0.join("ssl");
    let out = d.0.join("out");
    // A pool certificate written elsewhere (--out): no pp_cli_auth, key 0600, new dir 0700.
    troupe_ca(
        &ssl,
        &[
            "generate",
            "pool.example.test",
            "--ecdsa",
            "--out",
            out.to_str().expect("utf8"),
        ],
    );
    assert_eq!(cli_auth(&out.join("pool.example.test.pem")), None);
    assert_eq!(mode(&out.join("pool.example.test.key.pem")), 0o600);
    assert_eq!(mode(&out), 0o700);
    // Asked for: pp_cli_auth true; in the ssldir, Puppet's modes (key 0640, private_keys 0750).
    troupe_ca(
        &ssl,
        &["generate", "admin.example.test", "--ecdsa", "--cli-auth"],
    );
    assert_eq!(
        cli_auth(&ssl.join("certs/admin.example.test.pem")),
        Some(serde_json::json!("true"))
    );
    assert_eq!(
        mode(&ssl.join("private_keys/admin.example.test.pem")),
        0o640
    );
    assert_eq!(mode(&ssl.join("private_keys")), 0o750);
    // The CA key the first run created.
    assert_eq!(mode(&ssl.join("ca/ca_key.pem")), 0o640);
}
