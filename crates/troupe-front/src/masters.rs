//! The set of masters while the front runs: their active health checks (a check that gets no
//! answer within `stall_timeout` is a stall), and changes to the set (`State::set_backends`)
//! that keep what stays, start what comes and retire what goes.

use crate::backend::Backend;
use crate::dial::connect;
use crate::{upstream, BackendSpec, BoxError, State};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

impl State {
    /// Replaces the masters with `specs` (discovery calls it with the whole current list).
    /// A master already there (same address and scheme) keeps its health, figures and pooled
    /// connections (its `local` flag is updated); a new one starts up, with its health loop;
    /// one no longer listed leaves the rotation at once and its health loop ends, while
    /// requests in flight on it finish. Callable from any thread (the health loops run on the
    /// front's runtime). Refused, changing nothing, when a TLS master is listed and the front
    /// has no TLS client configuration.
    pub fn set_backends(self: &Arc<Self>, specs: Vec<BackendSpec>) -> Result<(), BoxError> {
        if self.client_tls.is_none() {
            if let Some(s) = specs.iter().find(|s| s.tls) {
                return Err(format!(
                    "master https://{}: the front has no TLS client configuration",
                    s.addr
                )
                .into());
            }
        }
        let mut started = vec![];
        let mut retired = vec![];
        {
            let mut guard = match self.backends.write() {
                Ok(g) => g,
                Err(e) => e.into_inner(),
            };
            let mut old: HashMap<(SocketAddr, bool), Arc<Backend>> =
                guard.iter().map(|b| ((b.addr, b.tls), b.clone())).collect();
            let mut next: Vec<Arc<Backend>> = Vec::with_capacity(specs.len());
            for s in &specs {
                if next.iter().any(|b| b.addr == s.addr) {
                    continue; // listed twice: the first one counts
                }
                let b = match old.remove(&(s.addr, s.tls)) {
                    Some(b) => {
                        b.local.store(s.local, std::sync::atomic::Ordering::Relaxed);
                        b
                    }
                    None => {
                        let b = Arc::new(Backend::new(s, self.config.rise, self.config.fall));
                        started.push(b.clone());
                        b
                    }
                };
                next.push(b);
            }
            retired.extend(old.into_values());
            *guard = Arc::new(next);
        }
        self.apply_controls();
        for b in &retired {
            b.retire();
            tracing::info!(backend = %b.addr, "backend {} removed", b.addr);
        }
        for b in started {
            tracing::info!(
                backend = %b.addr,
                "backend {}{} added ({})",
                if b.tls { "https://" } else { "" },
                b.addr,
                if b.is_local() { "local" } else { "remote" }
            );
            self.watch(b);
        }
        Ok(())
    }

    /// Starts the health loop of `b`; it ends when the front stops or `b` is retired.
    pub(crate) fn watch(self: &Arc<Self>, b: Arc<Backend>) {
        let mut stop = self.stop.clone();
        let retired = b.retired();
        let state = self.clone();
        self.runtime.spawn(async move {
            if *stop.borrow() {
                return;
            }
            tokio::select! {
                _ = health_loop(state, b) => {}
                _ = stop.changed() => {}
                _ = retired => {}
            }
        });
    }
}

/// Active health check: `GET /status/v1/simple`, `check_interval` after the previous one
/// ended. No answer within `stall_timeout` (a SIGSTOPped master still completes TCP
/// handshakes, then says nothing) is a stall, unless the master answered requests while the
/// check waited: then it is saturated (its check queued behind its work) and keeps serving.
/// Other failures count towards `fall`.
async fn health_loop(state: Arc<State>, b: Arc<Backend>) {
    loop {
        let answers = b.answers.load(Ordering::SeqCst);
        match tokio::time::timeout(state.config.stall_timeout, check(&state, &b)).await {
            Ok(Ok(())) => b.record(true, ""),
            Ok(Err(why)) => {
                b.record(false, &format!("health check: {why}"));
                b.drop_idle();
            }
            Err(_) if b.answers.load(Ordering::SeqCst) != answers => b.slow_check(),
            Err(_) => b.stalled(&format!(
                "stalled: health check not answered within {} ms",
                state.config.stall_timeout.as_millis()
            )),
        }
        tokio::time::sleep(state.config.check_interval).await;
    }
}

async fn check(state: &State, b: &Backend) -> Result<(), String> {
    let mut conn = connect(state, b).await?;
    let mut req = Vec::with_capacity(128);
    upstream::write_head(&mut req, "GET", "/status/v1/simple");
    upstream::write_header(&mut req, b"host", b.addr.to_string().as_bytes());
    upstream::write_header(&mut req, b"connection", b"close");
    req.extend_from_slice(b"\r\n");
    let (resp, _) = conn
        .exchange(&[&req], false)
        .await
        .map_err(|e| e.to_string())?;
    if resp.status != 200 {
        return Err(format!("HTTP {}", resp.status));
    }
    Ok(())
}
