//! The front's own answers: the response type, plain answers, the 503 with `Retry-After`, and
//! a gauge held while something is in flight. Every other module builds its answers here.

use crate::State;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use std::sync::atomic::Ordering;

pub(crate) type Resp = Response<Full<Bytes>>;

/// Counts one unit in a gauge for as long as it lives (dropped futures included).
pub(crate) struct Gauge<'a>(&'a std::sync::atomic::AtomicUsize);

impl<'a> Gauge<'a> {
    pub(crate) fn new(g: &'a std::sync::atomic::AtomicUsize) -> Gauge<'a> {
        g.fetch_add(1, Ordering::SeqCst);
        Gauge(g)
    }
}

impl Drop for Gauge<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

pub(crate) fn simple(status: StatusCode, ct: &str, body: impl Into<Bytes>) -> Resp {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(ct) {
        r.headers_mut().insert(CONTENT_TYPE, v);
    }
    r
}

pub(crate) fn unavailable(state: &State, why: &str) -> Resp {
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
