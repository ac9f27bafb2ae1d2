//! The master's own answers: the response type with Puppet's headers (`X-Puppet-Version`),
//! plain text and JSON bodies, Puppet's error body, and form decoding of query strings and
//! bodies. The routes (`api`), reports and validation build their answers here.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use serde_json::{json, Value as J};

pub(crate) type Resp = Response<Full<Bytes>>;

pub(crate) fn base(status: StatusCode, content_type: Option<&str>, body: impl Into<Bytes>) -> Resp {
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

pub(crate) fn text(status: StatusCode, body: impl Into<Bytes>) -> Resp {
    base(status, Some("text/plain"), body)
}

pub(crate) fn json_resp(status: StatusCode, v: &J) -> Resp {
    base(
        status,
        Some("application/json;charset=utf-8"),
        v.to_string(),
    )
}

/// Puppet's error body: `{"message":"<Prefix>: <text>","issue_kind":...}`.
pub(crate) fn error(status: StatusCode, msg: &str, kind: &str) -> Resp {
    let prefix = match status.as_u16() {
        400 => "Bad Request",
        403 => "Not Authorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        507 => "Insufficient Storage",
        _ => "Server Error",
    };
    json_resp(
        status,
        &json!({"message": format!("{prefix}: {msg}"), "issue_kind": kind}),
    )
}

pub(crate) fn form_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .to_string()
}
