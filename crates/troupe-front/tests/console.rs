//! The pool console (`/troupe/console`): administrators only (an admin address or a
//! certificate with `pp_cli_auth`), the form's token and origin checks, the JSON API's content
//! type; drain (DRAINING while a slow request finishes, then DRAINED; new requests go to the
//! other master), enable, disable and weights; the settings kept in a dir store across a
//! restart and seen by a second front on the same store.

mod common;
use common::{catalog_request, Backend, Kind, Pki, Reply};
use serde_json::Value as J;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use troupe_front::console::auth::Net;

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").into_bytes()
}

fn post(path: &str, ct: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: {ct}\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn api(action: &str, master: &str, weight: Option<u32>) -> Vec<u8> {
    let mut j = serde_json::json!({"action": action, "master": master});
    if let Some(w) = weight {
        j["weight"] = w.into();
    }
    post(
        "/troupe/console/api",
        "application/json",
        "",
        &j.to_string(),
    )
}

fn master(a: SocketAddr) -> String {
    format!("http://{a}")
}

async fn state(pki: &Pki, f: SocketAddr) -> J {
    let r = pki.send(f, false, &get("/troupe/console/api")).await;
    assert_eq!(r.status, 200, "{r:?}");
    serde_json::from_str(&r.body).expect("JSON")
}

async fn master_state(pki: &Pki, f: SocketAddr, m: &str) -> String {
    state(pki, f).await["masters"]
        .as_array()
        .expect("masters")
        .iter()
        .find(|x| x["master"] == m)
        .map(|x| x["state"].as_str().unwrap_or("").to_string())
        .unwrap_or_default()
}

fn token(page: &Reply) -> String {
    let i = page
        .body
        .find("name=\"token\" value=\"")
        .expect("a token in the page")
        + 20;
    page.body[i..i + 32].to_string()
}

async fn eventually(what: &str, mut f: impl AsyncFnMut() -> bool) {
    let t0 = Instant::now();
    while !f().await {
        assert!(
            t0.elapsed() < Duration::from_secs(6),
            "{what}: not within 6 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_administrators_act_and_forms_need_the_token_and_same_origin() {
    let pki = Pki::fresh("console-auth");
    pki.issue_admin("admin", "admin.example.test", true);
    pki.issue_admin("plain", "plain.example.test", false);
    let a = Backend::start(Kind::Normal).await;
    let mut c = pki.config(&[a.addr]);
    // Loopback is not an admin address here: only the certificate counts.
    c.admin = vec![];
    let front = troupe_front::start(c).await.expect("front");
    let f = front.addrs[0];
    let m = master(a.addr);

    for raw in [get("/troupe/console"), api("drain", &m, None)] {
        let r = pki.send(f, true, &raw).await;
        assert_eq!(r.status, 403, "{r:?}");
        assert!(r.body.contains("administrators only"), "{}", r.body);
        let r = pki.send_as(f, "plain", &raw).await;
        assert_eq!(r.status, 403, "a certificate without pp_cli_auth: {r:?}");
    }
    let page = pki.send_as(f, "admin", &get("/troupe/console")).await;
    assert_eq!(page.status, 200, "{page:?}");
    assert!(page.body.contains("<svg") && page.body.contains(&m));
    assert!(!page.body.contains("<script"), "no script on the page");
    let t = token(&page);

    let form = |tok: &str, extra: &str| {
        let body = format!(
            "token={tok}&master={}&action=drain",
            percent_encoding::utf8_percent_encode(&m, percent_encoding::NON_ALPHANUMERIC)
        );
        post(
            "/troupe/console/action",
            "application/x-www-form-urlencoded",
            extra,
            &body,
        )
    };
    // No token, a wrong one, a cross-site post, another origin: refused.
    for (tok, extra) in [
        ("", ""),
        ("0123456789abcdef0123456789abcdef", ""),
        (t.as_str(), "Sec-Fetch-Site: cross-site\r\n"),
        (t.as_str(), "Origin: https://evil.example\r\n"),
    ] {
        let r = pki.send_as(f, "admin", &form(tok, extra)).await;
        assert_eq!(r.status, 403, "{tok} {extra}: {r:?}");
    }
    // The JSON API without a JSON content type: refused.
    let r = pki
        .send_as(
            f,
            "admin",
            &post(
                "/troupe/console/api",
                "text/plain",
                "",
                &format!("{{\"action\":\"drain\",\"master\":\"{m}\"}}"),
            ),
        )
        .await;
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(front.state.backends()[0].console_state(), "UP");

    // The page's own post: done, and back to the page.
    let r = pki
        .send_as(
            f,
            "admin",
            &form(
                &t,
                "Sec-Fetch-Site: same-origin\r\nOrigin: https://localhost\r\n",
            ),
        )
        .await;
    assert_eq!(r.status, 303, "{r:?}");
    assert!(r
        .header("location")
        .is_some_and(|l| l.starts_with("/troupe/console?msg=")));
    assert_eq!(front.state.backends()[0].console_state(), "DRAINED");
    // Who did it is kept with the setting.
    let controls = front.state.controls();
    assert!(
        controls[&m].by.starts_with("admin.example.test"),
        "{controls:?}"
    );

    // An admin address works without a certificate (here: 127.0.0.0/8 allowed).
    let mut c = pki.config(&[a.addr]);
    c.admin = vec![];
    c.admin_allow = vec!["127.0.0.0/8".parse::<Net>().expect("net")];
    let front2 = troupe_front::start(c).await.expect("front");
    let r = pki
        .send(front2.addrs[0], false, &api("enable", &m, None))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.contains("\"state\":\"UP\""), "{}", r.body);
    let unknown = pki
        .send(
            front2.addrs[0],
            false,
            &api("drain", "http://127.0.0.1:1", None),
        )
        .await;
    assert_eq!(unknown.status, 409, "{unknown:?}");
    let bad = pki
        .send(front2.addrs[0], false, &api("weight", &m, Some(1000)))
        .await;
    assert_eq!(bad.status, 400, "{bad:?}");
    let _ = IpAddr::from([127, 0, 0, 1]);
    front2.stop().await;
    front.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_lets_the_request_in_flight_finish_and_sends_new_ones_elsewhere() {
    let pki = Arc::new(Pki::fresh("console-drain"));
    let a = Backend::start(Kind::Slow).await;
    let b = Backend::start(Kind::Slow).await;
    let c = pki.config(&[a.addr, b.addr]);
    let front = troupe_front::start(c).await.expect("front");
    let f = front.addrs[0];

    // A slow request in flight on one master.
    let slow = {
        let pki = pki.clone();
        let raw = String::from_utf8_lossy(&catalog_request("x=1"))
            .replace("?environment", "?slow=1&environment")
            .into_bytes();
        tokio::spawn(async move { pki.send(f, true, &raw).await })
    };
    let mut busy = None;
    eventually("the slow request reaches a master", async || {
        busy = front
            .state
            .backends()
            .iter()
            .find(|x| x.in_flight.load(std::sync::atomic::Ordering::SeqCst) > 0)
            .map(|x| x.addr);
        busy.is_some()
    })
    .await;
    let busy = busy.expect("busy master");
    let (drained, other) = if busy == a.addr { (&a, &b) } else { (&b, &a) };
    let m = master(drained.addr);
    let r = pki.send(f, false, &api("drain", &m, None)).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.contains("\"state\":\"DRAINING\""), "{}", r.body);
    assert_eq!(master_state(&pki, f, &m).await, "DRAINING");
    // New requests all go to the other master while the slow one finishes.
    let before = (drained.hits(), other.hits());
    for i in 0..6 {
        let r = pki.send(f, true, &catalog_request(&format!("n={i}"))).await;
        assert_eq!(r.status, 200, "{r:?}");
    }
    assert_eq!(
        drained.hits(),
        before.0,
        "the drained master got new requests"
    );
    assert_eq!(other.hits(), before.1 + 6);
    let r = slow.await.expect("slow request");
    assert_eq!(r.status, 200, "the request in flight finished: {r:?}");
    eventually("DRAINED once it finished", async || {
        master_state(&pki, f, &m).await == "DRAINED"
    })
    .await;
    // Enabled: back in rotation.
    let r = pki.send(f, false, &api("enable", &m, None)).await;
    assert_eq!(r.status, 200, "{r:?}");
    let before = drained.hits();
    for i in 0..6 {
        pki.send(f, true, &catalog_request(&format!("e={i}"))).await;
    }
    assert!(drained.hits() > before, "enable brings it back");
    // Disabled: out of rotation as well.
    let r = pki.send(f, false, &api("disable", &m, None)).await;
    assert!(r.body.contains("\"state\":\"DISABLED\""), "{}", r.body);
    let before = drained.hits();
    for i in 0..4 {
        pki.send(f, true, &catalog_request(&format!("d={i}"))).await;
    }
    assert_eq!(drained.hits(), before);
    let metrics = pki.send(f, false, &get("/metrics")).await.body;
    assert!(
        metrics.contains(&format!(
            "troupe_front_backend_in_rotation{{backend=\"{}\"}} 0\n",
            drained.addr
        )),
        "{metrics}"
    );
    // The history counts what the front and the masters did.
    let s = state(&pki, f).await;
    assert!(
        s["front"]["last_10_minutes"]["requests"]
            .as_u64()
            .unwrap_or(0)
            >= 17,
        "{s}"
    );
    front.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weights_share_requests() {
    let pki = Pki::fresh("console-weight");
    let a = Backend::start(Kind::Normal).await;
    let b = Backend::start(Kind::Normal).await;
    let mut c = pki.config(&[a.addr, b.addr]);
    c.balance = troupe_front::backend::Balance::RoundRobin;
    let front = troupe_front::start(c).await.expect("front");
    let f = front.addrs[0];
    let r = pki
        .send(f, false, &api("weight", &master(a.addr), Some(0)))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    for i in 0..5 {
        pki.send(f, true, &catalog_request(&format!("w={i}"))).await;
    }
    assert_eq!((a.hits(), b.hits()), (0, 5), "weight 0 takes nothing");
    pki.send(f, false, &api("weight", &master(a.addr), Some(3)))
        .await;
    for i in 0..40 {
        pki.send(f, true, &catalog_request(&format!("x={i}"))).await;
    }
    assert_eq!((a.hits(), b.hits() - 5), (30, 10), "3:1");
    front.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_survive_a_restart_and_reach_another_front_through_a_dir_store() {
    let pki = Pki::fresh("console-store");
    let dir = pki.dir.join("store");
    let store = || {
        troupe_store::Store::open(&troupe_store::StoreConfig::Dir { path: dir.clone() })
            .expect("dir store")
    };
    std::fs::create_dir_all(&dir).expect("store dir");
    let a = Backend::start(Kind::Normal).await;
    let b = Backend::start(Kind::Normal).await;
    let config = || {
        let mut c = pki.config(&[a.addr, b.addr]);
        c.control_store = Some(store());
        c
    };
    let one = troupe_front::start(config()).await.expect("front");
    let two = troupe_front::start(config()).await.expect("front");
    let m = master(a.addr);
    let r = pki.send(one.addrs[0], false, &api("drain", &m, None)).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(dir.join("console/masters").is_dir());
    // The other front sees it at its next look at the store.
    eventually("the second front applies the drain", async || {
        master_state(&pki, two.addrs[0], &m).await == "DRAINED"
    })
    .await;
    pki.send(
        two.addrs[0],
        false,
        &api("weight", &master(b.addr), Some(7)),
    )
    .await;
    one.stop().await;
    two.stop().await;
    // A restarted front starts with them, before its first request.
    let three = troupe_front::start(config()).await.expect("front");
    let backends = three.state.backends();
    assert_eq!(backends[0].console_state(), "DRAINED");
    assert_eq!(
        backends[1].weight.load(std::sync::atomic::Ordering::SeqCst),
        7
    );
    for i in 0..4 {
        let r = pki
            .send(three.addrs[0], true, &catalog_request(&format!("r={i}")))
            .await;
        assert_eq!(r.status, 200);
    }
    assert_eq!(
        a.hits(),
        0,
        "the drained master stayed drained across the restart"
    );
    three.stop().await;
}
