//! Routing of the Puppet v3 / CA v1 / status endpoints, and Puppet's responses (the
//! connection side is `server`, identity `identity`, reports `reports`).

use crate::classify::{self, Classified};
use crate::files::{self, Options};
use crate::identity::{self, TlsPeer};
use crate::limits::{read_body, BodyError};
use crate::pool::Job;
use crate::respond::{base, error, form_decode, json_resp, text, Resp};
use crate::{auth, reports, validate, Identity, State};
use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Request, StatusCode};
use serde_json::{json, Value as J};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use troupe_eval::code::Environment;

/// The largest request body accepted (reports and catalog requests with big fact sets).
const MAX_BODY: usize = 64 * 1024 * 1024;

fn parse_pairs(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (form_decode(k), form_decode(v))
        })
        .collect()
}

fn param<'a>(q: &'a [(String, String)], k: &str) -> Option<&'a str> {
    q.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str())
}

/// The largest CSR accepted (a 4096-bit RSA CSR with extensions is a few KiB).
const MAX_CSR: usize = 64 * 1024;

/// The body of a request (catalog forms, CA administration), as text for a 4xx when it
/// cannot be read.
async fn body_bytes(state: &State, req: Request<Incoming>) -> Result<Bytes, String> {
    body_limited(state, req, MAX_BODY).await
}

async fn body_limited(
    state: &State,
    req: Request<Incoming>,
    limit: usize,
) -> Result<Bytes, String> {
    let timeout = Duration::from_secs(state.config.limits.body_timeout.max(1));
    read_body(req, limit, timeout)
        .await
        .map_err(|e| e.to_string())
}

fn with_retry_after(mut r: Resp, secs: u64) -> Resp {
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        r.headers_mut().insert("Retry-After", v);
    }
    r
}

/// The client's address for per-source limits: the front's `X-Forwarded-For` when this
/// connection is a trusted front, else the peer address.
fn client_source(peer: &SocketAddr, trusted: bool, req: &Request<Incoming>) -> String {
    let forwarded = trusted
        .then(|| req.headers().get("x-forwarded-for"))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .map(str::trim)
        .filter(|v| v.parse::<std::net::IpAddr>().is_ok());
    match forwarded {
        Some(f) => f.to_string(),
        None => peer.ip().to_canonical().to_string(),
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| e.to_string())
}

pub(crate) async fn handle(
    state: Arc<State>,
    peer: SocketAddr,
    tls_peer: &TlsPeer,
    req: Request<Incoming>,
) -> Resp {
    let (ident, trusted) = identity::of_request(&state, &peer, tls_peer, req.headers());
    let method = req.method().as_str().to_string();
    let raw_path = req.uri().path().to_string();
    let path = percent_encoding::percent_decode_str(&raw_path)
        .decode_utf8_lossy()
        .to_string();
    let query = parse_pairs(req.uri().query().unwrap_or(""));
    if let Some(rule) = auth::refusal(&method, &path, &ident) {
        tracing::warn!(
            node = ident.certname.as_deref(),
            peer = %client_source(&peer, trusted, &req),
            method = %method,
            path = %path,
            status = 403,
            rule = %rule,
            "403 Forbidden: {method} {path} for {}",
            ident.certname.as_deref().unwrap_or("a client without a certificate")
        );
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
        let source = client_source(&peer, trusted, &req);
        return ca_route(&state, &source, &method, rest, &query, req).await;
    }
    if let Some(rest) = path.strip_prefix("/puppet/v3/") {
        return v3_route(&state, &ident, &method, rest, query, req).await;
    }
    if let Some(rest) = path.strip_prefix("/status/v1/") {
        return status_route(&state, rest).await;
    }
    if let Some(rest) = path.strip_prefix("/puppet-admin-api/v1/") {
        return crate::admin::route(&state, &method, rest, &query);
    }
    error(
        StatusCode::NOT_FOUND,
        &format!("No route for {method} {path}"),
        "HANDLER_NOT_FOUND",
    )
}

async fn status_route(state: &Arc<State>, rest: &str) -> Resp {
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
        let versions = state.code_versions.clone();
        let versions = tokio::task::spawn_blocking(move || versions.all())
            .await
            .unwrap_or_default();
        let mut code_versions = serde_json::Map::new();
        let mut code_version_errors = serde_json::Map::new();
        for (env, v) in versions {
            match v {
                Ok(id) => {
                    code_versions.insert(env, J::String(id));
                }
                Err(e) => {
                    code_versions.insert(env.clone(), J::Null);
                    code_version_errors.insert(env, J::String(e));
                }
            }
        }
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
                        "replaced_workers": s.replaced.load(Ordering::SeqCst),
                        "average_compile_ms": avg,
                    },
                    "code_versions": code_versions,
                    "code_version_source": if state.code_versions.from_command() { "code_id_command" } else { "content" },
                    "reports": state.report_stats.status(),
                    "report_processors": state.report_processors,
                }
            },
            "status-service": {"service_version": env!("CARGO_PKG_VERSION"), "service_status_version": 1, "detail_level": "info", "state": "running", "status": {}},
        });
        if !code_version_errors.is_empty() {
            services["master"]["status"]["code_version_errors"] = J::Object(code_version_errors);
        }
        if let Some(pdb) = &state.puppetdb {
            services["master"]["status"]["puppetdb"] = pdb.status();
        }
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
    let pending_cap = e.is_pending_cap();
    // 503 `the CA store is unavailable: ...`: the pool's store (etcd) cannot be reached.
    let store_down = e.is_store_unavailable();
    let mut r = text(
        StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        e.message,
    );
    if pending_cap {
        // The queue of requests waiting for an administrator is full: try again later.
        r.headers_mut()
            .insert(hyper::header::RETRY_AFTER, HeaderValue::from_static("600"));
    } else if store_down {
        r.headers_mut()
            .insert(hyper::header::RETRY_AFTER, HeaderValue::from_static("30"));
    }
    r
}

async fn ca_route(
    state: &State,
    source: &str,
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
                    ca.try_cert_pem(&name)
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
            if let Err(wait) = state.limits.csr.check(source) {
                let msg = format!("Too many certificate requests from {source}; retry in {wait}s");
                tracing::warn!(node = %name, peer = source, status = 429, "{msg}");
                return with_retry_after(text(StatusCode::TOO_MANY_REQUESTS, msg), wait);
            }
            let timeout = Duration::from_secs(state.config.limits.body_timeout.max(1));
            let body = match read_body(req, MAX_CSR, timeout).await {
                Ok(b) => b,
                Err(e @ BodyError::TooLarge(_)) => {
                    return text(StatusCode::PAYLOAD_TOO_LARGE, e.to_string())
                }
                Err(e) => return text(StatusCode::BAD_REQUEST, e.to_string()),
            };
            let pem = String::from_utf8_lossy(&body).to_string();
            tracing::info!(
                node = %name,
                peer = source,
                "certificate request for {name} from {source}"
            );
            // The outcome is logged where it is decided: a client that gave up waiting drops
            // this future, not the signing, and the log still says how it ended.
            let peer = source.to_string();
            let submit = move || {
                let r = ca.submit_csr(&name, &pem);
                match &r {
                    Ok(false) => {
                        tracing::info!(node = %name, "the certificate request of {name} is pending")
                    }
                    Ok(true) => {}
                    Err(e) => tracing::warn!(
                        node = %name,
                        peer = %peer,
                        status = e.status,
                        "the certificate request of {name} is refused: {}",
                        e.message
                    ),
                }
                r
            };
            match blocking(submit).await {
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
            let body = match body_bytes(state, req).await {
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
            let body = match body_bytes(state, req).await {
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
    if matches!(kind.as_str(), "catalog" | "node" | "report" | "facts") {
        if let Err(e) = validate::node_name(&name) {
            return error(StatusCode::BAD_REQUEST, &e, "RUNTIME_ERROR");
        }
    }
    match (method, kind.as_str()) {
        ("GET" | "POST", "catalog") => {
            let accept_rich = req
                .headers()
                .get("accept")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|a| a.contains("application/vnd.puppet.rich+json"));
            let params = if method == "POST" {
                match body_bytes(state, req).await {
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
            if let Err(e) = validate::catalog_facts(&params) {
                return error(StatusCode::BAD_REQUEST, &e, "RUNTIME_ERROR");
            }
            catalog(state, ident, &name, &params, accept_rich).await
        }
        ("GET", "node") => node_object(state, &name, &query).await,
        ("PUT", "report") => reports::put(state, &name, req).await,
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

/// The catalog's content type: rich data when the agent accepts it.
fn catalog_type(rich: bool) -> &'static str {
    if rich {
        "application/vnd.puppet.rich+json; charset=utf-8"
    } else {
        "application/json;charset=utf-8"
    }
}

/// The node object: its environment, and with a classifier its classes and parameters (the
/// classifier's environment wins; the agent switches to it).
async fn node_object(state: &Arc<State>, name: &str, query: &[(String, String)]) -> Resp {
    let requested = param(query, "environment").unwrap_or("production");
    match classify::classify(state, name).await {
        Err(msg) => error(StatusCode::INTERNAL_SERVER_ERROR, &msg, "RUNTIME_ERROR"),
        Ok(Classified::Plain) => json_resp(
            StatusCode::OK,
            &json!({"name": name, "environment": requested}),
        ),
        Ok(Classified::Unknown) => error(
            StatusCode::NOT_FOUND,
            &format!("Could not find node {name}"),
            "RUNTIME_ERROR",
        ),
        Ok(Classified::Node(c)) => {
            let env = c.environment.as_deref().unwrap_or(requested);
            let mut o = serde_json::Map::new();
            o.insert("name".into(), json!(name));
            o.insert("environment".into(), json!(env));
            if !c.classes.is_null() {
                o.insert("classes".into(), c.classes.clone());
            }
            if !c.parameters.is_empty() {
                o.insert("parameters".into(), J::Object(c.parameters.clone()));
            }
            json_resp(StatusCode::OK, &J::Object(o))
        }
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
    let requested = param(params, "environment").unwrap_or("production");
    let (env, node) = match classify::classify(state, name).await {
        Err(msg) => return error(StatusCode::INTERNAL_SERVER_ERROR, &msg, "RUNTIME_ERROR"),
        Ok(Classified::Plain) => (requested.to_string(), Default::default()),
        Ok(Classified::Unknown) => {
            let msg = format!("Could not find node '{name}'; cannot compile");
            return error(StatusCode::INTERNAL_SERVER_ERROR, &msg, "RUNTIME_ERROR");
        }
        Ok(Classified::Node(c)) => {
            let env = c.environment.unwrap_or_else(|| requested.to_string());
            if env != requested
                && param(params, "check_environment") == Some("true")
                && env_exists(state, &env)
            {
                let (uuid, _) = crate::pool::uuid_and_version();
                let body = classify::empty_catalog(name, &env, &uuid);
                return base(StatusCode::OK, Some(catalog_type(rich)), body);
            }
            (env, c.node)
        }
    };
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
        None => match cached_facts(state, name).await {
            Ok(Some(f)) => f,
            Ok(None) => format!("{{\"name\":\"{name}\",\"values\":{{}}}}"),
            Err(msg) => return error(StatusCode::INTERNAL_SERVER_ERROR, &msg, "RUNTIME_ERROR"),
        },
    };
    let facts_sent = param(params, "facts").is_some();
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
        node,
        reply: tx,
        cancel: flag,
        store: match &state.puppetdb {
            Some(pdb) if state.config.storeconfigs => Some(crate::pool::StoreJob {
                pdb: pdb.clone(),
                transaction_uuid: param(params, "transaction_uuid").map(str::to_string),
                job_id: param(params, "job_id").map(str::to_string),
                facts_sent,
            }),
            _ => None,
        },
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
    let answer = match answer {
        Ok(Ok(catalog)) if state.code_versions.from_command() => {
            let versions = state.code_versions.clone();
            let env = env.clone();
            let id = tokio::task::spawn_blocking(move || versions.code_id(&env))
                .await
                .ok()
                .flatten();
            Ok(Ok(with_code_id(catalog, id.as_deref())))
        }
        other => other,
    };
    match answer {
        Ok(Ok(catalog)) => base(StatusCode::OK, Some(catalog_type(rich)), catalog),
        Ok(Err(msg)) => {
            tracing::error!(
                node = name,
                environment = %env,
                "the catalog of {name} in {env} failed: {msg}"
            );
            error(StatusCode::INTERNAL_SERVER_ERROR, &msg, "RUNTIME_ERROR")
        }
        Err(_) => {
            tracing::error!(node = name, environment = %env, "the compile worker died");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the compile worker died",
                "RUNTIME_ERROR",
            )
        }
    }
}

/// A catalog request without facts: with storeconfigs, the node's last facts (Puppet's
/// facts indirection with the PuppetDB terminus); otherwise none.
async fn cached_facts(state: &Arc<State>, name: &str) -> Result<Option<String>, String> {
    match &state.puppetdb {
        Some(pdb) if state.config.storeconfigs => {
            Ok(pdb.last_facts(name).await?.map(|f| f.to_string()))
        }
        _ => Ok(None),
    }
}

/// The catalog with its top-level `code_id` set (Puppet Server's, from `code_id_command`).
/// The first `"code_id":null` of the compact JSON text is the top-level key: the keys before
/// it (`tags`, `name`, `version`) hold only strings and numbers, whose quotes are escaped.
fn with_code_id(catalog: String, id: Option<&str>) -> String {
    const NULL: &str = "\"code_id\":null";
    match (id, catalog.find(NULL)) {
        (Some(id), Some(at)) => {
            let value = J::String(id.to_string()).to_string();
            let mut out = String::with_capacity(catalog.len() + value.len());
            out.push_str(&catalog[..at]);
            out.push_str("\"code_id\":");
            out.push_str(&value);
            out.push_str(&catalog[at + NULL.len()..]);
            out
        }
        _ => catalog,
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
                Some((jail, full)) => match files::metadata(&jail, &full, None, &opts) {
                    Ok(Some(m)) => Ok(json_resp(StatusCode::OK, &m)),
                    Ok(None) => Ok(not_found()),
                    Err(e) => Err(e.to_string()),
                },
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
                json!({"settings": {"modulepath": mp, "manifest": e.manifest().display().to_string(), "environment_timeout": timeout_json(e.timeout()), "config_version": ""}}),
            );
        }
    }
    json_resp(
        StatusCode::OK,
        &json!({"search_paths": [root.display().to_string()], "environments": envs}),
    )
}

/// An `environment_timeout` as `/puppet/v3/environments` shows it: seconds, or `"unlimited"`.
fn timeout_json(t: troupe_compiler::EnvironmentTimeout) -> J {
    match t {
        troupe_compiler::EnvironmentTimeout::Seconds(s) => J::from(s),
        troupe_compiler::EnvironmentTimeout::Unlimited => J::from("unlimited"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
