//! Resource limits of the master: connection slots (a total, a share for clients without a
//! verified identity, a cap per source address), the time a client may hold a connection
//! before it has said anything, per-key rate limits (CSR intake per source, reports per node)
//! and request-body reading with a size cap and a deadline.

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::Request;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The limit settings (`troupe master` flags and config-file names in the comments).
#[derive(Debug, Clone)]
pub struct Settings {
    /// `max_connections`: client connections open at once.
    pub max_connections: usize,
    /// `max_anonymous_connections`: of those, connections without a verified client
    /// certificate (HTTPS) or from an untrusted address (plain HTTP); the rest is kept for
    /// certified clients.
    pub max_anonymous_connections: usize,
    /// `max_connections_per_source`: connections one address may hold (trusted proxies are
    /// exempt).
    pub max_connections_per_source: usize,
    /// `handshake_timeout`: seconds a client has to complete the TLS handshake.
    pub handshake_timeout: u64,
    /// `header_read_timeout`: seconds a client has to send a request's headers.
    pub header_read_timeout: u64,
    /// `body_timeout`: seconds a client has to send a request body.
    pub body_timeout: u64,
    /// `csr_rate_limit`: certificate requests per source address per minute (0: no limit).
    pub csr_rate_limit: u32,
    /// `report_max_size`: bytes of one report.
    pub report_max_size: usize,
    /// `report_rate_limit`: reports per node per minute (0: no limit).
    pub report_rate_limit: u32,
    /// `report_keep`: reports kept per node, the oldest pruned on write (0: all).
    pub report_keep: usize,
    /// `report_ttl`: seconds a report is kept (0: for ever).
    pub report_ttl: u64,
    /// `report_min_free`: free space the report volume keeps; below it reports are refused.
    pub report_min_free: FreeSpace,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            max_connections: 4096,
            max_anonymous_connections: 1024,
            max_connections_per_source: 256,
            handshake_timeout: 5,
            header_read_timeout: 10,
            body_timeout: 60,
            csr_rate_limit: 30,
            report_max_size: 32 * 1024 * 1024,
            report_rate_limit: 10,
            report_keep: 100,
            report_ttl: 14 * 86400,
            report_min_free: FreeSpace::Bytes(1 << 30),
        }
    }
}

/// A free-space reserve: bytes, or a percentage of the volume.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FreeSpace {
    Bytes(u64),
    Percent(f64),
}

impl FreeSpace {
    /// `1GiB`, `512MiB`, `100M`, `1073741824`, `5%`.
    pub fn parse(s: &str) -> Result<FreeSpace, String> {
        let s = s.trim();
        if let Some(p) = s.strip_suffix('%') {
            return match p.trim().parse::<f64>() {
                Ok(v) if (0.0..=100.0).contains(&v) => Ok(FreeSpace::Percent(v)),
                _ => Err(format!("'{s}' is not a percentage from 0% to 100%")),
            };
        }
        parse_size(s).map(FreeSpace::Bytes)
    }

    /// The bytes to keep free on a volume of `total` bytes.
    pub fn bytes(self, total: u64) -> u64 {
        match self {
            FreeSpace::Bytes(b) => b,
            FreeSpace::Percent(p) => (total as f64 * p / 100.0) as u64,
        }
    }
}

/// `32MiB`, `64KiB`, `1GiB`, `1G`, `500k`, `1048576` (binary units).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a size (e.g. 32MiB, 1GiB, 65536)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return Err(format!("'{s}' is not a size (e.g. 32MiB, 1GiB, 65536)")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("'{s}' is too large"))
}

/// The live limits: semaphores, per-source counts, rate limiters.
#[derive(Debug)]
pub struct Limits {
    pub total: Arc<Semaphore>,
    pub anonymous: Arc<Semaphore>,
    per_source: Arc<Mutex<HashMap<IpAddr, usize>>>,
    max_per_source: usize,
    pub csr: RateLimiter,
    pub reports: RateLimiter,
}

impl Limits {
    pub fn new(s: &Settings) -> Limits {
        Limits {
            total: Arc::new(Semaphore::new(s.max_connections.max(1))),
            anonymous: Arc::new(Semaphore::new(s.max_anonymous_connections)),
            per_source: Arc::default(),
            max_per_source: s.max_connections_per_source.max(1),
            csr: RateLimiter::new(s.csr_rate_limit),
            reports: RateLimiter::new(s.report_rate_limit),
        }
    }

    /// A connection slot for `ip`, or None when the total or the source's share is used up.
    pub fn admit(&self, ip: IpAddr, exempt: bool) -> Option<Slot> {
        let total = self.total.clone().try_acquire_owned().ok()?;
        let source = if exempt {
            None
        } else {
            let mut m = self.per_source.lock().ok()?;
            let n = m.entry(ip).or_insert(0);
            if *n >= self.max_per_source {
                return None;
            }
            *n += 1;
            Some(SourceGuard {
                map: self.per_source.clone(),
                ip,
            })
        };
        Some(Slot {
            _total: total,
            _source: source,
            _anonymous: None,
        })
    }
}

/// A held connection slot; dropping it frees it.
#[derive(Debug)]
pub struct Slot {
    _total: OwnedSemaphorePermit,
    _source: Option<SourceGuard>,
    _anonymous: Option<OwnedSemaphorePermit>,
}

impl Slot {
    /// Takes one of the anonymous slots too; false when they are all in use.
    pub fn take_anonymous(&mut self, limits: &Limits) -> bool {
        match limits.anonymous.clone().try_acquire_owned() {
            Ok(p) => {
                self._anonymous = Some(p);
                true
            }
            Err(_) => false,
        }
    }
}

#[derive(Debug)]
struct SourceGuard {
    map: Arc<Mutex<HashMap<IpAddr, usize>>>,
    ip: IpAddr,
}

impl Drop for SourceGuard {
    fn drop(&mut self) {
        if let Ok(mut m) = self.map.lock() {
            if let Some(n) = m.get_mut(&self.ip) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    m.remove(&self.ip);
                }
            }
        }
    }
}

/// A token bucket per key: `per_minute` at once, refilled at `per_minute` a minute.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

/// Keys tracked before full buckets are forgotten.
const MAX_KEYS: usize = 10_000;

impl RateLimiter {
    pub fn new(per_minute: u32) -> RateLimiter {
        RateLimiter {
            per_minute,
            buckets: Mutex::default(),
        }
    }

    /// Takes a token for `key`; Err(seconds until one is available) when none is left.
    pub fn check(&self, key: &str) -> Result<(), u64> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let cap = f64::from(self.per_minute);
        let rate = cap / 60.0;
        let now = Instant::now();
        let Ok(mut m) = self.buckets.lock() else {
            return Ok(());
        };
        if m.len() >= MAX_KEYS && !m.contains_key(key) {
            m.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < cap
            });
            if m.len() >= MAX_KEYS {
                return Err(60);
            }
        }
        let (tokens, at) = m.entry(key.to_string()).or_insert((cap, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(cap);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / rate).ceil().max(1.0) as u64)
        }
    }
}

/// Why a request body could not be read.
#[derive(Debug)]
pub enum BodyError {
    TooLarge(usize),
    Timeout,
    Other(String),
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyError::TooLarge(n) => write!(f, "the request body is larger than {n} bytes"),
            BodyError::Timeout => write!(f, "the request body did not arrive in time"),
            BodyError::Other(e) => write!(f, "cannot read the request body: {e}"),
        }
    }
}

/// The body, at most `limit` bytes (a larger `Content-Length` is refused before reading),
/// within `timeout`.
pub async fn read_body(
    req: Request<Incoming>,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, BodyError> {
    let declared = req
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge(limit));
    }
    match tokio::time::timeout(timeout, Limited::new(req.into_body(), limit).collect()).await {
        Ok(Ok(c)) => Ok(c.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(BodyError::TooLarge(limit)),
        Ok(Err(e)) => Err(BodyError::Other(e.to_string())),
        Err(_) => Err(BodyError::Timeout),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_reserves_parse() {
        assert_eq!(parse_size("32MiB"), Ok(32 << 20));
        assert_eq!(parse_size("64k"), Ok(64 << 10));
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("99999999999T").is_err());
        assert_eq!(FreeSpace::parse("5%"), Ok(FreeSpace::Percent(5.0)));
        assert_eq!(FreeSpace::parse("1GiB"), Ok(FreeSpace::Bytes(1 << 30)));
        assert!(FreeSpace::parse("150%").is_err());
        assert_eq!(FreeSpace::Percent(5.0).bytes(1000), 50);
    }

    #[test]
    fn rate_limiter_refuses_past_the_burst() {
        let r = RateLimiter::new(3);
        assert!(r.check("a").is_ok());
        assert!(r.check("a").is_ok());
        assert!(r.check("a").is_ok());
        let wait = r.check("a").err().unwrap_or(0);
        assert!((1..=20).contains(&wait), "{wait}");
        assert!(r.check("b").is_ok());
        assert!(RateLimiter::new(0).check("a").is_ok());
    }

    #[test]
    fn source_slots_are_capped_and_freed() {
        let l = Limits::new(&Settings {
            max_connections_per_source: 2,
            ..Settings::default()
        });
        let ip: IpAddr = [10, 0, 0, 1].into();
        let a = l.admit(ip, false);
        let b = l.admit(ip, false);
        assert!(a.is_some() && b.is_some());
        assert!(l.admit(ip, false).is_none());
        assert!(l.admit(ip, true).is_some());
        drop(a);
        assert!(l.admit(ip, false).is_some());
    }
}
