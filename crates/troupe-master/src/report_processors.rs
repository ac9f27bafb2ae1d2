//! Puppet's report processors (`reports = store, http`): `store` keeps the report in
//! `reportdir` (see `reports`), `http` posts its YAML (`report_yaml`) to `reporturl` as
//! puppetserver does: `Content-Type: application/x-yaml`, basic authentication from the URL's
//! user and password, an `https` server verified against the Puppet CA with this master's
//! certificate as the client's. Posting runs on its own thread from a bounded queue, so an
//! agent's report never waits for the report server; a report that cannot be sent is logged
//! with Puppet's words ("Unable to submit report to URL [CODE] ...") and counted. The counts of
//! reports by status and of the processors' work are kept for `/status/v1/services`.

use crate::http_client::{request, Target};
use serde_json::{json, Value as J};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Duration;

/// Reports waiting for the `http` processor at most; more are dropped (and counted).
const QUEUE: usize = 1000;
/// One post may take this long.
const POST_TIMEOUT: Duration = Duration::from_secs(10);

/// The processors named by `reports`, checked: `store`, `http`; `none` (or nothing) for none.
pub fn parse(list: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for p in list
        .split([',', ' '])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        match p {
            "none" => {}
            "store" | "http" | "puppetdb" => {
                if !out.iter().any(|o| o == p) {
                    out.push(p.to_string())
                }
            }
            other => {
                return Err(format!(
                "reports: troupe has the report processors store, http and puppetdb, not '{other}'"
            ))
            }
        }
    }
    Ok(out)
}

/// Counts of reports and of the processors' work.
#[derive(Debug, Default)]
pub struct Stats {
    pub received: AtomicU64,
    pub changed: AtomicU64,
    pub unchanged: AtomicU64,
    pub failed: AtomicU64,
    pub stored: AtomicU64,
    pub http_sent: AtomicU64,
    pub http_failed: AtomicU64,
    pub http_dropped: AtomicU64,
    /// When the last report came (Unix seconds).
    pub last_at: AtomicU64,
}

impl Stats {
    /// Counts a report by its `status`.
    pub fn count(&self, report: &J) {
        self.received.fetch_add(1, Ordering::Relaxed);
        let c = match report.get("status").and_then(J::as_str) {
            Some("changed") => Some(&self.changed),
            Some("unchanged") => Some(&self.unchanged),
            Some("failed") => Some(&self.failed),
            _ => None,
        };
        if let Some(c) = c {
            c.fetch_add(1, Ordering::Relaxed);
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        self.last_at.store(now, Ordering::Relaxed);
    }

    /// The `reports` part of `/status/v1/services`.
    pub fn status(&self) -> J {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        json!({
            "received": g(&self.received), "changed": g(&self.changed),
            "unchanged": g(&self.unchanged), "failed": g(&self.failed), "stored": g(&self.stored),
            "http_sent": g(&self.http_sent), "http_failed": g(&self.http_failed),
            "http_dropped": g(&self.http_dropped), "last_report_at": g(&self.last_at),
        })
    }
}

/// The `http` processor's queue.
#[derive(Debug)]
pub struct HttpSender {
    tx: SyncSender<J>,
}

impl HttpSender {
    /// Starts the posting thread for `url`; `tls` is the client configuration for https.
    pub fn start(
        url: &str,
        tls: Option<Arc<rustls::ClientConfig>>,
        stats: Arc<Stats>,
    ) -> Result<HttpSender, String> {
        let t = Target::parse(url, "reporturl")?;
        if t.tls && tls.is_none() {
            return Err(format!(
                "reporturl = {url}: https needs the master's certificate and the CA"
            ));
        }
        let (tx, rx) = sync_channel::<J>(QUEUE);
        std::thread::Builder::new()
            .name("report-http".into())
            .spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                while let Ok(report) = rx.recv() {
                    let yaml = crate::report_yaml::report(&report);
                    let r = rt.block_on(async {
                        tokio::time::timeout(POST_TIMEOUT, post_yaml(&t, tls.clone(), yaml))
                            .await
                            .unwrap_or_else(|_| Err("no answer within 10 s".into()))
                    });
                    match r {
                        Ok(()) => stats.http_sent.fetch_add(1, Ordering::Relaxed),
                        Err(e) => {
                            tracing::error!("Unable to submit report to {} {e}", t.url);
                            stats.http_failed.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                }
            })
            .map_err(|e| format!("cannot start the report sender: {e}"))?;
        Ok(HttpSender { tx })
    }

    /// Queues a report; false when the queue is full (the report is not posted).
    pub fn send(&self, report: J) -> bool {
        match self.tx.try_send(report) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
        }
    }
}

/// Posts a report's YAML as puppetserver's `http` processor does.
async fn post_yaml(
    t: &Target,
    tls: Option<Arc<rustls::ClientConfig>>,
    yaml: String,
) -> Result<(), String> {
    let mut headers = vec![
        ("Content-Type", "application/x-yaml".to_string()),
        (
            "User-Agent",
            "troupe/7.23.0 (report processor http)".to_string(),
        ),
    ];
    if let Some(b) = &t.basic {
        headers.push(("Authorization", b.clone()));
    }
    let (status, _) = request(t, tls, "POST", &t.path, &headers, yaml.into_bytes()).await?;
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(format!(
            "[{status}] {}",
            hyper::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processors_and_urls() {
        assert_eq!(
            parse("store, http"),
            Ok(vec!["store".into(), "http".into()])
        );
        assert_eq!(parse("none"), Ok(vec![]));
        assert!(parse("store,tagmail").is_err());
        let t = Target::parse(
            "https://u%40x:p@reports.example.test:8443/upload?a=1",
            "reporturl",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(t.tls && t.authority == "reports.example.test:8443" && t.path == "/upload?a=1");
        assert_eq!(t.basic.as_deref(), Some("Basic dUB4OnA="));
        let t = Target::parse("http://localhost/r", "reporturl").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (t.authority.as_str(), t.host.as_str()),
            ("localhost:80", "localhost")
        );
        assert!(
            Target::parse("ftp://x/", "reporturl").is_err()
                && Target::parse("http:///x", "reporturl").is_err()
        );
    }
}
