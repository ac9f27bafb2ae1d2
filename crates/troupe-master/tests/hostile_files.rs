//! Hostile file serving: symlinks out of a mount, path traversal.

mod common;
use common::*;
use sha2::Digest;
use std::path::Path;

const NODE: &str = "node1.example.test";

/// A master whose module `site` has `files/` with an ordinary file, a link to a secret outside
/// the mount, and a directory holding another such link. Returns the secret's digests too.
fn setup(dir: &Path) -> (troupe_master::Server, Vec<String>) {
    let mut c = config(dir, false);
    c.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
    let files = dir.join("code/environments/production/modules/site/files");
    std::fs::create_dir_all(files.join("sub")).expect("files");
    std::fs::write(files.join("ok.txt"), "served\n").expect("ok");
    let secret = dir.join("secret.key");
    let content = format!("SECRET-{}\n", std::process::id());
    std::fs::write(&secret, &content).expect("secret");
    std::os::unix::fs::symlink(&secret, files.join("shadow")).expect("link");
    std::os::unix::fs::symlink(&secret, files.join("sub/deep")).expect("link");
    std::os::unix::fs::symlink(dir, files.join("outdir")).expect("link");
    let hex = |d: &[u8]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let digests = vec![
        hex(&sha2::Sha256::digest(content.as_bytes())),
        hex(&md5::Md5::digest(content.as_bytes())),
        hex(&sha1::Sha1::digest(content.as_bytes())),
    ];
    (start(c), digests)
}

fn get(m: &troupe_master::Server, path: &str) -> Resp {
    let h = front_headers(NODE, None);
    http(m.addr, "GET", path, &refs(&h), b"")
}

fn assert_no_secret(r: &Resp, digests: &[String], what: &str) {
    assert!(
        !r.body.contains("SECRET-"),
        "{what}: the secret's content: {}",
        r.body
    );
    for d in digests {
        assert!(
            !r.body.contains(d.as_str()),
            "{what}: the secret's checksum: {}",
            r.body
        );
    }
}

#[test]
fn file_metadatas_recurse_with_links_follow_does_not_describe_a_secret_outside_the_mount() {
    let dir = Scratch::new("meta-follow");
    let (m, digests) = setup(dir.path());
    for ck in ["sha256", "md5", "sha1"] {
        let r = get(
            &m,
            &format!("/puppet/v3/file_metadatas/modules/site?environment=production&recurse=true&links=follow&checksum_type={ck}"),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        assert_no_secret(&r, &digests, ck);
        assert!(
            r.body.contains("ok.txt"),
            "the mount's own files are listed: {}",
            r.body
        );
        assert!(!r.body.contains("\"shadow\""), "{}", r.body);
        assert!(!r.body.contains("sub/deep"), "{}", r.body);
        assert!(!r.body.contains("secret.key"), "{}", r.body);
    }
}

#[test]
fn file_metadatas_recurse_with_links_manage_does_not_hash_a_secret_outside_the_mount() {
    let dir = Scratch::new("meta-manage");
    let (m, digests) = setup(dir.path());
    let r = get(
        &m,
        "/puppet/v3/file_metadatas/modules/site?environment=production&recurse=true&links=manage&checksum_type=md5",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_no_secret(&r, &digests, "manage md5");
    let r = get(
        &m,
        "/puppet/v3/file_metadatas/modules/site?environment=production&recurse=true&links=manage",
    );
    assert_no_secret(&r, &digests, "manage sha256");
    let list: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    let shadow = list
        .as_array()
        .and_then(|l| l.iter().find(|e| e["relative_path"] == "shadow"))
        .cloned()
        .unwrap_or_default();
    // Listed as the link it is, its target unread.
    assert_eq!(shadow["type"], "link", "{}", r.body);
    assert_eq!(shadow["checksum"]["value"], "{none}", "{}", r.body);
}

#[test]
fn file_metadata_of_a_link_out_of_the_mount_is_not_found() {
    let dir = Scratch::new("meta-one");
    let (m, digests) = setup(dir.path());
    for links in ["follow", "manage"] {
        for p in ["shadow", "sub/deep", "outdir/secret.key"] {
            let r = get(
                &m,
                &format!("/puppet/v3/file_metadata/modules/site/{p}?environment=production&links={links}"),
            );
            assert_eq!(r.status, 404, "{p} links={links}: {}", r.body);
            assert_no_secret(&r, &digests, p);
            let r = get(
                &m,
                &format!("/puppet/v3/file_metadatas/modules/site/{p}?environment=production&links={links}&recurse=true"),
            );
            assert!(r.status == 404 || r.status == 200, "{}", r.body);
            assert_no_secret(&r, &digests, p);
        }
    }
    let r = get(
        &m,
        "/puppet/v3/file_metadata/modules/site/ok.txt?environment=production",
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn file_content_through_a_link_out_of_the_mount_is_not_found() {
    let dir = Scratch::new("content-link");
    let (m, digests) = setup(dir.path());
    for p in ["shadow", "sub/deep", "outdir/secret.key"] {
        let r = get(
            &m,
            &format!("/puppet/v3/file_content/modules/site/{p}?environment=production"),
        );
        assert_eq!(r.status, 404, "{p}: {}", r.body);
        assert_no_secret(&r, &digests, p);
    }
    let r = get(
        &m,
        "/puppet/v3/file_content/modules/site/ok.txt?environment=production",
    );
    assert_eq!((r.status, r.body.as_str()), (200, "served\n"));
}

#[test]
fn file_serving_path_traversal_is_not_found() {
    let dir = Scratch::new("traversal");
    let (m, digests) = setup(dir.path());
    let secret = dir.path().join("secret.key");
    let abs = secret.display().to_string();
    let enc_abs = abs.replace('/', "%2F");
    for kind in ["file_content", "file_metadata", "file_metadatas"] {
        for evil in [
            "modules/site/../../../../../secret.key".to_string(),
            "modules/site/%2e%2e/%2e%2e/%2e%2e/secret.key".to_string(),
            "modules/site/..%2F..%2F..%2F..%2Fsecret.key".to_string(),
            format!("modules/site/{abs}"),
            format!("modules/site/{enc_abs}"),
            format!("plugins/{abs}"),
            format!("plugins/%2F{}", enc_abs.trim_start_matches("%2F")),
            "pluginfacts/../../../../etc/passwd".to_string(),
            "modules/site/./ok.txt/../../../secret.key".to_string(),
            "modules/site/ok.txt%00/../../secret.key".to_string(),
        ] {
            let r = get(
                &m,
                &format!("/puppet/v3/{kind}/{evil}?environment=production"),
            );
            assert!(
                r.status == 404 || r.status == 400,
                "{kind}/{evil}: HTTP {} {}",
                r.status,
                r.body
            );
            assert_no_secret(&r, &digests, &evil);
        }
    }
    for env in ["..", ".", "..%2F..%2Fetc", "%2Fetc"] {
        let r = get(
            &m,
            &format!("/puppet/v3/file_metadatas/plugins?environment={env}"),
        );
        assert!(
            r.status == 404 || r.status == 400,
            "environment {env}: {}",
            r.status
        );
    }
}
