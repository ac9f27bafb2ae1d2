//! Sending a request to the masters, and retrying it only when that is safe.
//!
//! - A request that never reached a master (connect failure, or not written whole) is tried
//!   on the next master.
//! - A request written whole whose master then closed or reset the connection without a byte
//!   of response may have killed that master: it is tried on one more master at most.
//! - A request that killed two masters is answered 502 and remembered (`Quarantine`: a
//!   fingerprint of method, path, query and body, for `quarantine_ttl`): the same request is
//!   then refused at once without touching a master. Each such event is logged with the
//!   node's certificate name and the path.
//! - A request in flight on a master that a health check finds stalled is given up there at
//!   once: sent on freely if it was not written whole, to one more master at most if it was
//!   (and no byte of answer came; after one, 502). A stall is not a death: the quarantine
//!   does not count it.

use crate::backend::{order, Backend};
use crate::dial::connect;
use crate::respond::{simple, unavailable, Gauge, Resp};
use crate::{upstream, State};
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Deaths of masters after which a request is refused.
const KILLS: u32 = 2;
/// Longest path kept in a quarantine entry.
const MAX_PATH: usize = 256;

pub type Fingerprint = [u8; 32];

/// SHA-256 over method, path with query, and body.
pub fn fingerprint(method: &str, path_and_query: &str, body: &[u8]) -> Fingerprint {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update(b"\0");
    h.update(path_and_query.as_bytes());
    h.update(b"\0");
    h.update(body);
    h.finalize().into()
}

#[derive(Debug, Clone)]
struct Entry {
    deaths: u32,
    expires: Instant,
    node: String,
    request: String,
    masters: Vec<SocketAddr>,
}

/// Requests that killed masters, bounded in number and time.
#[derive(Debug)]
pub struct Quarantine {
    ttl: Duration,
    cap: usize,
    entries: Mutex<HashMap<Fingerprint, Entry>>,
}

fn clip(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

impl Quarantine {
    pub fn new(ttl: Duration, cap: usize) -> Quarantine {
        Quarantine {
            ttl,
            cap: cap.max(1),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Masters this request killed (within the TTL).
    pub fn deaths(&self, fp: &Fingerprint) -> u32 {
        let Ok(e) = self.entries.lock() else {
            return 0;
        };
        e.get(fp)
            .filter(|e| e.expires > Instant::now())
            .map_or(0, |e| e.deaths)
    }

    /// Records that the request killed `master`; returns how many masters it killed.
    fn record_death(&self, fp: Fingerprint, out: &Outgoing<'_>, master: SocketAddr) -> u32 {
        let Ok(mut map) = self.entries.lock() else {
            return KILLS;
        };
        let now = Instant::now();
        if !map.contains_key(&fp) && map.len() >= self.cap {
            map.retain(|_, e| e.expires > now);
            if map.len() >= self.cap {
                // Still full: forget the one closest to expiry.
                if let Some(k) = map.iter().min_by_key(|(_, e)| e.expires).map(|(k, _)| *k) {
                    map.remove(&k);
                }
            }
        }
        let e = map.entry(fp).or_insert_with(|| Entry {
            deaths: 0,
            expires: now,
            node: clip(out.node, 64),
            request: format!("{} {}", out.method, clip(out.path, MAX_PATH)),
            masters: vec![],
        });
        if e.expires <= now {
            e.deaths = 0;
            e.masters.clear();
        }
        // Masters, not requests, are counted: identical requests cut by the death of one
        // master count once.
        if !e.masters.contains(&master) {
            e.deaths += 1;
            e.masters.push(master);
        }
        e.expires = now + self.ttl;
        e.deaths
    }

    /// Forgets a request that a master then answered: it is not a killer.
    fn clear(&self, fp: &Fingerprint) {
        if let Ok(mut map) = self.entries.lock() {
            map.remove(fp);
        }
    }

    /// The refused requests, for the status page.
    pub fn list(&self) -> Vec<serde_json::Value> {
        let Ok(map) = self.entries.lock() else {
            return vec![];
        };
        let now = Instant::now();
        map.values()
            .filter(|e| e.deaths >= KILLS && e.expires > now)
            .map(|e| {
                json!({
                    "node": e.node,
                    "request": e.request,
                    "masters": e.masters.iter().map(|m| m.to_string()).collect::<Vec<_>>(),
                    "expires_in_seconds": e.expires.saturating_duration_since(now).as_secs(),
                })
            })
            .collect()
    }
}

/// A request ready for the masters: its head as they see it, and its body.
#[derive(Debug)]
pub struct Outgoing<'a> {
    pub fingerprint: Fingerprint,
    pub head: Vec<u8>,
    pub body: Bytes,
    pub head_request: bool,
    pub method: &'a str,
    pub path: &'a str,
    /// The client's verified certificate name, for the log.
    pub node: &'a str,
    pub peer: IpAddr,
}

fn killer_response(state: &State, out: &Outgoing<'_>, masters: &str) -> Resp {
    simple(
        StatusCode::BAD_GATEWAY,
        "application/json;charset=utf-8",
        json!({
            "message": format!(
                "Server Error: {} {} made {KILLS} masters ({masters}) fail without an answer; \
                 it is not sent to any master again for {}s",
                out.method,
                clip(out.path, MAX_PATH),
                state.config.quarantine_ttl.as_secs()
            ),
            "issue_kind": "RUNTIME_ERROR",
        })
        .to_string(),
    )
}

/// What one pass over the masters came to.
enum Attempt {
    Done(Resp, Option<SocketAddr>),
    /// Every master that is up is saturated (at `max_in_flight`, or its own queue is full and
    /// it answered 503 without doing the work): worth waiting for a slot.
    Busy,
}

/// Sends the request to the masters in balancing order, retrying only when safe; when every
/// master that is up is saturated, waits in the front's queue (`queue_timeout`) for a slot.
pub(crate) async fn dispatch(state: &State, out: &Outgoing<'_>) -> (Resp, Option<SocketAddr>) {
    let deadline = Instant::now() + state.config.queue_timeout;
    let mut first = true;
    if state.queue.waiting.load(Ordering::SeqCst) > 0 && state.queue.wait(deadline, true).await {
        // Others were waiting: this one came after them.
        first = false;
    }
    loop {
        match attempt(state, out).await {
            Attempt::Done(r, m) => return (r, m),
            Attempt::Busy => {
                let up = state.backends().iter().any(|b| b.in_rotation());
                if !up {
                    return (
                        unavailable(state, "no master is available; retry later"),
                        None,
                    );
                }
                if !state.queue.wait(deadline, first).await {
                    let why = format!(
                        "every master is busy (waited {} s); retry later",
                        state.config.queue_timeout.as_secs_f64()
                    );
                    return (unavailable(state, &why), None);
                }
                first = false;
            }
        }
    }
}

async fn attempt(state: &State, out: &Outgoing<'_>) -> Attempt {
    let fp = out.fingerprint;
    if state.quarantine.deaths(&fp) >= KILLS {
        tracing::warn!(
            node = out.node,
            peer = %out.peer,
            method = out.method,
            path = out.path,
            "refused {} {} from {} ({}): it made masters fail before",
            out.method, out.path, out.node, out.peer
        );
        return Attempt::Done(killer_response(state, out, "before"), None);
    }
    let backends = state.backends();
    let order = order(
        &backends,
        state.config.balance,
        &state.rr,
        state.config.max_in_flight,
    );
    if order.is_empty() {
        // None up (answered at once by `dispatch`), or every one up is at `max_in_flight`.
        return Attempt::Busy;
    }
    let mut saturated = 0;
    let mut tried = 0;
    let mut killed: Vec<SocketAddr> = vec![];
    // Masters that took the request and stalled: it was abandoned there, not held against it.
    let mut stalled: Vec<SocketAddr> = vec![];
    for i in &order {
        let b = backends[*i].clone();
        if tried > 0 && !b.is_up() {
            // Went down (or stalled) since the order was made.
            continue;
        }
        if tried > 0 {
            b.retries.fetch_add(1, Ordering::Relaxed);
        }
        tried += 1;
        let busy = Gauge::new(&b.in_flight);
        b.requests.fetch_add(1, Ordering::Relaxed);
        let t0 = Instant::now();
        let r = forward(state, &b, out).await;
        drop(busy);
        // A slot freed for a waiter, unless the master turned it away as saturated (it has
        // no more room than before: waking a waiter would only send it there again).
        let turned_away = matches!(&r, Forwarded::Response(resp)
            if resp.status() == StatusCode::SERVICE_UNAVAILABLE && !out.path.starts_with("/puppet-ca/"));
        if !turned_away {
            state.queue.freed();
        }
        match r {
            Forwarded::Response(resp) => {
                b.observe_latency(t0.elapsed());
                let st = resp.status();
                if st != StatusCode::SERVICE_UNAVAILABLE || out.path.starts_with("/puppet-ca/") {
                    b.history.record(st.is_server_error(), t0.elapsed());
                }
                // The CA is one for the pool (one store, or one directory per host): its 503
                // (store unavailable, pending cap) is every master's answer, so it goes back
                // to the agent at once instead of waiting out each master in turn.
                if st == StatusCode::SERVICE_UNAVAILABLE && !out.path.starts_with("/puppet-ca/") {
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
                if !killed.is_empty() {
                    state.quarantine.clear(&fp);
                }
                return Attempt::Done(resp, Some(b.addr));
            }
            Forwarded::NotSent(why) => {
                b.history.record(true, t0.elapsed());
                // Never reached the master: safe to try the next one.
                b.failures.fetch_add(1, Ordering::Relaxed);
                b.record(false, &why);
                continue;
            }
            Forwarded::Abandoned => {
                // The master stalled before it had the whole request: safe to go on freely.
                b.abandoned.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            Forwarded::Stalled => {
                // It may have the request; not a death (it killed nothing): sent on elsewhere,
                // up to `LOST_LIMIT` masters in all (several masters of a host may stall at once).
                b.abandoned.fetch_add(1, Ordering::Relaxed);
                stalled.push(b.addr);
                tracing::warn!(
                    backend = %b.addr,
                    node = out.node,
                    path = out.path,
                    "master {} stalled with {} {} from {} ({}) in flight; abandoned there",
                    b.addr, out.method, out.path, out.node, out.peer
                );
                if killed.len() + stalled.len() >= LOST_LIMIT {
                    return Attempt::Done(lost_response(&killed, &stalled), Some(b.addr));
                }
                continue;
            }
            Forwarded::Died(why) => {
                b.history.record(true, t0.elapsed());
                b.failures.fetch_add(1, Ordering::Relaxed);
                b.record(false, &why);
                b.drop_idle();
                killed.push(b.addr);
                let deaths = state.quarantine.record_death(fp, out, b.addr);
                tracing::error!(
                    backend = %b.addr,
                    node = out.node,
                    path = out.path,
                    "master {} failed without an answer ({why}) on {} {} from {} ({})",
                    b.addr, out.method, out.path, out.node, out.peer
                );
                if deaths >= KILLS || killed.len() >= KILLS as usize {
                    let masters = killed
                        .iter()
                        .map(|a| a.to_string())
                        .collect::<Vec<_>>()
                        .join(", ");
                    tracing::error!(
                        node = out.node,
                        peer = %out.peer,
                        method = out.method,
                        path = out.path,
                        "{} {} from {} ({}) made {deaths} masters fail; refusing it for {}s",
                        out.method,
                        out.path,
                        out.node,
                        out.peer,
                        state.config.quarantine_ttl.as_secs()
                    );
                    return Attempt::Done(killer_response(state, out, &masters), Some(b.addr));
                }
                if killed.len() + stalled.len() >= LOST_LIMIT {
                    return Attempt::Done(lost_response(&killed, &stalled), Some(b.addr));
                }
                // Once more, on another master.
                continue;
            }
            Forwarded::Failed(why) => {
                b.history.record(true, t0.elapsed());
                b.failures.fetch_add(1, Ordering::Relaxed);
                b.record(false, &why);
                return Attempt::Done(
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
    if let Some(m) = killed.first().or(stalled.first()) {
        return Attempt::Done(lost_response(&killed, &stalled), Some(*m));
    }
    if saturated > 0 {
        return Attempt::Busy;
    }
    Attempt::Done(
        unavailable(state, "no master could be reached; retry later"),
        None,
    )
}

/// 502 for a request that masters took without answering and no other master answered.
/// The most masters a request may be lost on (died or stalled with it written whole) before the
/// client gets a 502: two deaths quarantine it earlier; stalls alone allow one more master, since
/// the masters of one host often stall together (the host froze) and a remote one can answer.
const LOST_LIMIT: usize = KILLS as usize + 1;

fn lost_response(killed: &[SocketAddr], stalled: &[SocketAddr]) -> Resp {
    let mut what: Vec<String> = killed
        .iter()
        .map(|m| format!("master {m} failed without an answer"))
        .collect();
    what.extend(
        stalled
            .iter()
            .map(|m| format!("master {m} stalled with it in flight")),
    );
    simple(
        StatusCode::BAD_GATEWAY,
        "application/json;charset=utf-8",
        json!({
            "message": format!(
                "Server Error: {} and no other master could take the request",
                what.join(", ")
            ),
            "issue_kind": "RUNTIME_ERROR",
        })
        .to_string(),
    )
}

enum Forwarded {
    Response(Resp),
    /// The request never reached the master (connect failure, or not written whole).
    NotSent(String),
    /// Written whole, then the connection closed or reset with no response byte.
    Died(String),
    /// The master failed after it got the request (timeout, a broken response).
    Failed(String),
    /// The master was found stalled before the request was written whole: given up there.
    Abandoned,
    /// The master was found stalled after the request was written whole and before a byte
    /// of answer: given up there.
    Stalled,
}

async fn forward(state: &State, b: &Backend, out: &Outgoing<'_>) -> Forwarded {
    // A pooled connection is used only if the master has not closed it meanwhile; then a
    // request written whole that gets no answer counts as a death, as on a fresh connection.
    // One that could not be written is tried again on a fresh connection.
    // Subscribed before anything is sent: a stall found from now on gives the request up.
    let stall = b.next_stall();
    tokio::pin!(stall);
    let mut idle = None;
    while let Some(mut c) = b.take_idle() {
        if c.is_reusable().await {
            idle = Some(c);
            break;
        }
    }
    for fresh in [false, true] {
        let mut conn = match if fresh { None } else { idle.take() } {
            Some(c) => c,
            None if !fresh => continue,
            None => match tokio::select! {
                c = connect(state, b) => c,
                _ = &mut stall => return Forwarded::Abandoned,
            } {
                Ok(c) => c,
                Err(e) => return Forwarded::NotSent(e),
            },
        };
        // One timer for the whole exchange: the response head and its body; given up at once
        // when a health check finds the master stalled.
        let parts: [&[u8]; 2] = [&out.head, &out.body];
        let r = tokio::select! {
            r = tokio::time::timeout(
                state.config.backend_timeout,
                conn.exchange(&parts, out.head_request),
            ) => Some(r),
            _ = &mut stall => None,
        };
        let Some(r) = r else {
            return match conn.progress() {
                (false, _) => Forwarded::Abandoned,
                (true, false) => Forwarded::Stalled,
                (true, true) => Forwarded::Failed("the master stalled in its answer".into()),
            };
        };
        let (resp, keep) = match r {
            Err(_) => return Forwarded::Failed("timeout waiting for the master".into()),
            Ok(Err(upstream::Error::NotWritten(e))) => {
                if !fresh {
                    continue;
                }
                return Forwarded::NotSent(e);
            }
            Ok(Err(upstream::Error::NoResponse(e))) => return Forwarded::Died(e),
            Ok(Err(upstream::Error::Broken(e))) => return Forwarded::Failed(e),
            Ok(Ok(x)) => x,
        };
        b.answers.fetch_add(1, Ordering::SeqCst);
        if keep {
            b.put_idle(conn);
        }
        let mut headers = resp.headers;
        for h in upstream::HOP_BY_HOP {
            headers.remove(h);
        }
        if !out.head_request && resp.status != 304 {
            // The body is whole; the server side states its length.
            headers.remove(CONTENT_LENGTH);
        }
        let mut r = Response::new(Full::new(resp.body));
        *r.status_mut() = StatusCode::from_u16(resp.status).unwrap_or(StatusCode::BAD_GATEWAY);
        *r.headers_mut() = headers;
        return Forwarded::Response(r);
    }
    Forwarded::NotSent("no connection".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(node: &str) -> Outgoing<'_> {
        Outgoing {
            fingerprint: fingerprint("POST", "/x", b"body"),
            head: vec![],
            body: Bytes::new(),
            head_request: false,
            method: "POST",
            path: "/x",
            node,
            peer: IpAddr::from([127, 0, 0, 1]),
        }
    }

    #[test]
    fn quarantine_is_bounded_and_expires() {
        let q = Quarantine::new(Duration::from_millis(50), 3);
        let m = SocketAddr::from(([127, 0, 0, 1], 1));
        for i in 0..10u8 {
            q.record_death([i; 32], &out("n"), m);
        }
        assert!(q.entries.lock().map(|e| e.len()).unwrap_or(99) <= 3);
        let o = out("n");
        let m2 = SocketAddr::from(([127, 0, 0, 1], 2));
        assert_eq!(q.record_death(o.fingerprint, &o, m), 1);
        // Two identical requests cut by one master's death: one death.
        assert_eq!(q.record_death(o.fingerprint, &o, m), 1);
        assert_eq!(q.record_death(o.fingerprint, &o, m2), 2);
        assert_eq!(q.deaths(&o.fingerprint), 2);
        assert_eq!(q.list().len(), 1);
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(q.deaths(&o.fingerprint), 0);
        assert_eq!(q.record_death(o.fingerprint, &o, m), 1);
        assert_ne!(
            fingerprint("POST", "/x", b"a"),
            fingerprint("POST", "/x", b"b")
        );
        assert_ne!(
            fingerprint("POST", "/x?a", b""),
            fingerprint("POST", "/x", b"?a")
        );
    }
}
