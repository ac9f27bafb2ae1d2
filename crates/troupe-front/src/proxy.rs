//! Listeners, TLS, the proxying itself, health checks, reloads and drain.

use crate::backend::{order, Backend};
use crate::{status, tls, upstream, BoxError, State};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, HOST};
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
    let Ok(local) = stream.local_addr() else {
        return;
    };
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
    let path = req.uri().path();
    if path == "/troupe/status" || path == "/metrics" {
        let metrics = path == "/metrics";
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
            if metrics {
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
    let (parts, body) = req.into_parts();
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
    // The request the masters see, written once (reused by retries): the client's headers
    // less hop-by-hop and identity ones, then the identity from our TLS layer only.
    let head_request = parts.method == hyper::Method::HEAD;
    let pq = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let mut request = Vec::with_capacity(512 + body.len());
    upstream::write_head(&mut request, parts.method.as_str(), pq);
    for (name, value) in parts.headers.iter() {
        let n = name.as_str();
        if IDENTITY_HEADERS.contains(&n)
            || upstream::HOP_BY_HOP.contains(&n)
            || n == "content-length"
            || n == "expect"
            || n == "x-forwarded-for"
        {
            continue;
        }
        upstream::write_header(&mut request, n.as_bytes(), value.as_bytes());
    }
    if !parts.headers.contains_key(HOST) {
        upstream::write_header(&mut request, b"host", client.local.as_bytes());
    }
    if !body.is_empty()
        || matches!(
            parts.method,
            hyper::Method::POST | hyper::Method::PUT | hyper::Method::PATCH
        )
    {
        upstream::write_header(
            &mut request,
            b"content-length",
            body.len().to_string().as_bytes(),
        );
    }
    let verify = client.verify(state);
    upstream::write_header(&mut request, b"x-client-verify", verify.as_bytes());
    if verify == "SUCCESS" {
        if let Some(dn) = &client.dn {
            upstream::write_header(&mut request, b"x-client-dn", dn.as_bytes());
        }
        if let Some(p) = &client.cert_header {
            upstream::write_header(&mut request, b"x-client-cert", p.as_bytes());
        }
    }
    upstream::write_header(&mut request, b"x-forwarded-for", client.peer_ip.as_bytes());
    request.extend_from_slice(b"\r\n");
    request.extend_from_slice(&body);
    drop(body);
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
        let r = forward(state, &b, &request, head_request).await;
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

async fn connect(state: &State, b: &Backend) -> Result<upstream::Conn, String> {
    let stream = tokio::time::timeout(state.config.connect_timeout, TcpStream::connect(b.addr))
        .await
        .map_err(|_| "connect timeout".to_string())?
        .map_err(|e| format!("connect: {e}"))?;
    let _ = stream.set_nodelay(true);
    if !b.tls {
        return Ok(upstream::Conn::new(Box::new(stream)));
    }
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
    Ok(upstream::Conn::new(Box::new(tls)))
}

async fn forward(state: &State, b: &Backend, request: &[u8], head_request: bool) -> Forwarded {
    // A pooled connection may have been closed by the master meanwhile; then try a fresh one.
    for fresh in [false, true] {
        let (mut conn, pooled) = match if fresh { None } else { b.take_idle() } {
            Some(c) => (c, true),
            None => match connect(state, b).await {
                Ok(c) => (c, false),
                Err(e) => return Forwarded::NotSent(e),
            },
        };
        // One timer for the whole exchange: the response head and its body.
        let r = tokio::time::timeout(
            state.config.backend_timeout,
            conn.exchange(request, head_request),
        )
        .await;
        let (resp, keep) = match r {
            Err(_) => return Forwarded::Failed("timeout waiting for the master".into()),
            Ok(Err(upstream::Error::NoResponse(e))) => {
                if pooled {
                    continue;
                }
                return Forwarded::NotSent(e);
            }
            Ok(Err(upstream::Error::Broken(e))) => return Forwarded::Failed(e),
            Ok(Ok(x)) => x,
        };
        if keep {
            b.put_idle(conn);
        }
        let mut headers = resp.headers;
        for h in upstream::HOP_BY_HOP {
            headers.remove(h);
        }
        if !head_request && resp.status != 304 {
            // The body is whole; the server side states its length.
            headers.remove(CONTENT_LENGTH);
        }
        let mut out = Response::new(Full::new(resp.body));
        *out.status_mut() = StatusCode::from_u16(resp.status).unwrap_or(StatusCode::BAD_GATEWAY);
        *out.headers_mut() = headers;
        return Forwarded::Response(out);
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
        let mut conn = connect(state, b).await?;
        let mut req = Vec::with_capacity(128);
        upstream::write_head(&mut req, "GET", "/status/v1/simple");
        upstream::write_header(&mut req, b"host", b.addr.to_string().as_bytes());
        upstream::write_header(&mut req, b"connection", b"close");
        req.extend_from_slice(b"\r\n");
        let (resp, _) = conn
            .exchange(&req, false)
            .await
            .map_err(|e| e.to_string())?;
        if resp.status != 200 {
            return Err(format!("HTTP {}", resp.status));
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
