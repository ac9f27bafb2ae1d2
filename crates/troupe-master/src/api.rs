//! The HTTP server and the Puppet v3 / CA v1 / status endpoints.

use crate::files::{self, Options};
use crate::pool::Job;
use crate::{auth, tls, BoxError, Identity, State};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{json, Value as J};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::net::TcpListener;
use troupe_eval::code::Environment;

type Resp = Response<Full<Bytes>>;

/// The largest request body accepted (reports and catalog requests with big fact sets).
const MAX_BODY: usize = 64 * 1024 * 1024;

pub async fn serve(state: Arc<State>) -> Result<(), BoxError> {
    let listener = TcpListener::bind(state.config.listen).await?;
    let addr = listener.local_addr()?;
    let tls = if state.config.plain_http {
        None
    } else {
        Some(Arc::new(RwLock::new(tls::server_config(&state.config)?)))
    };
    eprintln!(
        "troupe master: listening on {} ({}), code in {}, {} compile workers",
        addr,
        if tls.is_some() { "https" } else { "http" },
        state.config.codedir.display(),
        state.pool.workers
    );
    if let Some(tls_cfg) = &tls {
        tokio::spawn(reload_loop(state.clone(), tls_cfg.clone()));
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    eprintln!("troupe master: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = term.recv() => {
                eprintln!("troupe master: SIGTERM, stopping");
                return Ok(());
            }
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        let Ok(slot) = state.connection_slots.clone().try_acquire_owned() else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _slot = slot;
            match tls {
                Some(cfg) => {
                    let current = match cfg.read() {
                        Ok(c) => c.clone(),
                        Err(_) => return,
                    };
                    let acceptor = tokio_rustls::TlsAcceptor::from(current);
                    let Ok(Ok(s)) =
                        tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream))
                            .await
                    else {
                        return;
                    };
                    let peer_cert = Arc::new(TlsPeer {
                        ident: tls_identity(&s),
                        judged_at: AtomicU64::new(state.tls_generation.load(Ordering::SeqCst)),
                        revoked: AtomicBool::new(false),
                    });
                    serve_conn(TokioIo::new(s), state, peer, peer_cert).await
                }
                None => {
                    let anonymous = Arc::new(TlsPeer {
                        ident: Identity::default(),
                        judged_at: AtomicU64::new(0),
                        revoked: AtomicBool::new(false),
                    });
                    serve_conn(TokioIo::new(stream), state, peer, anonymous).await
                }
            }
        });
    }
}

/// Keeps the ssldir in step with the CA and rebuilds the TLS configuration when the
/// certificates or the CRL change, so revocations apply without a restart.
async fn reload_loop(state: Arc<State>, cfg: Arc<RwLock<Arc<rustls::ServerConfig>>>) {
    let mut last = tls::stamp(&state.config);
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        if let Some(ca) = state.ca.clone() {
            let config = state.config.clone();
            let r = tokio::task::spawn_blocking(move || {
                tls::sync_from_ca(&config, &ca).map_err(|e| e.to_string())
            })
            .await;
            if let Ok(Err(e)) = r {
                eprintln!("troupe master: cannot sync the CA files: {e}");
            }
        }
        let now = tls::stamp(&state.config);
        if now != last {
            match tls::server_config(&state.config) {
                Ok(c) => {
                    if let Ok(mut w) = cfg.write() {
                        *w = c;
                    }
                    let crl =
                        std::fs::read_to_string(tls::paths(&state.config).crl).unwrap_or_default();
                    if let Ok(mut w) = state.crl.write() {
                        *w = Arc::from(crl);
                    }
                    state.tls_generation.fetch_add(1, Ordering::SeqCst);
                    eprintln!("troupe master: TLS certificates or CRL changed; reloaded");
                    last = now;
                }
                Err(e) => eprintln!("troupe master: cannot reload TLS: {e}"),
            }
        }
    }
}

fn tls_identity(s: &tokio_rustls::server::TlsStream<tokio::net::TcpStream>) -> Identity {
    let (_, conn) = s.get_ref();
    let Some(cert) = conn.peer_certificates().and_then(|c| c.first()) else {
        return Identity::default();
    };
    Identity {
        certname: troupe_ca::cert_cn(cert.as_ref()),
        cert: Some(cert.as_ref().to_vec()),
    }
}

async fn serve_conn<I>(io: I, state: Arc<State>, peer: SocketAddr, tls_peer: Arc<TlsPeer>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let svc = service_fn(move |req| {
        let state = state.clone();
        let tls_peer = tls_peer.clone();
        async move { Ok::<_, Infallible>(handle(state, peer, &tls_peer, req).await) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30))
        .keep_alive(true)
        .serve_connection(io, svc)
        .await;
}

/// Identity from a front's headers, honoured only from a trusted proxy address.
fn header_identity(state: &State, peer: &SocketAddr, req: &Request<Incoming>) -> Option<Identity> {
    let ip = peer.ip().to_canonical();
    if !state
        .config
        .trusted_proxies
        .iter()
        .any(|t| t.to_canonical() == ip)
    {
        return None;
    }
    let h = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    // From a trusted proxy the headers are the only identity: without them the client is
    // anonymous, never the proxy's own TLS certificate.
    let Some(verify) = h("x-client-verify") else {
        return Some(Identity::default());
    };
    if verify != "SUCCESS" {
        return Some(Identity::default());
    }
    let certname = h("x-client-dn").and_then(|dn| dn_cn(&dn));
    let cert = h("x-client-cert").and_then(|pem| {
        let pem = percent_encoding::percent_decode_str(&pem)
            .decode_utf8_lossy()
            .to_string();
        let (_, p) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).ok()?;
        Some(p.contents)
    });
    Some(Identity { certname, cert })
}

/// A connection's client certificate and its standing against the CRL.
#[derive(Debug)]
struct TlsPeer {
    ident: Identity,
    /// The reload generation it was last judged at.
    judged_at: AtomicU64,
    revoked: AtomicBool,
}

/// The TLS identity, judged again against the current CRL once after each reload (keep-alive
/// connections outlive revocations).
fn current_tls_identity(state: &State, peer: &TlsPeer) -> Identity {
    let Some(der) = &peer.ident.cert else {
        return Identity::default();
    };
    let now = state.tls_generation.load(Ordering::SeqCst);
    if peer.judged_at.load(Ordering::SeqCst) != now {
        let crl = state
            .crl
            .read()
            .map(|c| c.clone())
            .unwrap_or_else(|_| Arc::from(""));
        peer.revoked
            .store(troupe_ca::is_revoked(der, &crl), Ordering::SeqCst);
        peer.judged_at.store(now, Ordering::SeqCst);
    }
    if peer.revoked.load(Ordering::SeqCst) {
        Identity::default()
    } else {
        peer.ident.clone()
    }
}

/// The CN of `CN=node1,O=x`, `/CN=node1/O=x` or `O=x, CN=node1`.
fn dn_cn(dn: &str) -> Option<String> {
    dn.split([',', '/'])
        .map(str::trim)
        .find_map(|p| p.strip_prefix("CN=").or_else(|| p.strip_prefix("cn=")))
        .map(str::to_string)
        .filter(|s| !s.is_empty())
}

fn base(status: StatusCode, content_type: Option<&str>, body: impl Into<Bytes>) -> Resp {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    if let Some(ct) = content_type {
        if let Ok(v) = HeaderValue::from_str(ct) {
            r.headers_mut().insert(CONTENT_TYPE, v);
        }
    }
    r.headers_mut()
        .insert("X-Puppet-Version", HeaderValue::from_static("7.23.0"));
    r.headers_mut().insert(
        "X-Content-Type-Options",
        HeaderValue::from_static("nosniff"),
    );
    r
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Resp {
    base(status, Some("text/plain"), body)
}

fn json_resp(status: StatusCode, v: &J) -> Resp {
    base(
        status,
        Some("application/json;charset=utf-8"),
        v.to_string(),
    )
}

/// Puppet's error body: `{"message":"<Prefix>: <text>","issue_kind":...}`.
fn error(status: StatusCode, msg: &str, kind: &str) -> Resp {
    let prefix = match status.as_u16() {
        400 => "Bad Request",
        403 => "Not Authorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        415 => "Unsupported Media Type",
        503 => "Service Unavailable",
        _ => "Server Error",
    };
    json_resp(
        status,
        &json!({"message": format!("{prefix}: {msg}"), "issue_kind": kind}),
    )
}

fn parse_pairs(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (form_decode(k), form_decode(v))
        })
        .collect()
}

fn form_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .to_string()
}

fn param<'a>(q: &'a [(String, String)], k: &str) -> Option<&'a str> {
    q.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str())
}

/// The largest CSR accepted (a 4096-bit RSA CSR with extensions is a few KiB).
const MAX_CSR: usize = 64 * 1024;

/// How long a client may take to send a request body.
const BODY_TIMEOUT: Duration = Duration::from_secs(120);

async fn body_bytes(req: Request<Incoming>) -> Result<Bytes, String> {
    body_limited(req, MAX_BODY).await
}

async fn body_limited(req: Request<Incoming>, limit: usize) -> Result<Bytes, String> {
    match tokio::time::timeout(BODY_TIMEOUT, Limited::new(req.into_body(), limit).collect()).await {
        Ok(Ok(c)) => Ok(c.to_bytes()),
        Ok(Err(e)) => Err(format!("cannot read the request body: {e}")),
        Err(_) => Err("the request body did not arrive in time".into()),
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| e.to_string())
}

async fn handle(
    state: Arc<State>,
    peer: SocketAddr,
    tls_peer: &TlsPeer,
    req: Request<Incoming>,
) -> Resp {
    let ident = match header_identity(&state, &peer, &req) {
        Some(i) => i,
        None => current_tls_identity(&state, tls_peer),
    };
    let method = req.method().as_str().to_string();
    let raw_path = req.uri().path().to_string();
    let path = percent_encoding::percent_decode_str(&raw_path)
        .decode_utf8_lossy()
        .to_string();
    let query = parse_pairs(req.uri().query().unwrap_or(""));
    if !auth::allowed(&method, &path, &ident) {
        return base(
            StatusCode::FORBIDDEN,
            None,
            format!(
                "Forbidden request: {path} (method :{}). Please see the server logs for details.",
                method.to_lowercase()
            ),
        );
    }
    if let Some(rest) = path.strip_prefix("/puppet-ca/v1/") {
        return ca_route(&state, &method, rest, &query, req).await;
    }
    if let Some(rest) = path.strip_prefix("/puppet/v3/") {
        return v3_route(&state, &ident, &method, rest, query, req).await;
    }
    if let Some(rest) = path.strip_prefix("/status/v1/") {
        return status_route(&state, rest);
    }
    error(
        StatusCode::NOT_FOUND,
        &format!("No route for {method} {path}"),
        "HANDLER_NOT_FOUND",
    )
}

fn status_route(state: &State, rest: &str) -> Resp {
    if rest == "simple" || rest.starts_with("simple/") {
        return base(StatusCode::OK, Some("text/plain;charset=utf-8"), "running");
    }
    if rest == "services" || rest.starts_with("services") {
        let s = &state.pool.stats;
        let done = s.completed.load(Ordering::SeqCst) + s.failed.load(Ordering::SeqCst);
        let avg = if done > 0 {
            s.total_us.load(Ordering::SeqCst) as f64 / done as f64 / 1000.0
        } else {
            0.0
        };
        let mut services = json!({
            "master": {
                "service_version": env!("CARGO_PKG_VERSION"),
                "service_status_version": 1,
                "detail_level": "info",
                "state": "running",
                "status": {
                    "uptime_seconds": state.started.elapsed().as_secs(),
                    "compile_pool": {
                        "workers": state.pool.workers,
                        "busy": s.busy.load(Ordering::SeqCst),
                        "queued": s.queued.load(Ordering::SeqCst),
                        "queue_limit": state.pool.queue_limit,
                        "completed": s.completed.load(Ordering::SeqCst),
                        "failed": s.failed.load(Ordering::SeqCst),
                        "rejected": s.rejected.load(Ordering::SeqCst),
                        "average_compile_ms": avg,
                    }
                }
            },
            "status-service": {"service_version": env!("CARGO_PKG_VERSION"), "service_status_version": 1, "detail_level": "info", "state": "running", "status": {}},
        });
        if state.ca.is_some() {
            services["ca"] = json!({"service_version": env!("CARGO_PKG_VERSION"), "service_status_version": 1, "detail_level": "info", "state": "running", "status": {}});
        }
        return json_resp(StatusCode::OK, &services);
    }
    error(
        StatusCode::NOT_FOUND,
        "No such status service",
        "HANDLER_NOT_FOUND",
    )
}

fn ca_err(e: troupe_ca::CaError) -> Resp {
    text(
        StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        e.message,
    )
}

async fn ca_route(
    state: &State,
    method: &str,
    rest: &str,
    query: &[(String, String)],
    req: Request<Incoming>,
) -> Resp {
    let Some(ca) = state.ca.clone() else {
        return text(StatusCode::NOT_FOUND, "Not Found: this master runs no CA");
    };
    let (kind, name) = match rest.split_once('/') {
        Some((k, n)) => (k.to_string(), n.to_string()),
        None => (rest.to_string(), String::new()),
    };
    match (method, kind.as_str()) {
        ("GET", "certificate") => {
            let r = blocking(move || {
                if name == "ca" {
                    ca.ca_cert_pem().map(Some)
                } else {
                    Ok(ca.cert_pem(&name).map(|c| (c, name)).map(|(c, _)| c))
                }
            })
            .await;
            match r {
                Ok(Ok(Some(pem))) => text(StatusCode::OK, pem),
                Ok(Ok(None)) => text(
                    StatusCode::NOT_FOUND,
                    format!(
                        "Could not find certificate {}",
                        rest.trim_start_matches("certificate/")
                    ),
                ),
                Ok(Err(e)) => ca_err(e),
                Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, e),
            }
        }
        ("GET", "certificate_revocation_list") => match blocking(move || ca.crl_pem()).await {
            Ok(Ok(pem)) => text(StatusCode::OK, pem),
            Ok(Err(e)) => ca_err(e),
            Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, e),
        },
        ("GET", "certificate_request") => match ca.csr_pem(&name) {
            Some(pem) => text(StatusCode::OK, pem),
            None => text(
                StatusCode::NOT_FOUND,
                format!("Could not find certificate_request {name}"),
            ),
        },
        ("PUT", "certificate_request") => {
            let body = match body_limited(req, MAX_CSR).await {
                Ok(b) => b,
                Err(e) => return text(StatusCode::BAD_REQUEST, e),
            };
            let pem = String::from_utf8_lossy(&body).to_string();
            match blocking(move || ca.submit_csr(&name, &pem)).await {
                Ok(Ok(_)) => text(StatusCode::OK, ""),
                Ok(Err(e)) => ca_err(e),
                Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, e),
            }
        }
        ("GET", "certificate_status") => match blocking(move || ca.status(&name)).await {
            Ok(Ok(Some(v))) => json_resp(StatusCode::OK, &v),
            Ok(Ok(None)) => text(StatusCode::NOT_FOUND, "Invalid certificate subject."),
            Ok(Err(e)) => ca_err(e),
            Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, e),
        },
        ("PUT", "certificate_status") => {
            let body = match body_bytes(req).await {
                Ok(b) => b,
                Err(e) => return text(StatusCode::BAD_REQUEST, e),
            };
            if body.is_empty() {
                return text(StatusCode::BAD_REQUEST, "Empty request body.");
            }
            let Ok(v) = serde_json::from_slice::<J>(&body) else {
                return text(StatusCode::BAD_REQUEST, "Request body is not JSON.");
            };
            let Some(desired) = v
                .get("desired_state")
                .and_then(J::as_str)
                .map(str::to_string)
            else {
                return text(
                    StatusCode::BAD_REQUEST,
                    "Missing required parameter \"desired_state\"",
                );
            };
            let ttl = match v.get("cert_ttl") {
                None => None,
                Some(J::Number(n)) if n.is_i64() => n.as_i64(),
                Some(other) => {
                    return text(
                        StatusCode::BAD_REQUEST,
                        format!(
                            "cert_ttl specified for host {name} must be an integer, not {other}"
                        ),
                    )
                }
            };
            let n2 = name.clone();
            let r = blocking(move || {
                if ca.status(&n2)?.is_none() {
                    return Err(troupe_ca::CaError { status: 404, message: "Invalid certificate subject.".into() });
                }
                match desired.as_str() {
                    "signed" => ca.sign(&n2, ttl).map(|_| ()),
                    "revoked" => ca.revoke(std::slice::from_ref(&n2)),
                    other => Err(troupe_ca::CaError {
                        status: 400,
                        message: format!("State {other} invalid; Must specify desired state of 'signed' or 'revoked' for host {n2}."),
                    }),
                }
            })
            .await;
            match r {
                Ok(Ok(())) => text(StatusCode::NO_CONTENT, ""),
                Ok(Err(e)) => ca_err(e),
                Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, e),
            }
        }
        ("DELETE", "certificate_status") => match blocking(move || ca.delete(&name)).await {
            Ok(Ok(true)) => text(StatusCode::NO_CONTENT, ""),
            Ok(Ok(false)) => text(StatusCode::NOT_FOUND, "Invalid certificate subject."),
            Ok(Err(e)) => ca_err(e),
            Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, e),
        },
        ("GET", "certificate_statuses") => {
            let state_filter = param(query, "state")
                .filter(|s| matches!(*s, "requested" | "signed" | "revoked"))
                .map(str::to_string);
            match blocking(move || ca.statuses(state_filter.as_deref())).await {
                Ok(Ok(v)) => json_resp(StatusCode::OK, &J::Array(v)),
                Ok(Err(e)) => ca_err(e),
                Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, e),
            }
        }
        ("PUT", "clean") => {
            let body = match body_bytes(req).await {
                Ok(b) => b,
                Err(e) => return text(StatusCode::BAD_REQUEST, e),
            };
            let Ok(v) = serde_json::from_slice::<J>(&body) else {
                return text(StatusCode::BAD_REQUEST, "Request body is not JSON.");
            };
            if v.get("async").and_then(J::as_bool) == Some(true) {
                return text(
                    StatusCode::BAD_REQUEST,
                    "Async mode is not currently supported.",
                );
            }
            let Some(names) = v.get("certnames").and_then(J::as_array) else {
                return text(StatusCode::BAD_REQUEST, "Missing required key: 'certnames'. Please supply the list of certs you want to clean.");
            };
            let names: Vec<String> = names
                .iter()
                .filter_map(|n| n.as_str().map(str::to_string))
                .collect();
            match blocking(move || ca.clean(&names)).await {
                Ok(Ok(msg)) => text(StatusCode::OK, msg),
                Ok(Err(e)) => text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("Error while cleaning certs: {}", e.message),
                ),
                Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, e),
            }
        }
        ("GET", "expirations") => match blocking(move || ca.expirations()).await {
            Ok(Ok(v)) => json_resp(StatusCode::OK, &v),
            Ok(Err(e)) => ca_err(e),
            Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, e),
        },
        _ => text(StatusCode::NOT_FOUND, "Not Found"),
    }
}

async fn v3_route(
    state: &Arc<State>,
    ident: &Identity,
    method: &str,
    rest: &str,
    query: Vec<(String, String)>,
    req: Request<Incoming>,
) -> Resp {
    let (kind, name) = match rest.split_once('/') {
        Some((k, n)) => (k.to_string(), n.to_string()),
        None => (rest.to_string(), String::new()),
    };
    match (method, kind.as_str()) {
        ("GET" | "POST", "catalog") => {
            let accept_rich = req
                .headers()
                .get("accept")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|a| a.contains("application/vnd.puppet.rich+json"));
            let params = if method == "POST" {
                match body_bytes(req).await {
                    Ok(b) => {
                        let mut p = parse_pairs(&String::from_utf8_lossy(&b));
                        p.extend(query);
                        p
                    }
                    Err(e) => return error(StatusCode::BAD_REQUEST, &e, "RUNTIME_ERROR"),
                }
            } else {
                query
            };
            catalog(state, ident, &name, &params, accept_rich).await
        }
        ("GET", "node") => {
            let env = param(&query, "environment").unwrap_or("production");
            json_resp(StatusCode::OK, &json!({"name": name, "environment": env}))
        }
        ("PUT", "report") => {
            let body = match body_bytes(req).await {
                Ok(b) => b,
                Err(e) => return error(StatusCode::BAD_REQUEST, &e, "RUNTIME_ERROR"),
            };
            report(state, &name, body).await
        }
        ("GET", "file_metadatas") | ("GET", "file_metadata") | ("GET", "file_content") => {
            file_route(state.clone(), kind, name, query).await
        }
        ("GET", "environments") => environments(state),
        _ => error(
            StatusCode::NOT_FOUND,
            &format!("No route for {method} /puppet/v3/{rest}"),
            "HANDLER_NOT_FOUND",
        ),
    }
}

/// Puppet's environment names: `[a-z0-9_]+` (so never `.`, `.git` or a path).
fn env_exists(state: &State, env: &str) -> bool {
    !env.is_empty()
        && env
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && state.compiler.environmentpath.join(env).is_dir()
}

async fn catalog(
    state: &Arc<State>,
    ident: &Identity,
    name: &str,
    params: &[(String, String)],
    rich: bool,
) -> Resp {
    let env = param(params, "environment")
        .unwrap_or("production")
        .to_string();
    if !env_exists(state, &env) {
        return error(
            StatusCode::NOT_FOUND,
            &format!("Could not find environment '{env}'"),
            "RUNTIME_ERROR",
        );
    }
    // The form is decoded once by the form parser; the facts value is escaped once more.
    let facts = match param(params, "facts") {
        Some(f) => {
            let once = form_decode(f);
            if once.trim_start().starts_with('{') {
                once
            } else {
                f.to_string()
            }
        }
        None => format!("{{\"name\":\"{name}\",\"values\":{{}}}}"),
    };
    let facts = if facts.trim_start().starts_with('{') {
        facts
    } else {
        form_decode(&facts)
    };
    let extensions = ident
        .cert
        .as_deref()
        .map(troupe_ca::trusted_extensions)
        .map(J::Object)
        .unwrap_or_else(|| json!({}));
    let (tx, rx) = tokio::sync::oneshot::channel();
    // Dropped with this request's future (the agent went away): the compile is cancelled.
    let flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let cancel = CancelOnDrop(Some(flag.clone()));
    let job = Job {
        environment: env.clone(),
        certname: name.to_string(),
        facts,
        extensions,
        server_facts: vec![
            ("servername".into(), state.config.certname.clone()),
            ("serverip".into(), state.config.listen.ip().to_string()),
        ],
        reply: tx,
        cancel: flag,
    };
    if !state.pool.submit(job) {
        let mut r = error(
            StatusCode::SERVICE_UNAVAILABLE,
            "all compile workers are busy and the queue is full; retry later",
            "RUNTIME_ERROR",
        );
        if let Ok(v) = HeaderValue::from_str(&state.config.retry_after.to_string()) {
            r.headers_mut().insert("Retry-After", v);
        }
        return r;
    }
    let answer = rx.await;
    cancel.disarm();
    match answer {
        Ok(Ok(catalog)) => base(
            StatusCode::OK,
            Some(if rich {
                "application/vnd.puppet.rich+json; charset=utf-8"
            } else {
                "application/json;charset=utf-8"
            }),
            catalog,
        ),
        Ok(Err(msg)) => error(StatusCode::INTERNAL_SERVER_ERROR, &msg, "RUNTIME_ERROR"),
        Err(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the compile worker died",
            "RUNTIME_ERROR",
        ),
    }
}

/// Sets the flag when dropped: a compile's cancellation when its request goes away.
struct CancelOnDrop(Option<Arc<std::sync::atomic::AtomicBool>>);

impl CancelOnDrop {
    /// Answered: nothing to cancel any more.
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(f) = &self.0 {
            f.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

/// Stores a report atomically as `<reportdir>/<node>/<time>-<transaction>.json`; a failure to
/// store is a 500, so the agent knows.
async fn report(state: &Arc<State>, name: &str, body: Bytes) -> Resp {
    let v: J = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("Could not intern from json: {e}"),
                "RUNTIME_ERROR",
            )
        }
    };
    let txn = v
        .get("transaction_uuid")
        .and_then(J::as_str)
        .unwrap_or("no-transaction")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect::<String>();
    if troupe_ca::valid_name(name).is_err() {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("Invalid node name '{name}'"),
            "RUNTIME_ERROR",
        );
    }
    let dir = state.config.reportdir.join(name);
    let r = blocking(move || -> std::io::Result<()> {
        std::fs::create_dir_all(&dir)?;
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let (days, sod) = (secs.div_euclid(86400), secs.rem_euclid(86400));
        let (y, m, d) = troupe_eval::time::civil_from_days(days);
        let file = dir.join(format!(
            "{y:04}{m:02}{d:02}{:02}{:02}{:02}-{txn}.json",
            sod / 3600,
            sod % 3600 / 60,
            sod % 60
        ));
        troupe_ca::write_atomic(&file, &body)
    })
    .await;
    match r {
        Ok(Ok(())) => json_resp(StatusCode::OK, &json!(["store"])),
        Ok(Err(e)) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("Could not store the report: {e}"),
            "RUNTIME_ERROR",
        ),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e, "RUNTIME_ERROR"),
    }
}

async fn file_route(
    state: Arc<State>,
    kind: String,
    mount: String,
    query: Vec<(String, String)>,
) -> Resp {
    let Some(env) = param(&query, "environment").map(str::to_string) else {
        return error(
            StatusCode::BAD_REQUEST,
            "An environment parameter must be specified",
            "RUNTIME_ERROR",
        );
    };
    if !env_exists(&state, &env) {
        return error(
            StatusCode::NOT_FOUND,
            &format!("Could not find environment '{env}'"),
            "RUNTIME_ERROR",
        );
    }
    let r = blocking(move || -> Result<Resp, String> {
        let denv = troupe_compiler::DiskEnv::open(&state.compiler, &env, &state.cache)?;
        let modules = denv.modules();
        let fallback = denv
            .modulepath()
            .iter()
            .find(|p| p.is_dir())
            .cloned()
            .unwrap_or_else(|| state.config.codedir.clone());
        let opts = Options::from_query(&query);
        let not_found = || {
            error(
                StatusCode::NOT_FOUND,
                &format!(
                    "Could not find {} {mount}",
                    if kind == "file_metadatas" {
                        "file_metadata"
                    } else {
                        kind.as_str()
                    }
                ),
                "RESOURCE_NOT_FOUND",
            )
        };
        let Some((bases, rest)) = files::bases(&mount, &modules) else {
            return Ok(not_found());
        };
        match kind.as_str() {
            "file_metadatas" => match files::search(&bases, &rest, &fallback, &opts) {
                Ok(Some(list)) => Ok(json_resp(StatusCode::OK, &J::Array(list))),
                Ok(None) => Ok(not_found()),
                Err(e) => Err(e.to_string()),
            },
            "file_metadata" => match files::find(&bases, &rest) {
                Some((_, full)) => files::metadata(&full, None, &opts)
                    .map(|m| json_resp(StatusCode::OK, &m))
                    .map_err(|e| e.to_string()),
                None => Ok(not_found()),
            },
            _ => match files::find(&bases, &rest) {
                Some((_, full)) if full.is_file() => std::fs::read(&full)
                    .map(|b| base(StatusCode::OK, Some("application/octet-stream"), b))
                    .map_err(|e| e.to_string()),
                _ => Ok(not_found()),
            },
        }
    })
    .await;
    match r {
        Ok(Ok(resp)) => resp,
        Ok(Err(e)) | Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e, "RUNTIME_ERROR"),
    }
}

fn environments(state: &State) -> Resp {
    let root = &state.compiler.environmentpath;
    let mut envs = serde_json::Map::new();
    let mut names: Vec<String> = std::fs::read_dir(root)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|n| env_exists(state, n))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    for n in names {
        if let Ok(e) = troupe_compiler::DiskEnv::open(&state.compiler, &n, &state.cache) {
            let mp: Vec<String> = e
                .modulepath()
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            envs.insert(
                n.clone(),
                json!({"settings": {"modulepath": mp, "manifest": e.manifest().display().to_string(), "environment_timeout": 0, "config_version": ""}}),
            );
        }
    }
    json_resp(
        StatusCode::OK,
        &json!({"search_paths": [root.display().to_string()], "environments": envs}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_give_their_cn() {
        assert_eq!(
            dn_cn("CN=node1.example.test").as_deref(),
            Some("node1.example.test")
        );
        assert_eq!(dn_cn("/CN=node1/O=x").as_deref(), Some("node1"));
        assert_eq!(dn_cn("O=x, CN=node2").as_deref(), Some("node2"));
        assert_eq!(dn_cn("O=x"), None);
    }

    #[test]
    fn forms_decode() {
        let p = parse_pairs("facts_format=application%2Fjson&facts=%257B%2522a%2522%253A1%257D&environment=production");
        assert_eq!(param(&p, "facts"), Some("%7B%22a%22%3A1%7D"));
        assert_eq!(
            form_decode(param(&p, "facts").unwrap_or_default()),
            "{\"a\":1}"
        );
    }
}
