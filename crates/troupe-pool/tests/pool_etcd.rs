//! Pool bootstrap over a real 3-member etcd cluster: init on host A, join on host B with only
//! the endpoints and the join secret file, concurrent inits, add-name, and the mirror's
//! propagation and outage behaviour. Skipped with a notice when `etcd` is not installed
//! (TROUPE_REQUIRE_ETCD=1 makes that a failure).

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{EtcdCluster, TempDir};
use troupe_pool::{keys, InitOptions, InitOutcome, LocalFiles, Mirror, PoolError, PoolStore};
use troupe_store::{Secret, Store};

/// A host: its own directory (ssldir, cadir, secret file) and its own etcd client.
struct Host {
    dir: TempDir,
    store: Store,
}

impl Host {
    fn new(what: &str, store: Store) -> Host {
        Host {
            dir: TempDir::new(what),
            store,
        }
    }
    fn ssldir(&self) -> PathBuf {
        self.dir.path().join("ssl")
    }
    fn cadir(&self) -> PathBuf {
        self.dir.path().join("ca")
    }
    fn secret_file(&self) -> PathBuf {
        self.dir.path().join("join.secret")
    }
    fn pool(&self, secret: Option<Secret>) -> PoolStore {
        PoolStore {
            store: self.store.clone(),
            secret,
        }
    }
    fn ca_settings(&self, name: &str) -> troupe_ca::Settings {
        let mut s = troupe_ca::Settings::new(self.cadir(), name);
        s.keylength = 2048;
        s
    }
    fn init(&self, alt_names: &[&str]) -> troupe_pool::Result<InitOutcome> {
        let secret = Secret::generate().expect("secret");
        let out = troupe_pool::init(
            &self.pool(None),
            InitOptions {
                name: "puppet".into(),
                alt_names: alt_names.iter().map(|s| s.to_string()).collect(),
                ecdsa: true,
                import: None,
                ca: self.ca_settings("puppet"),
                secret,
                secret_out: Some(self.secret_file()),
            },
        )?;
        troupe_store::testing::assert_private_keys_sealed(&self.store);
        Ok(out)
    }
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Waits until `f` holds, at most `limit`; the time it took.
fn wait_for(limit: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

/// The certificate's DNS alt names.
fn dns_names(pem: &[u8]) -> Vec<String> {
    let p = x509_parser::pem::Pem::iter_from_buffer(pem)
        .next()
        .expect("a PEM block")
        .expect("PEM");
    let (_, c) = x509_parser::parse_x509_certificate(&p.contents).expect("certificate");
    let mut out = vec![];
    if let Ok(Some(san)) = c.subject_alternative_name() {
        for n in &san.value.general_names {
            if let x509_parser::extensions::GeneralName::DNSName(d) = n {
                out.push(d.to_string());
            }
        }
    }
    out
}

/// The key's public half matches the certificate's.
fn key_matches(cert_pem: &[u8], key_pem: &[u8]) -> bool {
    let key = rcgen::KeyPair::from_pem(std::str::from_utf8(key_pem).expect("utf8")).expect("key");
    let p = x509_parser::pem::Pem::iter_from_buffer(cert_pem)
        .next()
        .expect("PEM")
        .expect("PEM");
    let (_, c) = x509_parser::parse_x509_certificate(&p.contents).expect("certificate");
    use rcgen::PublicKeyData;
    c.public_key().raw == key.subject_public_key_info().as_slice()
}

#[test]
fn init_on_a_and_join_on_b_share_one_pool_certificate_and_ca() {
    let Some(cluster) = EtcdCluster::start(3) else {
        return;
    };
    let a = Host::new("host-a", cluster.store(&[0]));
    let b = Host::new("host-b", cluster.store(&[1, 2]));
    // Nothing there yet: join says to run init.
    let e = troupe_pool::join(&b.pool(Some(Secret::generate().expect("s"))), &b.ssldir())
        .expect_err("no pool yet");
    assert_eq!(e, PoolError::NotInitialized);
    assert!(e.to_string().contains("troupe pool init"), "{e}");

    let created = a
        .init(&["puppet.example.test", "IP:127.0.0.1"])
        .expect("init");
    let InitOutcome::Created { secret_id, .. } = created else {
        panic!("expected a new pool, got {created:?}")
    };
    // The key is sealed in etcd, never in plaintext.
    let sealed = a
        .store
        .get(keys::KEY_SEALED)
        .expect("get")
        .expect("sealed key");
    assert!(!String::from_utf8_lossy(&sealed.value).contains("PRIVATE KEY"));
    assert!(a.store.get(keys::KEY_PLAIN).expect("get").is_none());

    // A second init changes nothing and says whose pool it is.
    let crt_before = a.store.get(keys::CRT).expect("get").expect("crt");
    let again = Host::new("host-a2", cluster.store(&[2]));
    assert_eq!(
        again.init(&["other.example.test"]).expect("second init"),
        InitOutcome::AlreadyInitialized {
            name: "puppet".into(),
            secret_id: secret_id.clone()
        }
    );
    assert!(
        !again.secret_file().exists(),
        "no secret written by a second init"
    );
    assert_eq!(a.store.get(keys::CRT).expect("get"), Some(crt_before));

    // Host B: endpoints and the secret file only.
    std::fs::copy(a.secret_file(), b.secret_file()).expect("copy the secret file");
    let secret = Secret::read_file(&b.secret_file()).expect("secret");
    let sa = troupe_pool::join(&a.pool(Some(secret.clone())), &a.ssldir()).expect("join A");
    let sb = troupe_pool::join(&b.pool(Some(secret)), &b.ssldir()).expect("join B");
    assert_eq!(sb.name, "puppet");
    for (fa, fb) in [
        (&sa.files.ca, &sb.files.ca),
        (&sa.files.crl, &sb.files.crl),
        (&sa.files.cert, &sb.files.cert),
        (&sa.files.key, &sb.files.key),
    ] {
        assert_eq!(read(fa), read(fb), "{} differs", fb.display());
    }
    assert!(key_matches(&read(&sb.files.cert), &read(&sb.files.key)));
    assert!(dns_names(&read(&sb.files.cert)).contains(&"puppet.example.test".to_string()));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&sb.files.key)
        .expect("key")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o640);

    // A wrong secret is refused, naming it.
    let c = Host::new("host-c", cluster.store(&[0, 1, 2]));
    let wrong = Secret::generate().expect("s");
    let e = troupe_pool::join(&c.pool(Some(wrong.clone())), &c.ssldir()).expect_err("wrong secret");
    assert!(
        e.to_string().contains(&wrong.id()) && e.to_string().contains("not this pool's"),
        "{e}"
    );
    assert!(
        !c.ssldir().join("certs").exists(),
        "nothing written with a wrong secret"
    );
    // A secret whose id matches but that cannot unseal (a tampered id) still fails on unseal.
    a.store
        .put(keys::SECRET_ID, wrong.id().as_bytes())
        .expect("put");
    let e = troupe_pool::join(&c.pool(Some(wrong)), &c.ssldir()).expect_err("cannot unseal");
    assert!(
        e.to_string().contains("cannot unseal sealed/pool_key.pem"),
        "{e}"
    );
}

#[test]
fn concurrent_inits_leave_exactly_one_pool() {
    let Some(cluster) = EtcdCluster::start(3) else {
        return;
    };
    let hosts: Vec<Host> = (0..3)
        .map(|i| Host::new(&format!("racer{i}"), cluster.store(&[i])))
        .collect();
    let outcomes: Vec<InitOutcome> = std::thread::scope(|s| {
        let handles: Vec<_> = hosts
            .iter()
            .map(|h| s.spawn(move || h.init(&["puppet.example.test"]).expect("init")))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let created: Vec<&InitOutcome> = outcomes
        .iter()
        .filter(|o| matches!(o, InitOutcome::Created { .. }))
        .collect();
    assert_eq!(created.len(), 1, "{outcomes:?}");
    let InitOutcome::Created { secret_id, .. } = created[0] else {
        unreachable!()
    };
    for o in &outcomes {
        if let InitOutcome::AlreadyInitialized { secret_id: s, .. } = o {
            assert_eq!(s, secret_id);
        }
    }
    let secret_files: Vec<&Host> = hosts.iter().filter(|h| h.secret_file().exists()).collect();
    assert_eq!(secret_files.len(), 1, "only the winner writes a secret");
    let cadirs = hosts
        .iter()
        .filter(|h| h.cadir().join("ca_crt.pem").exists())
        .count();
    assert!(
        cadirs <= 1,
        "one CA: {cadirs} hosts created one in their cadir"
    );
    // Every host joins the one pool with the winner's secret.
    let secret = Secret::read_file(&secret_files[0].secret_file()).expect("secret");
    let files: Vec<Vec<u8>> = hosts
        .iter()
        .map(|h| {
            let s = troupe_pool::join(&h.pool(Some(secret.clone())), &h.ssldir()).expect("join");
            [read(&s.files.cert), read(&s.files.ca)].concat()
        })
        .collect();
    assert!(files.windows(2).all(|w| w[0] == w[1]));
    assert!(
        hosts[0].store.get(keys::LOCK).expect("get").is_none(),
        "lock released"
    );
}

#[test]
fn add_name_reissues_and_another_hosts_mirror_picks_it_up() {
    let Some(cluster) = EtcdCluster::start(3) else {
        return;
    };
    let a = Host::new("add-a", cluster.store(&[0]));
    let b = Host::new("add-b", cluster.store(&[1, 2]));
    a.init(&["puppet.example.test"]).expect("init");
    let secret = Secret::read_file(&a.secret_file()).expect("secret");
    let mirror = Mirror::start(b.pool(Some(secret.clone())), &b.ssldir()).expect("mirror");
    let f = mirror.files().clone();
    let old = read(&f.cert);
    assert!(!dns_names(&old).contains(&"lb.example.test".to_string()));

    let state = troupe_pool::add_names(
        &a.pool(Some(secret.clone())),
        &["lb.example.test,IP:10.0.0.10".to_string()],
        a.ca_settings("puppet"),
    )
    .expect("add-name");
    assert_eq!(
        state.alt_names,
        vec!["puppet.example.test", "lb.example.test", "IP:10.0.0.10"]
    );
    let took = wait_for(Duration::from_secs(5), || {
        std::fs::read(&f.cert).is_ok_and(|c| dns_names(&c).contains(&"lb.example.test".into()))
    })
    .expect("B's mirror got the re-issued certificate");
    eprintln!("re-issued pool certificate reached host B's files in {took:?}");
    // The key came along with it (written before the certificate).
    assert!(key_matches(&read(&f.cert), &read(&f.key)));
    // Adding names it has changes nothing.
    let same = troupe_pool::add_names(
        &a.pool(Some(secret)),
        &["LB.example.test".to_string()],
        a.ca_settings("puppet"),
    )
    .expect("no-op");
    assert_eq!(same, state);
    // Without the secret an etcd pool cannot be re-issued.
    let e = troupe_pool::add_names(
        &a.pool(None),
        &["x.example.test".into()],
        a.ca_settings("puppet"),
    )
    .expect_err("no secret");
    assert!(e.to_string().contains("join_secret_file"), "{e}");
}

#[test]
fn crl_changes_reach_the_mirrored_file_within_a_second() {
    let Some(cluster) = EtcdCluster::start(3) else {
        return;
    };
    let a = Host::new("crl-a", cluster.store(&[0]));
    let b = Host::new("crl-b", cluster.store(&[2]));
    a.init(&[]).expect("init");
    let secret = Secret::read_file(&a.secret_file()).expect("secret");
    let mirror = Mirror::start(b.pool(Some(secret)), &b.ssldir()).expect("mirror");
    let crl_file = mirror.files().crl.clone();
    let base = a.store.get(keys::CA_CRL).expect("get").expect("crl").value;
    let mut times = vec![];
    for i in 1..=5 {
        // A different value each time (the mirror copies bytes; a real revocation is a new CRL).
        let mut v = base.clone();
        v.extend(std::iter::repeat_n(b'\n', i));
        let t = Instant::now();
        a.store.put(keys::CA_CRL, &v).expect("put");
        let took = wait_for(Duration::from_secs(3), || {
            std::fs::read(&crl_file).is_ok_and(|c| c == v)
        })
        .map(|_| t.elapsed())
        .expect("the CRL reached the mirrored file");
        times.push(took);
    }
    times.sort();
    eprintln!(
        "CRL store write -> mirrored file on another host: median {:?}, max {:?} (5 writes)",
        times[2], times[4]
    );
    // The requirement is a second; the max is only a guard against a loaded machine.
    assert!(times[2] < Duration::from_secs(1), "{times:?}");
    assert!(times[4] < Duration::from_secs(3), "{times:?}");
}

#[test]
fn mirror_keeps_files_while_etcd_is_down_and_resumes() {
    let Some(mut cluster) = EtcdCluster::start(3) else {
        return;
    };
    let a = Host::new("out-a", cluster.store(&[0]));
    let b = Host::new("out-b", cluster.store(&[0, 1, 2]));
    a.init(&[]).expect("init");
    let secret = Secret::read_file(&a.secret_file()).expect("secret");
    let mirror = Mirror::start(b.pool(Some(secret.clone())), &b.ssldir()).expect("mirror");
    let f: LocalFiles = mirror.files().clone();
    let before: Vec<Vec<u8>> = [&f.ca, &f.crl, &f.cert, &f.key]
        .iter()
        .map(|p| read(p))
        .collect();

    cluster.stop_all();
    wait_for(Duration::from_secs(15), || mirror.last_error().is_some())
        .expect("the mirror noticed the outage");
    let during: Vec<Vec<u8>> = [&f.ca, &f.crl, &f.cert, &f.key]
        .iter()
        .map(|p| read(p))
        .collect();
    assert_eq!(before, during, "last-known files kept");
    // A host (re)starting during the outage serves its last-known files.
    let second =
        Mirror::start(b.pool(Some(secret.clone())), &b.ssldir()).expect("start while down");
    assert_eq!(second.name(), "puppet");
    assert!(second
        .last_error()
        .is_some_and(|e| e.contains("unavailable")));
    drop(second);
    // A host that never synced cannot.
    let fresh = Host::new("out-c", cluster.store(&[0]));
    let e = Mirror::start(fresh.pool(Some(secret)), &fresh.ssldir()).expect_err("nothing to serve");
    assert!(e.to_string().contains("holds no pool files yet"), "{e}");

    cluster.start_all();
    let mut v = read(&f.crl);
    v.extend_from_slice(b"\n\n");
    a.store.put(keys::CA_CRL, &v).expect("put after restart");
    let took = wait_for(Duration::from_secs(12), || {
        std::fs::read(&f.crl).is_ok_and(|c| c == v)
    })
    .expect("the mirror resumed after etcd restarted");
    eprintln!("mirror caught up {took:?} after the first write once etcd was back");
    // (The file is written just before the mirror records the sync as good.)
    wait_for(Duration::from_secs(3), || mirror.last_error().is_none())
        .expect("the mirror is in step again");
}

/// Whether `sig_pem`'s first certificate is signed by `ca_pem`'s.
fn signed_by(cert_pem: &[u8], ca_pem: &[u8]) -> bool {
    let der = |pem: &[u8]| {
        x509_parser::pem::Pem::iter_from_buffer(pem)
            .next()
            .expect("PEM")
            .expect("PEM")
            .contents
    };
    let (c, ca) = (der(cert_pem), der(ca_pem));
    let (_, c) = x509_parser::parse_x509_certificate(&c).expect("certificate");
    let (_, ca) = x509_parser::parse_x509_certificate(&ca).expect("CA");
    c.verify_signature(Some(ca.public_key())).is_ok()
}

#[test]
fn init_imports_a_puppet_ca_directory_and_keeps_its_certificates_valid() {
    let Some(cluster) = EtcdCluster::start(3) else {
        return;
    };
    // A puppetserver-layout CA directory with an agent's certificate.
    let src = TempDir::new("import-src");
    let mut settings = troupe_ca::Settings::new(src.path(), "old-master.example.test");
    settings.keylength = 2048;
    let old = troupe_ca::Ca::open_or_init(settings).expect("a dir CA");
    let (agent, _) = old
        .generate_with("agent9.example.test", &[], true, false)
        .expect("agent cert");
    drop(old);
    let a = Host::new("import-a", cluster.store(&[0]));
    let out = troupe_pool::init(
        &a.pool(None),
        InitOptions {
            name: "puppet".into(),
            alt_names: vec!["puppet.example.test".into()],
            ecdsa: true,
            import: Some(src.path().to_path_buf()),
            ca: a.ca_settings("puppet"),
            secret: Secret::generate().expect("secret"),
            secret_out: Some(a.secret_file()),
        },
    );
    if let Err(e) = &out {
        if e.to_string().contains("this build lacks") {
            eprintln!("NOTICE: skipping the import test: {e}");
            return;
        }
    }
    assert!(matches!(out, Ok(InitOutcome::Created { .. })), "{out:?}");
    let b = Host::new("import-b", cluster.store(&[1, 2]));
    let secret = Secret::read_file(&a.secret_file()).expect("secret");
    let synced = troupe_pool::join(&b.pool(Some(secret)), &b.ssldir()).expect("join");
    let ca = read(&synced.files.ca);
    assert_eq!(ca, read(&src.path().join("ca_crt.pem")), "the imported CA");
    assert!(
        signed_by(agent.as_bytes(), &ca),
        "the old agent certificate is still valid"
    );
    assert!(
        signed_by(&read(&synced.files.cert), &ca),
        "the pool certificate"
    );
    let stored = a
        .store
        .get("signed/agent9.example.test.pem")
        .expect("get")
        .expect("imported");
    assert_eq!(stored.value, agent.as_bytes());
}
