//! Listeners, TLS, the proxying itself, health checks, reloads and drain.

use crate::respond::{simple, Gauge, Resp};
use crate::{accesslog, identity, limits, retry, status, tls, upstream, BoxError, State};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, HOST};
use hyper::service::service_fn;
use hyper::{Request, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the TLS layer learned about the client (shared by the connection's requests).
#[derive(Debug)]
struct Client {
    peer: SocketAddr,
    /// The presented chain, to judge again after a CRL reload.
    chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    /// The verdict, and the reload generation it was made at.
    verdict: std::sync::Mutex<(u64, String)>,
    /// `X-Forwarded-For`.
    peer_ip: String,
    /// This end of the connection: the `Host` of a request that had none.
    local: String,
    dn: Option<String>,
    /// `X-Client-Cert`: the certificate's PEM, URL-encoded.
    cert_header: Option<String>,
    protocol: String,
    cipher: String,
}

pub async fn serve(
    state: Arc<State>,
    stop_tx: watch::Sender<bool>,
    drain_tx: watch::Sender<bool>,
) -> Result<crate::Front, BoxError> {
    let stop_rx = stop_tx.subscribe();
    let listeners =
        crate::listen::listeners(&state.config.listen, state.config.listen_on_stdin).await?;
    let mut addrs = vec![];
    for l in &listeners {
        addrs.push(l.local_addr()?);
    }
    let (health_addr, health_task) = match state.config.health_listen {
        Some(a) => {
            let (addr, task) = crate::health::listen(state.clone(), a).await?;
            (Some(addr), Some(task))
        }
        None => (None, None),
    };
    let backends = state.backends();
    tracing::info!(
        "{} backends: {}",
        backends.len(),
        backends
            .iter()
            .map(|b| format!(
                "{}{}{}",
                if b.tls { "https://" } else { "" },
                b.addr,
                if b.is_local() { "" } else { " (remote)" }
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for b in backends.iter() {
        state.watch(b.clone());
    }
    tokio::spawn(until_stopped(stop_rx.clone(), reload_loop(state.clone())));
    let mut accept_tasks = vec![];
    for l in listeners {
        accept_tasks.push(tokio::spawn(accept_loop(state.clone(), l, stop_rx.clone())));
    }
    Ok(crate::Front {
        addrs,
        health_addr,
        state,
        stop: stop_tx,
        drain: drain_tx,
        accept_tasks,
        health_task,
    })
}

async fn until_stopped(mut stop: watch::Receiver<bool>, f: impl std::future::Future<Output = ()>) {
    tokio::select! {
        _ = f => {}
        _ = stop.changed() => {}
    }
}

async fn accept_loop(state: Arc<State>, listener: TcpListener, mut stop: watch::Receiver<bool>) {
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = stop.changed() => return,
        };
        // Over the limit (in all, or for this source): close at once rather than queue.
        let Some(ticket) = state.connection_limits.admit(peer.ip()) else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        let drain = state.drain.clone();
        tokio::spawn(async move {
            state.connections.fetch_add(1, Ordering::SeqCst);
            connection(state.clone(), stream, peer, drain, ticket).await;
            state.connections.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

async fn connection(
    state: Arc<State>,
    stream: TcpStream,
    peer: SocketAddr,
    mut drain: watch::Receiver<bool>,
    mut ticket: limits::Ticket,
) {
    let generation = state.tls_generation.load(Ordering::SeqCst);
    let Ok(local) = stream.local_addr() else {
        return;
    };
    let tls = match state.tls.read() {
        Ok(t) => t.clone(),
        Err(_) => return,
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(tls.config.clone());
    // Garbage or a stalled handshake costs this task only, bounded by the handshake timeout.
    let s =
        match tokio::time::timeout(state.config.handshake_timeout, acceptor.accept(stream)).await {
            Ok(Ok(s)) => s,
            _ => {
                state.tls_failures.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
    let client = Arc::new({
        let (_, conn) = s.get_ref();
        let chain: Vec<_> = conn
            .peer_certificates()
            .map(|c| c.to_vec())
            .unwrap_or_default();
        let verify = tls.verdict(&chain);
        if verify != "SUCCESS" && !ticket.unverified(&state.connection_limits) {
            // The share of connections kept for verified clients is all that is left.
            return;
        }
        let (dn, cert_header) = match chain.first() {
            Some(c) => (
                subject_dn(c.as_ref()),
                Some(
                    percent_encoding::utf8_percent_encode(
                        &troupe_ca::pem_encode("CERTIFICATE", c.as_ref()),
                        percent_encoding::NON_ALPHANUMERIC,
                    )
                    .to_string(),
                ),
            ),
            None => (None, None),
        };
        Client {
            peer,
            peer_ip: peer.ip().to_string(),
            local: local.to_string(),
            chain: chain.into_iter().map(|c| c.into_owned()).collect(),
            verdict: std::sync::Mutex::new((generation, verify)),
            dn,
            cert_header,
            protocol: conn
                .protocol_version()
                .map(|v| format!("{v:?}").replace("TLSv1_", "TLSv1."))
                .unwrap_or_default(),
            cipher: conn
                .negotiated_cipher_suite()
                .map(|c| format!("{:?}", c.suite()))
                .unwrap_or_default(),
        }
    });
    let max_buf = state.config.max_header_bytes.max(8192);
    let header_timeout = state.config.header_timeout;
    let keepalive_timeout = state.config.keepalive_timeout;
    // Accepted while draining: one request, then close.
    let draining = *drain.borrow_and_update();
    let activity = Arc::new(crate::lifecycle::Activity::new());
    let svc = {
        let activity = activity.clone();
        service_fn(move |req| {
            let state = state.clone();
            let client = client.clone();
            let activity = activity.clone();
            async move {
                let _busy = activity.begin();
                let close = crate::lifecycle::closes_after(req.uri().path());
                let mut resp = handle(state, client, req).await;
                if close {
                    resp.headers_mut()
                        .insert(hyper::header::CONNECTION, HeaderValue::from_static("close"));
                }
                Ok::<_, Infallible>(resp)
            }
        })
    };
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(max_buf)
        .keep_alive(!draining)
        .serve_connection(TokioIo::new(s), svc);
    tokio::pin!(conn);
    crate::lifecycle::drive(conn, drain, &activity, keepalive_timeout, header_timeout).await;
}

impl Client {
    /// `X-Client-Verify`: judged at the handshake, and once more after each CRL reload
    /// (revocations apply to open keep-alive connections too).
    fn verify(&self, state: &State) -> String {
        let now = state.tls_generation.load(Ordering::SeqCst);
        let Ok(mut v) = self.verdict.lock() else {
            return "FAILED:internal error".into();
        };
        if v.0 != now {
            v.1 = match state.tls.read() {
                Ok(t) => t.verdict(&self.chain),
                Err(_) => "FAILED:TLS configuration unavailable".into(),
            };
            v.0 = now;
        }
        v.1.clone()
    }
}

fn subject_dn(der: &[u8]) -> Option<String> {
    use x509_parser::prelude::*;
    let (_, c) = X509Certificate::from_der(der).ok()?;
    let cn = troupe_ca::common_name(c.subject())?;
    Some(format!("CN={cn}"))
}

async fn handle(state: Arc<State>, client: Arc<Client>, req: Request<Incoming>) -> Resp {
    let start = Instant::now();
    state.requests.fetch_add(1, Ordering::Relaxed);
    // Held until this future ends, also when a client hangs up and hyper drops it.
    let _in_flight = Gauge::new(&state.in_flight);
    if state.access_log.is_none() {
        let (resp, _) = route(&state, &client, req).await;
        return resp;
    }
    let user = client.dn.as_deref().map(|d| d.trim_start_matches("CN="));
    let entry = accesslog::Entry::new(&req, client.peer.ip(), user);
    let (resp, backend) = route(&state, &client, req).await;
    state.log_access(&entry.line(
        &resp,
        &client.protocol,
        &client.cipher,
        backend,
        start.elapsed(),
    ));
    resp
}

fn header(req: &Request<Incoming>, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

async fn route(
    state: &Arc<State>,
    client: &Client,
    req: Request<Incoming>,
) -> (Resp, Option<SocketAddr>) {
    let path = req.uri().path();
    if path == crate::health::PATH {
        return (crate::health::response(state, req.method()), None);
    }
    if path == "/troupe/status" || path == "/metrics" {
        return (admin_page(state, client, &req), None);
    }
    if crate::console::is_console(path) {
        let verified = client.verify(state) == "SUCCESS";
        let name = client.dn.as_deref().map(|d| d.trim_start_matches("CN="));
        let cert = match (verified, name, client.chain.first()) {
            (true, Some(n), Some(c)) => Some((n, c.as_ref())),
            _ => None,
        };
        return (
            crate::console::actions::handle(state, req, client.peer.ip(), cert).await,
            None,
        );
    }
    let verify = client.verify(state);
    let verified = verify == "SUCCESS";
    let (parts, body) = req.into_parts();
    // Read under the body limits, the buffer budget and the body deadline; held until the
    // request is done.
    let t0 = Instant::now();
    let (body, _reserved) = match limits::read_body(state, body, verified).await {
        Ok(x) => x,
        Err(e) => return (e.response(state), None),
    };
    // The request the masters see, written once (reused by retries): the client's headers
    // less hop-by-hop and identity ones, then the identity from our TLS layer only.
    let pq = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let mut head = Vec::with_capacity(1024);
    upstream::write_head(&mut head, parts.method.as_str(), pq);
    for (name, value) in parts.headers.iter() {
        let n = name.as_str();
        if identity::is_identity_header(n)
            || upstream::HOP_BY_HOP.contains(&n)
            || n == "content-length"
            || n == "expect"
            || n == "x-forwarded-for"
        {
            continue;
        }
        upstream::write_header(&mut head, n.as_bytes(), value.as_bytes());
    }
    if !parts.headers.contains_key(HOST) {
        upstream::write_header(&mut head, b"host", client.local.as_bytes());
    }
    if !body.is_empty()
        || matches!(
            parts.method,
            hyper::Method::POST | hyper::Method::PUT | hyper::Method::PATCH
        )
    {
        upstream::write_header(
            &mut head,
            b"content-length",
            body.len().to_string().as_bytes(),
        );
    }
    upstream::write_header(&mut head, b"x-client-verify", verify.as_bytes());
    if verified {
        if let Some(dn) = &client.dn {
            upstream::write_header(&mut head, b"x-client-dn", dn.as_bytes());
        }
        if let Some(p) = &client.cert_header {
            upstream::write_header(&mut head, b"x-client-cert", p.as_bytes());
        }
    }
    upstream::write_header(&mut head, b"x-forwarded-for", client.peer_ip.as_bytes());
    head.extend_from_slice(b"\r\n");
    let node = match (&client.dn, verified) {
        (Some(dn), true) => dn.trim_start_matches("CN=").to_string(),
        _ => "(no verified certificate)".to_string(),
    };
    let out = retry::Outgoing {
        fingerprint: retry::fingerprint(parts.method.as_str(), pq, &body),
        head,
        body,
        head_request: parts.method == hyper::Method::HEAD,
        method: parts.method.as_str(),
        path: pq,
        node: &node,
        peer: client.peer.ip(),
    };
    let (resp, master) = retry::dispatch(state, &out).await;
    state
        .history
        .record(resp.status().is_server_error(), t0.elapsed());
    (resp, master)
}

/// `/troupe/status` and `/metrics`, for admin addresses only.
fn admin_page(state: &State, client: &Client, req: &Request<Incoming>) -> Resp {
    let ip = client.peer.ip();
    if !state.config.admin.contains(&ip) && !state.config.admin_allow.iter().any(|n| n.contains(ip))
    {
        return simple(
            StatusCode::FORBIDDEN,
            "text/plain",
            "Forbidden: admin addresses only\n",
        );
    }
    if req.uri().path() == "/metrics" {
        return simple(
            StatusCode::OK,
            "text/plain; version=0.0.4",
            status::metrics(state),
        );
    }
    let want_json = req.uri().query().is_some_and(|q| q.contains("format=json"))
        || header(req, "accept")
            .is_some_and(|a| a.contains("application/json") && !a.contains("text/html"));
    if want_json {
        simple(
            StatusCode::OK,
            "application/json",
            status::json(state).to_string(),
        )
    } else {
        simple(
            StatusCode::OK,
            "text/html; charset=utf-8",
            status::html(state),
        )
    }
}

/// Reloads certificates, CA and CRL when they change; open connections keep going. Warns
/// while the CRL nears or passes its `nextUpdate` (hourly), and makes open connections judge
/// their certificate again when it expires.
async fn reload_loop(state: Arc<State>) {
    let mut last = tls::stamp(&state.config.tls);
    let mut crl_state = tls::CrlState::Fresh;
    let mut warned: Option<Instant> = None;
    loop {
        // Often enough that a CRL the pool's mirror writes applies within a second.
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = tls::stamp(&state.config.tls);
        if now != last {
            match tls::Tls::load(&state.config.tls) {
                Ok(t) => {
                    if let Ok(mut w) = state.tls.write() {
                        *w = t;
                    }
                    state.tls_generation.fetch_add(1, Ordering::SeqCst);
                    tracing::info!("certificates or CRL changed; reloaded");
                    last = now;
                    warned = None;
                }
                Err(e) => tracing::error!("cannot reload TLS files: {e}"),
            }
        }
        let t = time::OffsetDateTime::now_utc();
        let (st, warning) = match state.tls.read() {
            Ok(tls) => (tls.crl_state(t), tls.crl_warning(t)),
            Err(_) => continue,
        };
        if st == tls::CrlState::Expired && crl_state != tls::CrlState::Expired {
            state.tls_generation.fetch_add(1, Ordering::SeqCst);
        }
        if st != crl_state || warned.is_some_and(|w| w.elapsed() > Duration::from_secs(3600)) {
            warned = None;
        }
        crl_state = st;
        if let (Some(w), None) = (warning, warned) {
            tracing::warn!("{w}");
            warned = Some(Instant::now());
        }
    }
}
