//! What a client may hold: connections (in all, per source address, and a share kept for
//! clients with a verified certificate), request bodies (size by kind of client, a deadline
//! that grows with a minimum rate, and one budget of buffered bytes for all requests).

use crate::respond::{simple, unavailable, Resp};
use crate::{Config, State};
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::{Body, Incoming};
use hyper::header::{HeaderValue, CONNECTION};
use hyper::StatusCode;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    unverified: usize,
    per_source: HashMap<IpAddr, usize>,
}

/// Open client connections.
#[derive(Debug)]
pub(crate) struct Connections {
    max: usize,
    per_source: usize,
    /// Most connections without a verified certificate.
    unverified: usize,
    counts: Arc<Mutex<Counts>>,
}

/// One admitted connection; gives its place back when dropped.
#[derive(Debug)]
pub(crate) struct Ticket {
    ip: IpAddr,
    unverified: bool,
    counts: Arc<Mutex<Counts>>,
}

impl Connections {
    pub(crate) fn new(c: &Config) -> Connections {
        Connections {
            max: c.max_connections,
            per_source: c.max_connections_per_source.max(1),
            unverified: c.max_connections.saturating_sub(c.reserved_connections),
            counts: Arc::default(),
        }
    }

    /// A place for a new connection from `ip`, if under the total and per-source limits.
    pub(crate) fn admit(&self, ip: IpAddr) -> Option<Ticket> {
        let mut c = self.counts.lock().ok()?;
        let from = c.per_source.get(&ip).copied().unwrap_or(0);
        if c.total >= self.max || from >= self.per_source {
            return None;
        }
        c.total += 1;
        c.per_source.insert(ip, from + 1);
        Some(Ticket {
            ip,
            unverified: false,
            counts: self.counts.clone(),
        })
    }

    /// The share of places for clients without a verified certificate.
    fn unverified_limit(&self) -> usize {
        self.unverified
    }
}

impl Ticket {
    /// Counts the connection as one without a verified certificate; false when their share is
    /// used up (the connection should be closed).
    pub(crate) fn unverified(&mut self, limits: &Connections) -> bool {
        if self.unverified {
            return true;
        }
        let Ok(mut c) = self.counts.lock() else {
            return false;
        };
        if c.unverified >= limits.unverified_limit() {
            return false;
        }
        c.unverified += 1;
        self.unverified = true;
        true
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Ok(mut c) = self.counts.lock() {
            c.total = c.total.saturating_sub(1);
            if self.unverified {
                c.unverified = c.unverified.saturating_sub(1);
            }
            if let Some(n) = c.per_source.get_mut(&self.ip) {
                *n -= 1;
                if *n == 0 {
                    c.per_source.remove(&self.ip);
                }
            }
        }
    }
}

/// Bytes of request bodies buffered at once; requests from clients without a verified
/// certificate may use half of it.
#[derive(Debug)]
pub(crate) struct Budget {
    cap: usize,
    /// (all, unverified)
    used: Mutex<(usize, usize)>,
}

/// Bytes held from a `Budget`, given back when dropped.
#[derive(Debug)]
pub(crate) struct Reservation<'a> {
    budget: &'a Budget,
    bytes: usize,
    verified: bool,
}

impl Budget {
    pub(crate) fn new(cap: usize) -> Budget {
        Budget {
            cap,
            used: Mutex::new((0, 0)),
        }
    }

    pub(crate) fn used(&self) -> usize {
        self.used.lock().map(|u| u.0).unwrap_or(0)
    }

    pub(crate) fn reserve(&self, verified: bool) -> Reservation<'_> {
        Reservation {
            budget: self,
            bytes: 0,
            verified,
        }
    }
}

impl Reservation<'_> {
    /// Grows the reservation to `bytes`; false when the budget cannot take it.
    fn grow_to(&mut self, bytes: usize) -> bool {
        if bytes <= self.bytes {
            return true;
        }
        let more = bytes - self.bytes;
        let Ok(mut u) = self.budget.used.lock() else {
            return false;
        };
        if u.0 + more > self.budget.cap || (!self.verified && u.1 + more > self.budget.cap / 2) {
            return false;
        }
        u.0 += more;
        if !self.verified {
            u.1 += more;
        }
        self.bytes = bytes;
        true
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if let Ok(mut u) = self.budget.used.lock() {
            u.0 = u.0.saturating_sub(self.bytes);
            if !self.verified {
                u.1 = u.1.saturating_sub(self.bytes);
            }
        }
    }
}

/// Why a request body was not read.
#[derive(Debug)]
pub(crate) enum BodyError {
    TooLarge {
        limit: usize,
        verified: bool,
    },
    /// The buffer budget is used up.
    Busy,
    TimedOut,
    Unreadable(String),
}

impl BodyError {
    pub(crate) fn response(&self, state: &State) -> Resp {
        let mut r = match self {
            BodyError::TooLarge { limit, verified } => simple(
                StatusCode::PAYLOAD_TOO_LARGE,
                "text/plain",
                format!(
                    "Request body too large: at most {limit} bytes{}\n",
                    if *verified {
                        ""
                    } else {
                        " without a verified client certificate"
                    }
                ),
            ),
            BodyError::Busy => unavailable(state, "too many request bodies in progress"),
            BodyError::TimedOut => simple(
                StatusCode::REQUEST_TIMEOUT,
                "text/plain",
                "Request body not received in time\n",
            ),
            BodyError::Unreadable(e) => simple(
                StatusCode::BAD_REQUEST,
                "text/plain",
                format!("Request body unreadable: {e}\n"),
            ),
        };
        // What is left of the body is not read: the connection cannot carry another request.
        r.headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
        r
    }
}

/// Reads a whole request body: refused before any buffering when its stated length is over
/// the limit for this client or over the budget, and cut off when it grows past either or
/// comes slower than `body_timeout` plus one second per `body_min_rate` bytes.
pub(crate) async fn read_body(
    state: &State,
    mut body: Incoming,
    verified: bool,
) -> Result<(Bytes, Reservation<'_>), BodyError> {
    let c = &state.config;
    let limit = if verified {
        c.max_body_bytes
    } else {
        c.max_anonymous_body_bytes
    };
    let mut reserved = state.buffered.reserve(verified);
    let stated = body.size_hint().exact();
    if let Some(n) = stated {
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        if n > limit {
            return Err(BodyError::TooLarge { limit, verified });
        }
        if !reserved.grow_to(n) {
            return Err(BodyError::Busy);
        }
    }
    if body.is_end_stream() {
        return Ok((Bytes::new(), reserved));
    }
    let start = tokio::time::Instant::now();
    let rate = c.body_min_rate.max(1);
    let mut buf = BytesMut::with_capacity(stated.map_or(8192, |n| n as usize));
    loop {
        let allowed = c.body_timeout + Duration::from_secs(buf.len() as u64 / rate);
        let frame = match tokio::time::timeout_at(start + allowed, body.frame()).await {
            Err(_) => return Err(BodyError::TimedOut),
            Ok(None) => break,
            Ok(Some(Err(e))) => return Err(BodyError::Unreadable(e.to_string())),
            Ok(Some(Ok(f))) => f,
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        let len = buf.len() + data.len();
        if len > limit {
            return Err(BodyError::TooLarge { limit, verified });
        }
        if !reserved.grow_to(len) {
            return Err(BodyError::Busy);
        }
        buf.extend_from_slice(&data);
    }
    Ok((buf.freeze(), reserved))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_keeps_half_for_verified_clients_and_gives_back() {
        let b = Budget::new(100);
        let mut anon = b.reserve(false);
        assert!(anon.grow_to(50));
        assert!(!anon.grow_to(51));
        let mut v = b.reserve(true);
        assert!(v.grow_to(50));
        assert!(!v.grow_to(51));
        drop(anon);
        assert_eq!(b.used(), 50);
        assert!(v.grow_to(100));
        drop(v);
        assert_eq!(b.used(), 0);
    }
}
