//! PuppetDB, as puppetserver with the PuppetDB terminus uses it (`storeconfigs = true`,
//! `storeconfigs_backend = puppetdb`, `reports = puppetdb`, `puppetdb.conf`):
//! - the facts of every catalog request (`replace facts`), every catalog compiled
//!   (`replace catalog`, exported resources included) and every report (`store report`)
//!   go through a queue on disk (`queue`) to PuppetDB's command API, so an agent's run never
//!   waits for PuppetDB and a PuppetDB outage loses nothing;
//! - `Type <<| query |>>` asks PuppetDB's query API for what other nodes exported
//!   (`Storeconfigs::search`, called by the compile);
//! - a catalog request without facts compiles with the node's last facts: those still
//!   queued, else PuppetDB's.
//!
//! Every call is made over TLS with this master's certificate (verified against the Puppet
//! CA), bounded by `server_url_timeout`, trying `server_urls` in order.

pub mod commands;
pub mod conf;
pub mod queue;

use crate::http_client::request;
use serde_json::{json, Value as J};
use std::sync::Arc;

pub use conf::PdbConf;
pub use queue::Queue;

#[derive(Debug)]
pub struct PuppetDb {
    pub conf: PdbConf,
    pub queue: Arc<Queue>,
    tls: Option<Arc<rustls::ClientConfig>>,
    /// Where blocking callers (compile workers) run their queries.
    rt: tokio::runtime::Runtime,
    /// This master's certname: the commands' `producer`.
    pub producer: String,
}

impl PuppetDb {
    pub fn start(
        conf: PdbConf,
        queue_dir: &std::path::Path,
        queue_limit: usize,
        tls: Option<Arc<rustls::ClientConfig>>,
        producer: String,
    ) -> Result<PuppetDb, String> {
        let uses_tls = conf
            .server_urls
            .iter()
            .chain(conf.submit_only.iter())
            .any(|t| t.tls);
        if uses_tls && tls.is_none() {
            return Err("PuppetDB over https needs the master's certificate and the CA".into());
        }
        let queue = Queue::open(queue_dir, queue_limit)?;
        queue.start_sender(
            conf.server_urls.clone(),
            conf.submit_only.clone(),
            tls.clone(),
            conf.timeout,
        )?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("puppetdb-query")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start PuppetDB's query runtime: {e}"))?;
        Ok(PuppetDb {
            conf,
            queue,
            tls,
            rt,
            producer,
        })
    }

    /// Queues a command; logged if it cannot be.
    pub fn submit(&self, (command, version): (&str, u32), certname: &str, payload: &J) {
        let ts = payload
            .get("producer_timestamp")
            .and_then(J::as_str)
            .map(str::to_string)
            .unwrap_or_else(commands::now_wire);
        self.queue.push(command, version, certname, &ts, payload);
    }

    /// GET `path` from the first server that answers 200: its JSON and that server's
    /// `scheme://host:port`; errors name the server.
    async fn query(&self, path: &str) -> Result<(J, String), String> {
        let headers = [("Accept", "application/json".to_string())];
        let mut last = String::from("no PuppetDB server");
        for t in &self.conf.server_urls {
            let r = tokio::time::timeout(
                self.conf.timeout,
                request(t, self.tls.clone(), "GET", path, &headers, Vec::new()),
            )
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {:?}", self.conf.timeout)));
            match r {
                Ok((200, body)) => {
                    return serde_json::from_slice(&body)
                        .map(|j| (j, t.base()))
                        .map_err(|e| {
                            format!(
                                "Could not retrieve resources from the PuppetDB at {}: the answer is not JSON: {e}",
                                t.base()
                            )
                        })
                }
                Ok((code, body)) => {
                    last = format!(
                        "Could not retrieve resources from the PuppetDB at {}: [{code}] {}",
                        t.base(),
                        String::from_utf8_lossy(&body).replace(['\r', '\n'], "")
                    );
                    if code == 404 {
                        return Err(format!("404:{last}"));
                    }
                }
                Err(e) => {
                    last = format!(
                        "Could not retrieve resources from the PuppetDB at {}: {e}",
                        t.base()
                    )
                }
            }
        }
        Err(last)
    }

    /// The node's last facts (`{"name": ..., "values": {...}}`), for a catalog request that
    /// sent none: the ones still queued, else PuppetDB's; `None` if PuppetDB has none.
    pub async fn last_facts(&self, certname: &str) -> Result<Option<J>, String> {
        if let Some(p) = self.queue.newest(commands::FACTS.0, certname) {
            let mut values = p.get("values").cloned().unwrap_or_else(|| json!({}));
            if let J::Object(m) = &mut values {
                m.remove("trusted");
            }
            return Ok(Some(json!({"name": certname, "values": values})));
        }
        let path = format!(
            "/pdb/query/v4/nodes/{}/facts",
            percent_encoding::utf8_percent_encode(certname, percent_encoding::NON_ALPHANUMERIC)
        );
        let rows = match self.query(&path).await {
            Ok((r, _)) => r,
            Err(e) if e.starts_with("404:") => return Ok(None),
            Err(e) => return Err(e.replace("retrieve resources", "retrieve facts")),
        };
        let mut values = serde_json::Map::new();
        for row in rows.as_array().into_iter().flatten() {
            if let (Some(n), Some(v)) = (row.get("name").and_then(J::as_str), row.get("value")) {
                if n != "trusted" {
                    values.insert(n.to_string(), v.clone());
                }
            }
        }
        if values.is_empty() {
            return Ok(None);
        }
        Ok(Some(json!({"name": certname, "values": values})))
    }

    /// Counts for `/status/v1/services` and the metrics.
    pub fn status(&self) -> J {
        use std::sync::atomic::Ordering::Relaxed;
        let s = &self.queue.stats;
        let sent = s.sent.load(Relaxed);
        json!({
            "server_urls": self.conf.server_urls.iter().map(|t| t.url.clone()).collect::<Vec<_>>(),
            "queued": s.queued.load(Relaxed), "sent": sent, "waiting": s.waiting.load(Relaxed),
            "superseded": s.superseded.load(Relaxed), "dropped": s.dropped.load(Relaxed),
            "rejected": s.rejected.load(Relaxed), "retries": s.retries.load(Relaxed),
            "average_send_ms": if sent > 0 { s.send_us.load(Relaxed) as f64 / sent as f64 / 1000.0 } else { 0.0 },
        })
    }
}

/// The query the terminus sends for exported resources.
pub fn resource_query(type_name: &str, host: &str, filter: Option<&J>) -> J {
    let mut q = json!([
        "and",
        ["=", "type", type_name],
        ["=", "exported", true],
        ["not", ["=", "certname", host]]
    ]);
    if let (Some(f), J::Array(a)) = (filter, &mut q) {
        a.push(f.clone());
    }
    q
}

impl troupe_eval::code::Storeconfigs for PuppetDb {
    fn search(&self, type_name: &str, host: &str, filter: Option<&J>) -> Result<Vec<J>, String> {
        let q = resource_query(type_name, host, filter).to_string();
        let path = format!(
            "/pdb/query/v4/resources?query={}",
            percent_encoding::utf8_percent_encode(&q, percent_encoding::NON_ALPHANUMERIC)
        );
        let (rows, server) = self
            .rt
            .block_on(self.query(&path))
            .map_err(|e| e.trim_start_matches("404:").to_string())?;
        match rows {
            J::Array(a) => Ok(a),
            other => Err(format!(
                "Could not retrieve resources from the PuppetDB at {server}: the answer is not a list: {}",
                other.to_string().chars().take(200).collect::<String>()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_is_the_terminus_query() {
        let q = resource_query("Host", "n1", Some(&json!(["=", "tag", "db"])));
        assert_eq!(
            q,
            json!([
                "and",
                ["=", "type", "Host"],
                ["=", "exported", true],
                ["not", ["=", "certname", "n1"]],
                ["=", "tag", "db"]
            ])
        );
        assert_eq!(
            resource_query("Host", "n1", None).as_array().map(Vec::len),
            Some(4)
        );
    }
}
