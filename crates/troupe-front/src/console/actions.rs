//! The console's requests: who may make them (`auth`), the page and the JSON state, and the
//! actions — `drain`, `disable`, `enable`, `weight` on a master, `sign` and `reject` on a
//! pending certificate request — from the page's form (`FORM_PATH`, with the token) or the JSON
//! API (`API_PATH`, `Content-Type: application/json`). Each action is logged with who made it.

use super::auth::{judge, same, same_origin, Caller};
use super::{forbidden, page, API_PATH, FORM_PATH, PATH};
use crate::backend::{MODE_DISABLED, MODE_DRAINED, MODE_ENABLED};
use crate::respond::{simple, Resp};
use crate::State;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CACHE_CONTROL, LOCATION};
use hyper::{Method, Request, StatusCode};
use serde_json::{json, Value as J};
use std::net::IpAddr;
use std::sync::Arc;

/// Largest body of a console post.
const MAX_BODY: usize = 16 * 1024;

/// What an administrator asked for.
#[derive(Debug, Default)]
pub struct Action {
    pub action: String,
    pub master: String,
    pub weight: Option<String>,
    pub certname: String,
}

fn header<'a>(req: &'a Request<Incoming>, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

fn no_store(mut r: Resp) -> Resp {
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Answers a console request. `cert`: the client's verified certificate (name, DER).
pub(crate) async fn handle(
    state: &Arc<State>,
    req: Request<Incoming>,
    peer: IpAddr,
    cert: Option<(&str, &[u8])>,
) -> Resp {
    let caller = judge(state, peer, cert);
    let path = req.uri().path().to_string();
    if !caller.admin {
        if req.method() == Method::POST {
            tracing::warn!(
                who = caller.who,
                path,
                "console: refused a post from {} (not an administrator)",
                caller.who
            );
        }
        return forbidden(
            "the pool console is for administrators only (an admin address, or a client certificate with pp_cli_auth)",
        );
    }
    let query = req.uri().query().unwrap_or("").to_string();
    match (req.method().clone(), path.as_str()) {
        (Method::GET | Method::HEAD, PATH) if !query.contains("format=json") => {
            let msg = form_value(&query, "msg");
            let span = if form_value(&query, "span").as_deref() == Some("hour") {
                super::history::Span::Hour
            } else {
                super::history::Span::Minutes
            };
            let ca = super::ca_summary(state).await;
            no_store(simple(
                StatusCode::OK,
                "text/html; charset=utf-8",
                page::html(state, span, &ca, msg.as_deref()),
            ))
        }
        (Method::GET | Method::HEAD, PATH | API_PATH) => {
            let ca = super::ca_summary(state).await;
            no_store(simple(
                StatusCode::OK,
                "application/json",
                page::json(state, &ca).to_string(),
            ))
        }
        (Method::POST, FORM_PATH) => form_post(state, &caller, req).await,
        (Method::POST, API_PATH) => api_post(state, &caller, req).await,
        _ => simple(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "Method Not Allowed: GET the console, POST its actions\n",
        ),
    }
}

async fn body(req: Request<Incoming>) -> Result<bytes::Bytes, Resp> {
    match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) => Err(simple(
            StatusCode::PAYLOAD_TOO_LARGE,
            "text/plain",
            format!("the console takes bodies of at most {MAX_BODY} bytes: {e}\n"),
        )),
    }
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// One value of an `application/x-www-form-urlencoded` text (or a query).
pub fn form_value(text: &str, name: &str) -> Option<String> {
    text.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (decode(k) == name).then(|| decode(v))
    })
}

async fn form_post(state: &Arc<State>, caller: &Caller, req: Request<Incoming>) -> Resp {
    let host = header(&req, "host").map(str::to_string);
    if let Err(why) = same_origin(
        header(&req, "sec-fetch-site"),
        header(&req, "origin"),
        host.as_deref(),
    ) {
        tracing::warn!(
            who = caller.who,
            "console: refused {why} from {}",
            caller.who
        );
        return forbidden(&why);
    }
    let text = match body(req).await {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(r) => return r,
    };
    let token = form_value(&text, "token").unwrap_or_default();
    if !same(&token, &state.console_token) {
        tracing::warn!(
            who = caller.who,
            "console: refused a form post without the page's token from {}",
            caller.who
        );
        return forbidden("the form's token is missing or stale: reload the console and try again");
    }
    let a = Action {
        action: form_value(&text, "action").unwrap_or_default(),
        master: form_value(&text, "master").unwrap_or_default(),
        weight: form_value(&text, "weight"),
        certname: form_value(&text, "certname").unwrap_or_default(),
    };
    match act(state, caller, &a).await {
        Ok(msg) => {
            let mut r = simple(StatusCode::SEE_OTHER, "text/plain", format!("{msg}\n"));
            let to = format!(
                "{PATH}?msg={}",
                percent_encoding::utf8_percent_encode(&msg, percent_encoding::NON_ALPHANUMERIC)
            );
            if let Ok(v) = HeaderValue::from_str(&to) {
                r.headers_mut().insert(LOCATION, v);
            }
            r
        }
        Err((status, msg)) => simple(
            status,
            "text/html; charset=utf-8",
            format!(
                "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>troupe console</title></head><body>\
<p id=\"error\">{}</p><p><a href=\"{PATH}\">Back to the console</a></p></body></html>\n",
                crate::pool::esc(&msg)
            ),
        ),
    }
}

async fn api_post(state: &Arc<State>, caller: &Caller, req: Request<Incoming>) -> Resp {
    let json_type = header(&req, "content-type").is_some_and(|t| {
        t.split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
    });
    if !json_type {
        tracing::warn!(
            who = caller.who,
            "console: refused an API post without a JSON content type from {}",
            caller.who
        );
        return forbidden("the console's API takes Content-Type: application/json only");
    }
    let b = match body(req).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let v: J = match serde_json::from_slice(&b) {
        Ok(v) => v,
        Err(e) => return api_answer(StatusCode::BAD_REQUEST, &format!("not JSON: {e}")),
    };
    let s = |k: &str| v.get(k).and_then(J::as_str).unwrap_or("").to_string();
    let a = Action {
        action: s("action"),
        master: s("master"),
        weight: v.get("weight").map(|w| match w {
            J::String(s) => s.clone(),
            other => other.to_string(),
        }),
        certname: s("certname"),
    };
    match act(state, caller, &a).await {
        Ok(msg) => {
            let mut j = json!({"ok": true, "message": msg});
            if !a.master.is_empty() {
                if let Some(b) = state
                    .backends()
                    .iter()
                    .find(|b| super::control::master_name(b) == a.master)
                {
                    j["state"] = J::String(b.console_state().into());
                }
            }
            simple(StatusCode::OK, "application/json", j.to_string())
        }
        Err((status, msg)) => api_answer(status, &msg),
    }
}

fn api_answer(status: StatusCode, msg: &str) -> Resp {
    simple(
        status,
        "application/json",
        json!({"ok": false, "message": msg}).to_string(),
    )
}

/// Carries out an action for an administrator; logs it.
pub(crate) async fn act(
    state: &Arc<State>,
    caller: &Caller,
    a: &Action,
) -> Result<String, (StatusCode, String)> {
    let bad = |m: String| (StatusCode::BAD_REQUEST, m);
    let r = match a.action.as_str() {
        "drain" | "disable" | "enable" | "weight" => {
            if a.master.is_empty() {
                return Err(bad(format!("{}: name the master", a.action)));
            }
            let (mode, weight) = match a.action.as_str() {
                "drain" => (Some(MODE_DRAINED), None),
                "disable" => (Some(MODE_DISABLED), None),
                "enable" => (Some(MODE_ENABLED), None),
                _ => {
                    let w = a
                        .weight
                        .as_deref()
                        .and_then(|w| w.trim().parse::<u32>().ok())
                        .filter(|w| *w <= super::control::MAX_WEIGHT)
                        .ok_or_else(|| {
                            bad(format!(
                                "weight: give a whole number from 0 to {}",
                                super::control::MAX_WEIGHT
                            ))
                        })?;
                    (None, Some(w))
                }
            };
            state
                .control(&a.master, mode, weight, &caller.who)
                .await
                .map(|c| {
                    format!(
                        "master {}: {} (weight {})",
                        c.master,
                        super::control::mode_name(c.mode),
                        c.weight
                    )
                })
                .map_err(|e| (StatusCode::CONFLICT, e))
        }
        "sign" | "reject" => {
            troupe_ca::valid_name(&a.certname)
                .map_err(|e| bad(format!("certname '{}': {}", a.certname, e.message)))?;
            let Some(ca) = state.ca_console() else {
                return Err((
                    StatusCode::SERVICE_UNAVAILABLE,
                    "this front has no CA to act on".into(),
                ));
            };
            let (name, sign) = (a.certname.clone(), a.action == "sign");
            match tokio::task::spawn_blocking(move || {
                if sign {
                    ca.sign(&name)
                } else {
                    ca.reject(&name)
                }
            })
            .await
            {
                Ok(r) => r.map_err(|e| (StatusCode::CONFLICT, e)),
                Err(e) => Err((StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
            }
        }
        other => Err(bad(format!(
            "unknown action '{other}' (drain, disable, enable, weight, sign, reject)"
        ))),
    };
    let target = if a.master.is_empty() {
        &a.certname
    } else {
        &a.master
    };
    match &r {
        Ok(msg) => tracing::info!(
            who = caller.who,
            action = a.action,
            target,
            "console: {} by {}: {msg}",
            a.action,
            caller.who
        ),
        Err((_, e)) => tracing::warn!(
            who = caller.who,
            action = a.action,
            target,
            "console: {} {target} by {} failed: {e}",
            a.action,
            caller.who
        ),
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_are_decoded() {
        let t = "token=ab&master=http%3A%2F%2F127.0.0.1%3A1&action=drain&x=a+b";
        assert_eq!(
            form_value(t, "master").as_deref(),
            Some("http://127.0.0.1:1")
        );
        assert_eq!(form_value(t, "x").as_deref(), Some("a b"));
        assert_eq!(form_value(t, "nope"), None);
    }
}
