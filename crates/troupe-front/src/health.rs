//! The front's own health: `GET /troupe/health` says whether this front can serve (it is not
//! draining and at least one master is up), answered by the front itself, to any client,
//! with a one-line text and no secrets. Answered on the TLS listeners, and on the optional
//! plain-HTTP `health_listen` address (meant for loopback: VRRP checks speak plain HTTP),
//! which serves that path only.

use crate::respond::{simple, Resp};
use crate::{BoxError, State};
use hyper::header::{HeaderValue, ALLOW, CACHE_CONTROL};
use hyper::service::service_fn;
use hyper::{Method, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

pub(crate) const PATH: &str = "/troupe/health";

/// Connections the health listener serves at once; more are closed at accept.
const MAX_CONNECTIONS: usize = 32;
/// How long one connection to the health listener may stay open.
const CONNECTION_LIFETIME: Duration = Duration::from_secs(10);
/// How long a client of the health listener may take to send its request head.
const HEADER_TIMEOUT: Duration = Duration::from_secs(2);

/// Whether the front can serve, and the line that says so.
pub fn verdict(state: &State) -> (bool, String) {
    if state.draining.load(Ordering::SeqCst) {
        return (false, "draining".into());
    }
    let backends = state.backends();
    let up = backends.iter().filter(|b| b.is_up()).count();
    if up == 0 {
        return (false, "no master is up".into());
    }
    (true, format!("ok: {up} of {} masters up", backends.len()))
}

pub(crate) fn response(state: &State, method: &Method) -> Resp {
    if method != Method::GET && method != Method::HEAD {
        let mut r = simple(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "Method Not Allowed: GET or HEAD\n",
        );
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let (ok, line) = verdict(state);
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut r = simple(status, "text/plain", format!("{line}\n"));
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Binds `addr` and serves the health path there (everything else 404) until aborted.
pub(crate) async fn listen(
    state: Arc<State>,
    addr: SocketAddr,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), BoxError> {
    let l = TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr} (health_listen): {e}"))?;
    let bound = l.local_addr()?;
    tracing::info!("health on http://{bound}{PATH}");
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = l.accept().await else {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            };
            // Over the limit: close at once rather than queue.
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                continue;
            };
            let state = state.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let r = if req.uri().path() == PATH {
                        response(&state, req.method())
                    } else {
                        simple(
                            StatusCode::NOT_FOUND,
                            "text/plain",
                            "Not Found: only /troupe/health here\n",
                        )
                    };
                    async move { Ok::<_, Infallible>(r) }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(HEADER_TIMEOUT)
                    .max_buf_size(8192)
                    .serve_connection(TokioIo::new(stream), svc);
                let _ = tokio::time::timeout(CONNECTION_LIFETIME, conn).await;
                drop(slot);
            });
        }
    });
    Ok((bound, task))
}
