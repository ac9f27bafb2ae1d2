//! A client connection's life after the TLS handshake: served by hyper until the client closes
//! it, until it has been idle for `keepalive_timeout` (then closed cleanly, TLS close_notify
//! included), or until the front drains (then it finishes the request it is on, or the first
//! one its client sent, and closes).
//!
//! An agent never resends a request (Puppet turns Net::HTTP's retry off), so a request sent on
//! a connection whose front was killed meanwhile fails, and a connection the server closes for
//! idleness races the agent's next request. So the idle timeout is longer than the agents'
//! `http_keepalive_timeout` (4 s: the agent always closes first), and the responses after
//! which an agent works on its own for a while close their connection (`closes_after`): the
//! catalog (the agent applies it, then sends its report) and the plugin sync's (Facter runs,
//! then the catalog POST). The catalog POST and the report PUT thus always go on a connection
//! opened for them, never on one a killed front left behind.

use hyper::body::{Body, Incoming};
use hyper::server::conn::http1;
use hyper::service::HttpService;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::watch;

type BoxErr = Box<dyn std::error::Error + Send + Sync>;

/// Whether the response to this request closes its connection (`Connection: close`): the
/// agent works on its own after it, for longer than a front restart takes.
pub(crate) fn closes_after(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/puppet/v3/") else {
        return false;
    };
    ["catalog/", "file_metadatas/", "file_content/"]
        .iter()
        .any(|p| rest.starts_with(p))
}

/// A served connection that can be asked to close once idle.
pub(crate) trait Graceful: Future {
    fn graceful(self: Pin<&mut Self>);
}

impl<I, S, B> Graceful for http1::Connection<I, S>
where
    S: HttpService<Incoming, ResBody = B>,
    S::Error: Into<BoxErr>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    B: Body + 'static,
    B::Error: Into<BoxErr>,
{
    fn graceful(self: Pin<&mut Self>) {
        http1::Connection::graceful_shutdown(self)
    }
}

/// What a connection's requests are doing.
#[derive(Debug)]
pub(crate) struct Activity {
    born: Instant,
    served: AtomicBool,
    active: AtomicUsize,
    /// When the last request ended, milliseconds after `born`.
    last_end_ms: AtomicU64,
}

/// Held while a request is handled.
pub(crate) struct Busy<'a>(&'a Activity);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        let a = self.0;
        a.last_end_ms
            .store(a.born.elapsed().as_millis() as u64, Ordering::SeqCst);
        a.active.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Activity {
    pub(crate) fn new() -> Activity {
        Activity {
            born: Instant::now(),
            served: AtomicBool::new(false),
            active: AtomicUsize::new(0),
            last_end_ms: AtomicU64::new(0),
        }
    }

    pub(crate) fn begin(&self) -> Busy<'_> {
        self.served.store(true, Ordering::SeqCst);
        self.active.fetch_add(1, Ordering::SeqCst);
        Busy(self)
    }

    /// How long the connection has been idle after a request (None while one is handled, or
    /// before the first).
    fn idle_for(&self) -> Option<Duration> {
        if !self.served.load(Ordering::SeqCst) || self.active.load(Ordering::SeqCst) > 0 {
            return None;
        }
        let end = Duration::from_millis(self.last_end_ms.load(Ordering::SeqCst));
        Some(self.born.elapsed().saturating_sub(end))
    }
}

/// Drives `conn` to its end (see the module's comment).
pub(crate) async fn drive<C: Graceful>(
    mut conn: Pin<&mut C>,
    mut drain: watch::Receiver<bool>,
    act: &Activity,
    keepalive_timeout: Duration,
    first_request_wait: Duration,
) {
    loop {
        let wait = match act.idle_for() {
            Some(idle) => keepalive_timeout.saturating_sub(idle),
            None => keepalive_timeout,
        };
        tokio::select! {
            _ = conn.as_mut() => return,
            _ = drain.changed() => break,
            _ = tokio::time::sleep(wait) => {
                if act.idle_for().is_some_and(|idle| idle >= keepalive_timeout) {
                    conn.as_mut().graceful();
                    let _ = conn.await;
                    return;
                }
            }
        }
    }
    // Draining. A connection whose first request has not come yet gets it served (its client
    // sent it to this front); then each connection finishes its request and closes.
    let since = Instant::now();
    while !act.served.load(Ordering::SeqCst) && since.elapsed() < first_request_wait {
        tokio::select! {
            _ = conn.as_mut() => return,
            _ = tokio::time::sleep(Duration::from_millis(5)) => {}
        }
    }
    conn.as_mut().graceful();
    let _ = conn.await;
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_catalog_and_plugin_sync_answers_close_their_connection() {
        for p in [
            "/puppet/v3/catalog/a.example.test",
            "/puppet/v3/file_metadatas/plugins",
            "/puppet/v3/file_content/plugins/x/facter/y.rb",
        ] {
            assert!(super::closes_after(p), "{p}");
        }
        for p in [
            "/puppet/v3/node/a.example.test",
            "/puppet/v3/file_metadata/modules/m/f",
            "/puppet/v3/report/a.example.test",
            "/puppet-ca/v1/certificate/ca",
            "/status/v1/simple",
            "/puppet/v3/catalogx",
        ] {
            assert!(!super::closes_after(p), "{p}");
        }
    }
}
