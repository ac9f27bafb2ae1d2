//! `environment_timeout` on a running master: within it, changed code is not compiled until
//! `DELETE /puppet-admin-api/v1/environment-cache` (a `pp_cli_auth` certificate only, as
//! puppetserver's `auth.conf`) flushes the environment; `/puppet/v3/environments` shows it.

mod common;
use common::*;

const ADMIN: &str = "admin.example.test";
const NODE: &str = "node1.example.test";

fn catalog(m: &troupe_master::Server, cfg: &std::sync::Arc<rustls::ClientConfig>) -> String {
    let r = https(
        m.addr,
        cfg,
        "GET",
        &format!("/puppet/v3/catalog/{NODE}?environment=production"),
        &[],
        b"",
    )
    .expect("catalog response");
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

fn flush(
    m: &troupe_master::Server,
    cfg: &std::sync::Arc<rustls::ClientConfig>,
    query: &str,
) -> u16 {
    https(
        m.addr,
        cfg,
        "DELETE",
        &format!("/puppet-admin-api/v1/environment-cache{query}"),
        &[],
        b"",
    )
    .map_or(0, |r| r.status)
}

#[test]
fn a_kept_environment_is_flushed_by_the_admin_api_only() {
    let dir = Scratch::new("envcache");
    let mut c = config(dir.path(), true);
    c.environment_timeout = troupe_compiler::EnvironmentTimeout::Unlimited;
    let site = c.codedir.join("environments/production/manifests/site.pp");
    let (cadir, ssldir) = (c.cadir.clone().expect("cadir"), c.ssldir.clone());
    let m = start(c);
    let node = tls_client(&ssldir, Some(&issue(&cadir, NODE, false)));
    let admin = tls_client(&ssldir, Some(&issue(&cadir, ADMIN, true)));
    assert!(catalog(&m, &node).contains("Notify[hi]"));
    std::fs::write(&site, "notify { 'changed': }\n").expect("write");
    assert!(catalog(&m, &node).contains("Notify[hi]"), "kept");

    // Nodes and anonymous clients may not flush.
    assert_eq!(flush(&m, &node, ""), 403);
    assert_eq!(flush(&m, &tls_client(&ssldir, None), ""), 403);
    assert!(catalog(&m, &node).contains("Notify[hi]"), "still kept");

    // Another environment's flush leaves production kept; its own flush does not.
    assert_eq!(flush(&m, &admin, "?environment=staging"), 204);
    assert!(catalog(&m, &node).contains("Notify[hi]"));
    assert_eq!(flush(&m, &admin, "?environment=production"), 204);
    assert!(catalog(&m, &node).contains("Notify[changed]"));

    std::fs::write(&site, "notify { 'third': }\n").expect("write");
    assert!(catalog(&m, &node).contains("Notify[changed]"));
    assert_eq!(flush(&m, &admin, ""), 204);
    assert!(catalog(&m, &node).contains("Notify[third]"));

    let r = https(m.addr, &node, "GET", "/puppet/v3/environments", &[], b"").expect("envs");
    let v: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    assert_eq!(
        v["environments"]["production"]["settings"]["environment_timeout"],
        "unlimited"
    );
}
