//! Hostile reports: replays, floods, huge or malformed reports, a full volume; and client
//! errors that must be 4xx, never 500.

mod common;
use common::*;
use std::path::Path;

const NODE: &str = "node1.example.test";

fn master(dir: &Path, tune: impl FnOnce(&mut troupe_master::Config)) -> troupe_master::Server {
    let mut c = config(dir, false);
    c.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
    tune(&mut c);
    start(c)
}

fn report(txn: &str, time: &str) -> Vec<u8> {
    format!(
        r#"{{"host":"{NODE}","time":"{time}","transaction_uuid":"{txn}","report_format":12,"status":"changed","logs":[],"metrics":{{}},"resource_statuses":{{}}}}"#
    )
    .into_bytes()
}

fn put_report(addr: std::net::SocketAddr, node: &str, body: &[u8]) -> Resp {
    let h = front_headers(node, None);
    http(
        addr,
        "PUT",
        &format!("/puppet/v3/report/{node}?environment=production"),
        &refs(&h),
        body,
    )
}

/// The node's report files (and anything else left in its directory).
fn stored(dir: &Path, node: &str) -> (Vec<String>, Vec<String>) {
    let mut reports = vec![];
    let mut other = vec![];
    if let Ok(rd) = std::fs::read_dir(dir.join("reports").join(node)) {
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().to_string();
            if n.ends_with(".json") && !n.starts_with('.') {
                reports.push(n);
            } else {
                other.push(n);
            }
        }
    }
    reports.sort();
    (reports, other)
}

#[test]
fn replayed_report_is_stored_once() {
    let dir = Scratch::new("replay");
    let m = master(dir.path(), |_| {});
    let body = report(
        "5e1b7c1a-0000-4000-8000-000000000001",
        "2024-05-01T12:00:00.000+00:00",
    );
    // Sent again and again, one after the other and at once (a front replaying it).
    // A replay a second later: a name taken from the time of receipt would differ.
    assert_eq!(put_report(m.addr, NODE, &body).status, 200);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(put_report(m.addr, NODE, &body).status, 200);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| assert_eq!(put_report(m.addr, NODE, &body).status, 200));
        }
    });
    let (reports, other) = stored(dir.path(), NODE);
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(other.is_empty(), "left behind: {other:?}");
    assert!(reports[0].ends_with("-5e1b7c1a-0000-4000-8000-000000000001.json"));
}

#[test]
fn replayed_report_through_two_masters_sharing_the_report_dir_is_stored_once() {
    let dir = Scratch::new("two-masters");
    let shared = dir.path().join("reports");
    let sub1 = dir.path().join("m1");
    let sub2 = dir.path().join("m2");
    let m1 = master(&sub1, |c| {
        c.reportdir = shared.clone();
        c.limits.report_rate_limit = 0;
    });
    let m2 = master(&sub2, |c| {
        c.reportdir = shared.clone();
        c.limits.report_rate_limit = 0;
    });
    let bodies: Vec<Vec<u8>> = (0..5)
        .map(|i| report(&format!("bbbb-{i}"), "2024-05-01T12:00:00.000+00:00"))
        .collect();
    for b in &bodies {
        assert_eq!(put_report(m1.addr, NODE, b).status, 200);
    }
    // Replays a second later, through both masters at once.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    std::thread::scope(|s| {
        for body in &bodies {
            for addr in [m1.addr, m2.addr, m2.addr] {
                s.spawn(move || assert_eq!(put_report(addr, NODE, body).status, 200));
            }
        }
    });
    let (reports, other) = stored(dir.path(), NODE);
    assert_eq!(reports.len(), 5, "{reports:?}");
    assert!(other.is_empty(), "left behind: {other:?}");
}

#[test]
fn oversized_report_is_refused_with_413() {
    let dir = Scratch::new("oversized");
    let m = master(dir.path(), |c| c.limits.report_max_size = 4096);
    let mut body = report("cccc-1", "2024-05-01T12:00:00.000+00:00");
    body.truncate(body.len() - 1);
    body.extend_from_slice(format!(r#","pad":"{}"}}"#, "x".repeat(8192)).as_bytes());
    let r = put_report(m.addr, NODE, &body);
    assert_eq!(r.status, 413, "{}", r.body);
    // Chunked, so that no Content-Length announces it.
    let mut raw_req = format!(
        "PUT /puppet/v3/report/{NODE}?environment=production HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Client-Verify: SUCCESS\r\nX-Client-DN: CN={NODE}\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n",
        body.len()
    )
    .into_bytes();
    raw_req.extend_from_slice(&body);
    raw_req.extend_from_slice(b"\r\n0\r\n\r\n");
    let r = parse(&raw(m.addr, &raw_req)).expect("response");
    assert_eq!(r.status, 413, "{}", r.body);
    assert!(stored(dir.path(), NODE).0.is_empty());
}

#[test]
fn report_flood_from_one_node_is_rate_limited_with_429() {
    let dir = Scratch::new("flood");
    let m = master(dir.path(), |c| c.limits.report_rate_limit = 3);
    let mut codes = vec![];
    let mut retry_after = None;
    for i in 0..6 {
        let r = put_report(
            m.addr,
            NODE,
            &report(&format!("dddd-{i}"), "2024-05-01T12:00:00.000+00:00"),
        );
        if r.status == 429 {
            retry_after = r.header("retry-after").map(str::to_string);
        }
        codes.push(r.status);
    }
    assert_eq!(&codes[..3], &[200, 200, 200], "{codes:?}");
    assert!(codes[3..].iter().all(|c| *c == 429), "{codes:?}");
    assert!(retry_after.is_some_and(|s| s.parse::<u64>().is_ok_and(|n| n >= 1)));
    assert_eq!(stored(dir.path(), NODE).0.len(), 3);
    // Other nodes are not held back by it.
    let other = "node2.example.test";
    let body = report("eeee-1", "2024-05-01T12:00:00.000+00:00");
    let body = String::from_utf8_lossy(&body).replace(NODE, other);
    assert_eq!(put_report(m.addr, other, body.as_bytes()).status, 200);
}

#[test]
fn reports_beyond_report_keep_are_pruned() {
    let dir = Scratch::new("keep");
    let m = master(dir.path(), |c| c.limits.report_keep = 3);
    for i in 0..6 {
        let time = format!("2024-05-01T12:00:0{i}.000+00:00");
        assert_eq!(
            put_report(m.addr, NODE, &report(&format!("ffff-{i}"), &time)).status,
            200
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let (reports, _) = stored(dir.path(), NODE);
    assert_eq!(reports.len(), 3, "{reports:?}");
    assert!(
        reports
            .iter()
            .all(|r| r.contains("ffff-3") || r.contains("ffff-4") || r.contains("ffff-5")),
        "{reports:?}"
    );
}

#[test]
fn at_report_keep_the_oldest_reports_file_is_reused_whole_for_the_next() {
    use std::os::unix::fs::MetadataExt;
    let dir = Scratch::new("reuse");
    let m = master(dir.path(), |c| c.limits.report_keep = 2);
    let node_dir = dir.path().join("reports").join(NODE);
    // The first report is the largest: its file, reused for the third, must not keep a tail.
    let big = String::from_utf8_lossy(&report("abcd-0", "2024-05-01T12:00:00.000+00:00")).replace(
        "\"logs\":[]",
        &format!("\"logs\":[],\"pad\":\"{}\"", "x".repeat(20_000)),
    );
    assert_eq!(put_report(m.addr, NODE, big.as_bytes()).status, 200);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let first = stored(dir.path(), NODE).0[0].clone();
    let inode = std::fs::metadata(node_dir.join(&first))
        .expect("first")
        .ino();
    let second = report("abcd-1", "2024-05-01T12:00:01.000+00:00");
    assert_eq!(put_report(m.addr, NODE, &second).status, 200);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let third = report("abcd-2", "2024-05-01T12:00:02.000+00:00");
    assert_eq!(put_report(m.addr, NODE, &third).status, 200);
    let (reports, other) = stored(dir.path(), NODE);
    assert_eq!(reports.len(), 2, "{reports:?}");
    assert!(other.is_empty(), "no temp file left: {other:?}");
    let newest = reports
        .iter()
        .find(|r| r.contains("abcd-2"))
        .expect("the third report");
    let meta = std::fs::metadata(node_dir.join(newest)).expect("third");
    assert_eq!(meta.ino(), inode, "the oldest report's file was reused");
    assert_eq!(meta.nlink(), 1);
    let text = std::fs::read(node_dir.join(newest)).expect("read");
    assert_eq!(text, third, "the reused file holds exactly the new report");
}

#[test]
fn reports_older_than_report_ttl_are_pruned_and_stale_temp_files_removed() {
    let dir = Scratch::new("ttl");
    let m = master(dir.path(), |c| c.limits.report_ttl = 3600);
    let node_dir = dir.path().join("reports").join(NODE);
    std::fs::create_dir_all(&node_dir).expect("dir");
    let old = node_dir.join("20200101000000-old.json");
    let stale_tmp = node_dir.join(".20200101000000-x.json.tmp.1.0");
    let recent_tmp = node_dir.join(".20240101000000-y.json.tmp.1.1");
    for f in [&old, &stale_tmp, &recent_tmp] {
        std::fs::write(f, "{}").expect("file");
    }
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 86400);
    for f in [&old, &stale_tmp] {
        std::fs::File::options()
            .write(true)
            .open(f)
            .and_then(|h| h.set_modified(past))
            .expect("mtime");
    }
    assert_eq!(
        put_report(
            m.addr,
            NODE,
            &report("abab-1", "2024-05-01T12:00:00.000+00:00")
        )
        .status,
        200
    );
    assert!(!old.exists(), "a report past report_ttl is kept");
    assert!(!stale_tmp.exists(), "a stale temp file is kept");
    assert!(recent_tmp.exists(), "a temp file being written was removed");
    assert_eq!(stored(dir.path(), NODE).0.len(), 1);
}

#[test]
fn report_below_the_free_space_reserve_is_refused_and_csr_intake_goes_on() {
    let dir = Scratch::new("reserve");
    let m = master(dir.path(), |c| {
        c.limits.report_min_free = troupe_master::limits::FreeSpace::Percent(100.0)
    });
    let r = put_report(
        m.addr,
        NODE,
        &report("acac-1", "2024-05-01T12:00:00.000+00:00"),
    );
    assert_eq!(r.status, 507, "{}", r.body);
    assert!(r.body.contains("report_min_free"), "{}", r.body);
    assert!(stored(dir.path(), NODE).0.is_empty());
    // The CA refuses nothing because of reports.
    let key = rcgen::KeyPair::generate().expect("key");
    let mut p = rcgen::CertificateParams::new(vec![]).expect("params");
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name
        .push(rcgen::DnType::CommonName, "node9.example.test");
    let csr = p.serialize_request(&key).expect("csr").pem().expect("pem");
    let r = http(
        m.addr,
        "PUT",
        "/puppet-ca/v1/certificate_request/node9.example.test",
        &[("Content-Type", "text/plain")],
        csr.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = http(
        m.addr,
        "GET",
        "/puppet-ca/v1/certificate_revocation_list/ca",
        &[],
        b"",
    );
    assert_eq!(r.status, 200);
}

/// Mounts a 64 KiB tmpfs on `at` (needs root; None when it cannot).
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(at: &Path) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).ok()?;
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
            .arg(at)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn report_write_failing_on_a_full_volume_leaves_no_temp_file() {
    let dir = Scratch::new("full");
    let reports = dir.path().join("reports");
    let Some(_fs) = Tmpfs::mount(&reports) else {
        eprintln!("skipped: cannot mount a tmpfs here (not root)");
        return;
    };
    let m = master(dir.path(), |_| {});
    let mut body = report("adad-1", "2024-05-01T12:00:00.000+00:00");
    body.truncate(body.len() - 1);
    body.extend_from_slice(format!(r#","pad":"{}"}}"#, "x".repeat(200 * 1024)).as_bytes());
    let r = put_report(m.addr, NODE, &body);
    assert_eq!(r.status, 507, "{}", r.body);
    let (stored_reports, other) = stored(dir.path(), NODE);
    assert!(
        stored_reports.is_empty() && other.is_empty(),
        "{stored_reports:?} {other:?}"
    );
    // A small one still fits.
    let r = put_report(
        m.addr,
        NODE,
        &report("adad-2", "2024-05-01T12:00:00.000+00:00"),
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn report_that_is_not_a_report_object_is_400() {
    let dir = Scratch::new("not-report");
    let m = master(dir.path(), |_| {});
    for body in [
        &b"[1,2,3]"[..],
        b"\"a string\"",
        b"{}",
        b"{\"host\":7}",
        b"{\"host\":\"node1.example.test\",\"logs\":\"nope\"}",
        b"{not json",
        b"",
    ] {
        let r = put_report(m.addr, NODE, body);
        assert_eq!(
            r.status,
            400,
            "{}: {}",
            String::from_utf8_lossy(body),
            r.body
        );
    }
    assert!(stored(dir.path(), NODE).0.is_empty());
}

#[test]
fn overlong_or_malformed_transaction_uuid_is_400() {
    let dir = Scratch::new("txn");
    let m = master(dir.path(), |_| {});
    for txn in [
        "a".repeat(65),
        "a".repeat(100_000),
        "../../../../etc/cron.d/x".to_string(),
        "abc def".to_string(),
        String::new(),
    ] {
        let r = put_report(m.addr, NODE, &report(&txn, "2024-05-01T12:00:00.000+00:00"));
        assert_eq!(r.status, 400, "{}: {}", txn.len(), r.body);
    }
    let body = br#"{"host":"node1.example.test","transaction_uuid":12}"#;
    assert_eq!(put_report(m.addr, NODE, body).status, 400);
    assert!(stored(dir.path(), NODE).0.is_empty());
}

#[test]
fn overlong_or_invalid_node_name_is_400() {
    let dir = Scratch::new("names");
    let m = master(dir.path(), |_| {});
    // A trusted front may vouch for a 254-character name: still not a node name.
    let long = format!("{}.test", "a".repeat(249));
    let body = String::from_utf8_lossy(&report("abcd-1", "2024-05-01T12:00:00.000+00:00"))
        .replace(NODE, &long);
    let r = put_report(m.addr, &long, body.as_bytes());
    assert_eq!(r.status, 400, "{}", r.body);
    let h = front_headers(&long, None);
    for path in [
        format!("/puppet/v3/node/{long}?environment=production"),
        format!("/puppet/v3/catalog/{long}?environment=production"),
    ] {
        let r = http(m.addr, "GET", &path, &refs(&h), b"");
        assert_eq!(r.status, 400, "{path}: {}", r.body);
    }
    assert!(!dir.path().join("reports").join(&long).exists());
}

#[test]
fn malformed_facts_json_in_a_catalog_post_is_400() {
    let dir = Scratch::new("facts");
    let m = master(dir.path(), |_| {});
    let h = front_headers(NODE, None);
    for facts in [
        "%7B%22name%22%3A",
        "%5B1%2C2%5D",
        "not-json",
        "%7B%22values%22%3A%7B%22a%22%3A1%7D%7D%7D",
    ] {
        let body = format!("environment=production&facts_format=application%2Fjson&facts={facts}");
        let r = http(
            m.addr,
            "POST",
            &format!("/puppet/v3/catalog/{NODE}"),
            &refs(&h),
            body.as_bytes(),
        );
        assert_eq!(r.status, 400, "{facts}: {}", r.body);
        assert!(r.body.contains("facts"), "{}", r.body);
    }
    let good = "environment=production&facts_format=application%2Fjson&facts=%7B%22name%22%3A%22node1.example.test%22%2C%22values%22%3A%7B%7D%7D";
    let r = http(
        m.addr,
        "POST",
        &format!("/puppet/v3/catalog/{NODE}"),
        &refs(&h),
        good.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn reportdir_inside_the_ca_or_ssl_directory_is_refused_at_start() {
    let dir = Scratch::new("reportdir");
    for inside in ["ssl/reports", "ca/reports"] {
        let mut c = config(dir.path(), false);
        c.reportdir = dir.path().join(inside);
        let e = troupe_master::start(c).err().map(|e| e.to_string());
        assert!(
            e.as_deref().is_some_and(|e| e.contains("is inside the")),
            "{inside}: {e:?}"
        );
    }
}
