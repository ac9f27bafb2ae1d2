//! Listeners, TLS, the proxying itself, health checks, reloads and drain.

use crate::backend::{order, Backend};
use crate::{status, tls, BoxError, State};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue, CONNECTION, CONTENT_TYPE, HOST};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

type Resp = Response<Full<Bytes>>;

/// Counts one unit in a gauge for as long as it lives (dropped futures included).
struct Gauge<'a>(&'a std::sync::atomic::AtomicUsize);

impl<'a> Gauge<'a> {
    fn new(g: &'a std::sync::atomic::AtomicUsize) -> Gauge<'a> {
        g.fetch_add(1, Ordering::SeqCst);
        Gauge(g)
    }
}

impl Drop for Gauge<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Identity headers a client must never set itself.
const IDENTITY_HEADERS: [&str; 8] = [
    "x-client-verify",
    "x-client-dn",
    "x-client-cert",
    "x-ssl-client-verify",
    "x-ssl-client-dn",
    "x-ssl-client-cert",
    "ssl-client-cert",
    "ssl-client-verify",
];

/// What the TLS layer learned about the client (shared by the connection's requests).
#[derive(Debug)]
struct Client {
    peer: SocketAddr,
    /// The presented chain, to judge again after a CRL reload.
    chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    /// The verdict, and the reload generation it was made at.
    verdict: std::sync::Mutex<(u64, String)>,
    dn: Option<String>,
    cert_pem: Option<String>,
    protocol: String,
    cipher: String,
}

pub async fn serve(state: Arc<State>) -> Result<(), BoxError> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut listeners = vec![];
    for addr in &state.config.listen {
        let l = TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        eprintln!("troupe front: listening on {} (https)", l.local_addr()?);
        listeners.push(l);
    }
    eprintln!(
        "troupe front: {} backends: {}",
        state.backends.len(),
        state
            .backends
            .iter()
            .map(|b| format!("{}{}", if b.tls { "https://" } else { "" }, b.addr))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for b in &state.backends {
        tokio::spawn(health_loop(state.clone(), b.clone()));
    }
    tokio::spawn(reload_loop(state.clone()));
    let mut accept_tasks = vec![];
    for l in listeners {
        accept_tasks.push(tokio::spawn(accept_loop(state.clone(), l, stop_rx.clone())));
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = term.recv() => {},
        _ = tokio::signal::ctrl_c() => {},
    }
    eprintln!(
        "troupe front: draining: not accepting, {} requests in flight",
        state.total_in_flight()
    );
    let _ = stop_tx.send(true);
    for t in accept_tasks {
        let _ = t.await;
    }
    let deadline = Instant::now() + state.config.drain_timeout;
    while state.total_in_flight() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!("troupe front: drained, exiting");
    Ok(())
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
        let Ok(slot) = state.connection_slots.clone().try_acquire_owned() else {
            // Over the connection limit: close at once rather than queue.
            continue;
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            state.connections.fetch_add(1, Ordering::SeqCst);
            connection(state.clone(), stream, peer, stop).await;
            state.connections.fetch_sub(1, Ordering::SeqCst);
            drop(slot);
        });
    }
}

async fn connection(
    state: Arc<State>,
    stream: TcpStream,
    peer: SocketAddr,
    stop: watch::Receiver<bool>,
) {
    let generation = state.tls_generation.load(Ordering::SeqCst);
    let tls = match state.tls.read() {
        Ok(t) => t.clone(),
        Err(_) => return,
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(tls.config.clone());
    // Garbage or a stalled handshake costs this task only, bounded by the header timeout.
    let s = match tokio::time::timeout(state.config.header_timeout, acceptor.accept(stream)).await {
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
        let (dn, cert_pem) = match chain.first() {
            Some(c) => (
                subject_dn(c.as_ref()),
                Some(troupe_ca::pem_encode("CERTIFICATE", c.as_ref())),
            ),
            None => (None, None),
        };
        Client {
            peer,
            chain: chain.into_iter().map(|c| c.into_owned()).collect(),
            verdict: std::sync::Mutex::new((generation, verify)),
            dn,
            cert_pem,
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
    let svc = service_fn(move |req| {
        let state = state.clone();
        let client = client.clone();
        async move { Ok::<_, Infallible>(handle(state, client, req).await) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(10))
        .max_buf_size(max_buf)
        .keep_alive(true)
        .serve_connection(TokioIo::new(s), svc);
    tokio::pin!(conn);
    let mut stop = stop;
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = stop.changed() => {
            // Drain: finish the request in progress, then close.
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
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

fn simple(status: StatusCode, ct: &str, body: impl Into<Bytes>) -> Resp {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(ct) {
        r.headers_mut().insert(CONTENT_TYPE, v);
    }
    r
}

fn unavailable(state: &State, why: &str) -> Resp {
    state.rejected.fetch_add(1, Ordering::Relaxed);
    let mut r = simple(
        StatusCode::SERVICE_UNAVAILABLE,
        "application/json;charset=utf-8",
        serde_json::json!({"message": format!("Service Unavailable: {why}"), "issue_kind": "RUNTIME_ERROR"}).to_string(),
    );
    if let Ok(v) = HeaderValue::from_str(&state.config.retry_after.to_string()) {
        r.headers_mut().insert("Retry-After", v);
    }
    r
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
    let line = format!(
        "{} {} {:?}",
        req.method(),
        req.uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/"),
        req.version()
    );
    let referer = header(&req, "referer");
    let agent = header(&req, "user-agent");
    let user = client
        .dn
        .clone()
        .map(|d| d.trim_start_matches("CN=").to_string());
    let (resp, backend) = route(&state, &client, req).await;
    let size = hyper::body::Body::size_hint(resp.body())
        .exact()
        .unwrap_or(0);
    state.log_access(&format!(
        "{} - {} [{}] \"{}\" {} {} \"{}\" \"{}\" {} {} {} {}ms",
        client.peer.ip(),
        user.unwrap_or_else(|| "-".into()),
        clf_time(),
        line,
        resp.status().as_u16(),
        size,
        referer.unwrap_or_else(|| "-".into()),
        agent.unwrap_or_else(|| "-".into()),
        client.protocol,
        client.cipher,
        backend.map(|b| b.to_string()).unwrap_or_else(|| "-".into()),
        start.elapsed().as_millis()
    ));
    resp
}

fn header(req: &Request<Incoming>, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The access log's time: `26/Nov/2026:21:00:43 +0000`.
fn clf_time() -> String {
    const MON: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t = time::OffsetDateTime::now_utc();
    format!(
        "{:02}/{}/{:04}:{:02}:{:02}:{:02} +0000",
        t.day(),
        MON[usize::from(u8::from(t.month())) - 1],
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

async fn route(
    state: &Arc<State>,
    client: &Client,
    req: Request<Incoming>,
) -> (Resp, Option<SocketAddr>) {
    let path = req.uri().path().to_string();
    if path == "/troupe/status" || path == "/metrics" {
        if !state.config.admin.contains(&client.peer.ip()) {
            return (
                simple(
                    StatusCode::FORBIDDEN,
                    "text/plain",
                    "Forbidden: admin addresses only\n",
                ),
                None,
            );
        }
        let want_json = req.uri().query().is_some_and(|q| q.contains("format=json"))
            || header(&req, "accept")
                .is_some_and(|a| a.contains("application/json") && !a.contains("text/html"));
        return (
            if path == "/metrics" {
                simple(
                    StatusCode::OK,
                    "text/plain; version=0.0.4",
                    status::metrics(state),
                )
            } else if want_json {
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
            },
            None,
        );
    }
    let (mut parts, body) = req.into_parts();
    let body = match Limited::new(body, state.config.max_body_bytes)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return (
                simple(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "text/plain",
                    "Request body too large or unreadable\n",
                ),
                None,
            )
        }
    };
    // The request the masters see: identity from our TLS layer only.
    let mut headers = std::mem::take(&mut parts.headers);
    for h in IDENTITY_HEADERS {
        headers.remove(h);
    }
    headers.remove(CONNECTION);
    headers.remove("keep-alive");
    headers.remove("proxy-connection");
    headers.remove("transfer-encoding");
    headers.remove("upgrade");
    let set = |headers: &mut hyper::HeaderMap, name: &'static str, v: &str| {
        if let Ok(v) = HeaderValue::from_str(v) {
            headers.insert(HeaderName::from_static(name), v);
        }
    };
    let verify = client.verify(state);
    set(&mut headers, "x-client-verify", &verify);
    if verify == "SUCCESS" {
        if let Some(dn) = &client.dn {
            set(&mut headers, "x-client-dn", dn);
        }
        if let Some(p) = &client.cert_pem {
            let enc = percent_encoding::utf8_percent_encode(p, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
            set(&mut headers, "x-client-cert", &enc);
        }
    }
    set(
        &mut headers,
        "x-forwarded-for",
        &client.peer.ip().to_string(),
    );
    let pq = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let order = order(
        &state.backends,
        state.config.balance,
        &state.rr,
        state.config.max_in_flight,
    );
    if order.is_empty() {
        return (
            unavailable(state, "no master is available; retry later"),
            None,
        );
    }
    let mut saturated = 0;
    for (attempt, i) in order.iter().enumerate() {
        let b = state.backends[*i].clone();
        if attempt > 0 {
            b.retries.fetch_add(1, Ordering::Relaxed);
        }
        let busy = Gauge::new(&b.in_flight);
        b.requests.fetch_add(1, Ordering::Relaxed);
        let t0 = Instant::now();
        let r = forward(state, &b, &parts.method, &pq, &headers, body.clone()).await;
        drop(busy);
        match r {
            Forwarded::Response(resp) => {
                b.observe_latency(t0.elapsed());
                let st = resp.status();
                if st == StatusCode::SERVICE_UNAVAILABLE {
                    // The master is saturated and did not process it: another may.
                    saturated += 1;
                    continue;
                }
                let app_error = resp
                    .headers()
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|ct| ct.contains("json"));
                if st.is_server_error() && !app_error {
                    b.failures.fetch_add(1, Ordering::Relaxed);
                    b.record(false, &format!("HTTP {}", st.as_u16()));
                } else {
                    b.record(true, "");
                }
                return (resp, Some(b.addr));
            }
            Forwarded::NotSent(why) => {
                // Never reached the master: safe to try the next one.
                b.failures.fetch_add(1, Ordering::Relaxed);
                b.record(false, &why);
                continue;
            }
            Forwarded::Failed(why) => {
                b.failures.fetch_add(1, Ordering::Relaxed);
                b.record(false, &why);
                return (
                    simple(
                        StatusCode::BAD_GATEWAY,
                        "text/plain",
                        format!("Bad Gateway: {why}\n"),
                    ),
                    Some(b.addr),
                );
            }
        }
    }
    let why = if saturated > 0 {
        "every master is busy; retry later"
    } else {
        "no master could be reached; retry later"
    };
    (unavailable(state, why), None)
}

enum Forwarded {
    Response(Resp),
    /// The request never reached the master (connect failure, or the connection closed
    /// before any response byte).
    NotSent(String),
    /// The master failed after it got the request.
    Failed(String),
}

async fn connect(
    state: &State,
    b: &Backend,
) -> Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>, String> {
    let stream = tokio::time::timeout(state.config.connect_timeout, TcpStream::connect(b.addr))
        .await
        .map_err(|_| "connect timeout".to_string())?
        .map_err(|e| format!("connect: {e}"))?;
    let _ = stream.set_nodelay(true);
    if b.tls {
        let cfg = state
            .client_tls
            .clone()
            .ok_or("no TLS client configuration")?;
        let name = match &state.config.backend_server_name {
            Some(n) => rustls::pki_types::ServerName::try_from(n.clone())
                .map_err(|e| format!("server name: {e}"))?,
            None => rustls::pki_types::ServerName::IpAddress(b.addr.ip().into()),
        };
        let tls = tokio::time::timeout(
            state.config.connect_timeout,
            tokio_rustls::TlsConnector::from(cfg).connect(name, stream),
        )
        .await
        .map_err(|_| "TLS handshake timeout".to_string())?
        .map_err(|e| format!("TLS: {e}"))?;
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        return Ok(send);
    }
    let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(send)
}

async fn forward(
    state: &State,
    b: &Backend,
    method: &hyper::Method,
    pq: &str,
    headers: &hyper::HeaderMap,
    body: Bytes,
) -> Forwarded {
    // A pooled connection may have been closed by the master meanwhile; then try a fresh one.
    for fresh in [false, true] {
        let mut send = match if fresh { None } else { b.take_idle() } {
            Some(s) => s,
            None => match connect(state, b).await {
                Ok(s) => s,
                Err(e) => return Forwarded::NotSent(e),
            },
        };
        let mut req = Request::new(Full::new(body.clone()));
        *req.method_mut() = method.clone();
        *req.uri_mut() = match pq.parse() {
            Ok(u) => u,
            Err(_) => return Forwarded::Failed("bad request URI".into()),
        };
        *req.headers_mut() = headers.clone();
        if !req.headers().contains_key(HOST) {
            if let Ok(v) = HeaderValue::from_str(&b.addr.to_string()) {
                req.headers_mut().insert(HOST, v);
            }
        }
        // One timer for the whole exchange: the response head and its body.
        enum Step {
            NotSent(hyper::Error),
            Body(hyper::Error),
            Done(hyper::http::response::Parts, Bytes),
        }
        let exchange = async {
            let resp = match send.send_request(req).await {
                Ok(r) => r,
                Err(e) => return Step::NotSent(e),
            };
            let (parts, body) = resp.into_parts();
            match body.collect().await {
                Ok(c) => Step::Done(parts, c.to_bytes()),
                Err(e) => Step::Body(e),
            }
        };
        let (mut parts, bytes) =
            match tokio::time::timeout(state.config.backend_timeout, exchange).await {
                Err(_) => return Forwarded::Failed("timeout waiting for the master".into()),
                Ok(Step::NotSent(e)) => {
                    // No response head arrived: hyper reports the request as not processed.
                    if !fresh {
                        continue;
                    }
                    return Forwarded::NotSent(format!("{e}"));
                }
                Ok(Step::Body(e)) => return Forwarded::Failed(format!("response body: {e}")),
                Ok(Step::Done(parts, bytes)) => (parts, bytes),
            };
        b.put_idle(send);
        parts.headers.remove(CONNECTION);
        parts.headers.remove("keep-alive");
        parts.headers.remove("transfer-encoding");
        return Forwarded::Response(Response::from_parts(parts, Full::new(bytes)));
    }
    Forwarded::NotSent("no connection".into())
}

/// Active health check: `GET /status/v1/simple` every interval.
async fn health_loop(state: Arc<State>, b: Arc<Backend>) {
    loop {
        let ok = check(&state, &b).await;
        match ok {
            Ok(()) => b.record(true, ""),
            Err(why) => {
                b.record(false, &format!("health check: {why}"));
                b.drop_idle();
            }
        }
        tokio::time::sleep(state.config.check_interval).await;
    }
}

async fn check(state: &State, b: &Backend) -> Result<(), String> {
    let fut = async {
        let mut send = connect(state, b).await?;
        let req = Request::get("/status/v1/simple")
            .header(HOST, b.addr.to_string())
            .body(Full::new(Bytes::new()))
            .map_err(|e| e.to_string())?;
        let resp = send.send_request(req).await.map_err(|e| e.to_string())?;
        if resp.status() != StatusCode::OK {
            return Err(format!("HTTP {}", resp.status().as_u16()));
        }
        Ok(())
    };
    tokio::time::timeout(state.config.check_timeout, fut)
        .await
        .map_err(|_| "timeout".to_string())?
}

/// Reloads certificates, CA and CRL when they change; open connections keep going.
async fn reload_loop(state: Arc<State>) {
    let mut last = tls::stamp(&state.config.tls);
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let now = tls::stamp(&state.config.tls);
        if now == last {
            continue;
        }
        match tls::Tls::load(&state.config.tls) {
            Ok(t) => {
                if let Ok(mut w) = state.tls.write() {
                    *w = t;
                }
                state.tls_generation.fetch_add(1, Ordering::SeqCst);
                eprintln!("troupe front: certificates or CRL changed; reloaded");
                last = now;
            }
            Err(e) => eprintln!("troupe front: cannot reload TLS files: {e}"),
        }
    }
}
