//! The pool on a `dir` store (one host, the CA directory): init, a second init, join, show,
//! add-name with the mirror polling, concurrent inits, and hostile input.

mod common;

use std::time::Duration;

use common::TempDir;
use troupe_pool::{keys, InitOptions, InitOutcome, Mirror, PoolStore};
use troupe_store::Secret;

fn options(dir: &TempDir, name: &str, alt: &[&str]) -> InitOptions {
    let mut ca = troupe_ca::Settings::new(dir.path().join("ca"), name);
    ca.keylength = 2048;
    InitOptions {
        name: name.into(),
        alt_names: alt.iter().map(|s| s.to_string()).collect(),
        ecdsa: false,
        import: None,
        ca,
        secret: Secret::generate().expect("secret"),
        secret_out: Some(dir.path().join("join.secret")),
    }
}

#[test]
fn dir_pool_init_join_show_and_add_name() {
    let dir = TempDir::new("dir-pool");
    let pool = PoolStore::dir(&dir.path().join("ca")).expect("dir store");
    let out =
        troupe_pool::init(&pool, options(&dir, "puppet", &["puppet.example.test"])).expect("init");
    assert!(matches!(out, InitOutcome::Created { .. }), "{out:?}");
    // The plaintext key is private, as the CA key is.
    use std::os::unix::fs::PermissionsExt;
    let key = dir.path().join("ca").join(keys::KEY_PLAIN);
    let mode = std::fs::metadata(&key).expect("key").permissions().mode();
    assert_eq!(mode & 0o077, mode & 0o040, "no bits for others: {mode:o}");
    let again = troupe_pool::init(&pool, {
        let mut o = options(&dir, "puppet", &[]);
        o.secret_out = Some(dir.path().join("second.secret"));
        o
    })
    .expect("second init");
    assert!(matches!(again, InitOutcome::AlreadyInitialized { .. }));
    assert!(!dir.path().join("second.secret").exists());

    let ssl = dir.path().join("ssl");
    let synced = troupe_pool::join(&pool, &ssl).expect("join");
    assert!(synced.files.complete());
    assert_eq!(
        std::fs::read(&synced.files.ca).expect("ca"),
        std::fs::read(dir.path().join("ca/ca_crt.pem")).expect("ca")
    );
    let summary = troupe_pool::show(&pool).expect("show");
    assert_eq!(summary.name, "puppet");
    assert_eq!(summary.key_type, "RSA");
    assert_eq!(
        (summary.signed, summary.requests, summary.revoked),
        (1, 0, 0)
    );
    assert!(
        summary.ca_subject.contains("Puppet CA: puppet"),
        "{summary}"
    );
    assert!(summary.to_string().contains("puppet.example.test"));

    // A key made readable by others is tightened by the next sync.
    std::fs::set_permissions(&synced.files.key, std::fs::Permissions::from_mode(0o644))
        .expect("chmod");
    troupe_pool::sync_once(&pool, &ssl).expect("sync");
    let mode = std::fs::metadata(&synced.files.key)
        .expect("key")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o640);
    let mirror = Mirror::start(pool.clone(), &ssl).expect("mirror");
    let before = std::fs::read(&synced.files.cert).expect("cert");
    let mut ca = troupe_ca::Settings::new(dir.path().join("ca"), "puppet");
    ca.keylength = 2048;
    let st = troupe_pool::add_names(&pool, &["IP:192.0.2.7".into()], ca).expect("add-name");
    assert_eq!(st.alt_names, vec!["puppet.example.test", "IP:192.0.2.7"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while std::fs::read(&synced.files.cert).ok().as_deref() == Some(&before[..]) {
        assert!(
            std::time::Instant::now() < deadline,
            "the dir mirror saw the re-issue"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(mirror.last_error().is_none());
}

#[test]
fn concurrent_dir_inits_make_one_pool_certificate() {
    let dirs: Vec<TempDir> = (0..3)
        .map(|i| TempDir::new(&format!("dir-race{i}")))
        .collect();
    let shared = TempDir::new("dir-race-ca");
    let outcomes: Vec<InitOutcome> = std::thread::scope(|s| {
        let hs: Vec<_> = dirs
            .iter()
            .map(|d| {
                let cadir = shared.path().to_path_buf();
                s.spawn(move || {
                    let pool = PoolStore::dir(&cadir).expect("dir store");
                    let mut o = options(d, "puppet", &[]);
                    o.ca.cadir = cadir;
                    troupe_pool::init(&pool, o).expect("init")
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().expect("thread")).collect()
    });
    let created = outcomes
        .iter()
        .filter(|o| matches!(o, InitOutcome::Created { .. }))
        .count();
    assert_eq!(created, 1, "{outcomes:?}");
    let signed = std::fs::read_dir(shared.path().join("signed"))
        .expect("signed")
        .count();
    assert_eq!(signed, 1, "one pool certificate issued");
}

#[test]
fn hostile_options_are_refused_with_their_name() {
    let dir = TempDir::new("dir-hostile");
    let pool = PoolStore::dir(&dir.path().join("ca")).expect("dir store");
    let e = troupe_pool::init(&pool, options(&dir, "../etc", &[])).expect_err("bad name");
    assert!(e.to_string().contains("pool name \"../etc\""), "{e}");
    let e = troupe_pool::init(&pool, options(&dir, "puppet", &["IP:999.1.1.1"])).expect_err("ip");
    assert!(e.to_string().contains("alt name \"IP:999.1.1.1\""), "{e}");
    let e = troupe_pool::init(&pool, options(&dir, "puppet", &["a b"])).expect_err("dns");
    assert!(e.to_string().contains("alt name \"a b\""), "{e}");
    assert!(
        !dir.path().join("ca/ca_crt.pem").exists(),
        "nothing created"
    );
    let e = troupe_pool::join(&pool, &dir.path().join("ssl")).expect_err("no pool");
    assert!(e.to_string().contains("troupe pool init"), "{e}");
    // A secret file in the way is never overwritten, and nothing is created then.
    std::fs::write(dir.path().join("join.secret"), "x").expect("write");
    let e = troupe_pool::init(&pool, options(&dir, "puppet", &[])).expect_err("secret exists");
    assert!(e.to_string().contains("never overwritten"), "{e}");
    assert!(!dir.path().join("ca/ca_crt.pem").exists());
    // A corrupt pool name in the store is named.
    troupe_pool::init(&pool, {
        let mut o = options(&dir, "puppet", &[]);
        o.secret_out = None;
        o
    })
    .expect("init");
    pool.store.put(keys::NAME, b"../../x").expect("put");
    let e = troupe_pool::join(&pool, &dir.path().join("ssl")).expect_err("corrupt");
    assert!(e.to_string().contains("pool/name"), "{e}");
}
