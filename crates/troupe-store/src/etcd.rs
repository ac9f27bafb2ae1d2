//! The `etcd://` backend: an etcd v3 cluster through `etcd-client`.
//!
//! Every key is stored as `PREFIX + key`. Versions are mod revisions; transactions compare
//! them. Calls run on a small tokio runtime owned by the store and are waited for on the
//! calling thread, with a deadline: a cluster that is down or without quorum answers
//! `Unavailable` within [`CALL_TIMEOUT`].

use std::future::Future;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use etcd_client::{
    Certificate, Client, Compare as ECompare, CompareOp, ConnectOptions, DeleteOptions, EventType,
    GetOptions, Identity, PutOptions, TlsOptions, Txn, TxnOp, WatchOptions,
};

use crate::config::StoreConfig;
use crate::error::{Result, StoreError};
use crate::{Compare, Entry, LeaseId, Op, Watch, WatchEvent, WatchStop};

/// How long one call may take before the store counts as unavailable.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(3);
const RETRY_WATCH: Duration = Duration::from_millis(300);
const RETRY_CONNECT: Duration = Duration::from_millis(50);

/// A store in an etcd cluster.
#[derive(Clone)]
pub struct EtcdStore {
    rt: Arc<Runtime>,
    client: Arc<Client>,
    prefix: String,
}

impl std::fmt::Debug for EtcdStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// The runtime the etcd client runs on; shut down in the background when the last store
/// clone goes, so dropping a store inside async code does not panic.
#[derive(Debug)]
pub(crate) struct Runtime(Option<tokio::runtime::Runtime>);

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

impl Runtime {
    fn handle(&self) -> &tokio::runtime::Handle {
        match &self.0 {
            Some(rt) => rt.handle(),
            None => unreachable!("the runtime is only taken on drop"),
        }
    }
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn read_pem(what: &str, path: &std::path::Path) -> Result<Vec<u8>> {
    std::fs::read(path)
        .map_err(|e| StoreError::Config(format!("{what} = {:?}: cannot read: {e}", path.display())))
}

impl EtcdStore {
    /// A client for the cluster; nothing is contacted until the first call.
    pub fn connect(config: &StoreConfig) -> Result<EtcdStore> {
        let StoreConfig::Etcd {
            endpoints,
            prefix,
            ca_cert,
            client_cert,
        } = config
        else {
            return Err(StoreError::Config("not an etcd store configuration".into()));
        };
        let mut options = ConnectOptions::new()
            .with_connect_timeout(Duration::from_secs(2))
            .with_timeout(CALL_TIMEOUT)
            // A member cut off (not refusing) is found by the HTTP/2 keep-alive: within about 2 s.
            .with_keep_alive(Duration::from_secs(1), Duration::from_secs(1));
        let scheme = if let Some(ca) = ca_cert {
            let mut tls = TlsOptions::new()
                .ca_certificate(Certificate::from_pem(read_pem("store_ca_cert", ca)?));
            if let Some((cert, key)) = client_cert {
                tls = tls.identity(Identity::from_pem(
                    read_pem("store_cert", cert)?,
                    read_pem("store_key", key)?,
                ));
            }
            options = options.with_tls(tls);
            "https"
        } else {
            "http"
        };
        let urls: Vec<String> = endpoints
            .iter()
            .map(|e| format!("{scheme}://{e}"))
            .collect();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("store-etcd")
            .enable_all()
            .build()
            .map_err(|e| {
                StoreError::Config(format!("cannot start the etcd client runtime: {e}"))
            })?;
        let rt = Arc::new(Runtime(Some(rt)));
        let client = wait(&rt, move || {
            let (urls, options) = (urls.clone(), options.clone());
            async move { Client::connect(urls, Some(options)).await }
        })?;
        Ok(EtcdStore {
            rt,
            client: Arc::new(client),
            prefix: prefix.clone(),
        })
    }

    fn full(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn strip(&self, key: &[u8]) -> String {
        let k = String::from_utf8_lossy(key);
        k.strip_prefix(&self.prefix).unwrap_or(&k).to_string()
    }

    /// Runs one etcd call (made again by `f` when a member could not be reached at all).
    fn call<T, F>(&self, f: impl Fn(Client) -> F + Send + 'static) -> Result<T>
    where
        T: Send + 'static,
        F: Future<Output = std::result::Result<T, etcd_client::Error>> + Send + 'static,
    {
        let client = Client::clone(&self.client);
        wait(&self.rt, move || f(client.clone()))
    }

    pub(crate) fn get(&self, key: &str) -> Result<Option<Entry>> {
        let full = self.full(key);
        let resp = self.call(move |mut c| {
            let full = full.clone();
            async move { c.get(full, None).await }
        })?;
        Ok(resp.kvs().first().map(|kv| Entry {
            key: key.to_string(),
            value: kv.value().to_vec(),
            version: kv.mod_revision() as u64,
        }))
    }

    pub(crate) fn put(&self, key: &str, value: &[u8], lease: Option<LeaseId>) -> Result<()> {
        let (full, value) = (self.full(key), value.to_vec());
        let options = lease.map(|l| PutOptions::new().with_lease(l.0));
        let r = self.call(move |mut c| {
            let (full, value, options) = (full.clone(), value.clone(), options.clone());
            async move { c.put(full, value, options).await }
        });
        match lease {
            Some(l) => lease_error(r, l).map(|_| ()),
            None => r.map(|_| ()),
        }
    }

    pub(crate) fn delete(&self, key: &str) -> Result<bool> {
        let full = self.full(key);
        let resp = self.call(move |mut c| {
            let full = full.clone();
            async move { c.delete(full, None).await }
        })?;
        Ok(resp.deleted() > 0)
    }

    pub(crate) fn list(&self, prefix: &str) -> Result<Vec<Entry>> {
        let full = self.full(prefix);
        let resp = self.call(move |mut c| {
            let full = full.clone();
            async move { c.get(full, Some(GetOptions::new().with_prefix())).await }
        })?;
        let mut out: Vec<Entry> = resp
            .kvs()
            .iter()
            .map(|kv| Entry {
                key: self.strip(kv.key()),
                value: kv.value().to_vec(),
                version: kv.mod_revision() as u64,
            })
            .collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    pub(crate) fn txn(&self, compares: &[Compare], ops: &[Op]) -> Result<bool> {
        let when: Vec<ECompare> = compares
            .iter()
            .map(|c| match c {
                Compare::Absent(k) => ECompare::version(self.full(k), CompareOp::Equal, 0),
                Compare::Version(k, v) => {
                    ECompare::mod_revision(self.full(k), CompareOp::Equal, *v as i64)
                }
                Compare::Value(k, v) => ECompare::value(self.full(k), CompareOp::Equal, v.clone()),
            })
            .collect();
        let then: Vec<TxnOp> = ops
            .iter()
            .map(|op| match op {
                Op::Put(k, v) => TxnOp::put(self.full(k), v.clone(), None),
                Op::Delete(k) => TxnOp::delete(self.full(k), None::<DeleteOptions>),
            })
            .collect();
        let txn = Txn::new().when(when).and_then(then);
        let resp = self.call(move |mut c| {
            let txn = txn.clone();
            async move { c.txn(txn).await }
        })?;
        Ok(resp.succeeded())
    }

    pub(crate) fn lease_grant(&self, ttl_secs: u64) -> Result<LeaseId> {
        let ttl = ttl_secs.min(i64::MAX as u64) as i64;
        let resp = self.call(move |mut c| async move { c.lease_grant(ttl, None).await })?;
        Ok(LeaseId(resp.id()))
    }

    pub(crate) fn lease_keepalive(&self, lease: LeaseId) -> Result<()> {
        let ttl = lease_error(
            self.call(move |mut c| async move {
                let (mut keeper, mut stream) = c.lease_keep_alive(lease.0).await?;
                keeper.keep_alive().await?;
                Ok(stream.message().await?.map(|r| r.ttl()).unwrap_or(0))
            }),
            lease,
        )?;
        if ttl <= 0 {
            return Err(StoreError::LeaseNotFound(lease.0));
        }
        Ok(())
    }

    pub(crate) fn lease_revoke(&self, lease: LeaseId) -> Result<()> {
        lease_error(
            self.call(move |mut c| async move { c.lease_revoke(lease.0).await }),
            lease,
        )
        .map(|_| ())
    }

    pub(crate) fn watch(&self, prefix: &str) -> Result<Watch> {
        let full = self.full(prefix);
        // The watch starts after the current revision, so that nothing between this call and
        // the stream's creation is lost, and a re-created stream resumes where it stopped.
        let start = {
            let full = full.clone();
            self.call(move |mut c| {
                let full = full.clone();
                async move { c.get(full, Some(GetOptions::new().with_count_only())).await }
            })?
            .header()
            .map(|h| h.revision())
            .unwrap_or(0)
        };
        let (tx, rx) = mpsc::channel();
        let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
        let client = Client::clone(&self.client);
        let prefix_len = self.prefix.len();
        self.rt.handle().spawn(async move {
            let mut next = start + 1;
            loop {
                let mut c = client.clone();
                let options = WatchOptions::new().with_prefix().with_start_revision(next);
                let stream = tokio::select! {
                    _ = &mut stop_rx => return,
                    s = c.watch(full.clone(), Some(options)) => s,
                };
                if let Ok(mut stream) = stream {
                    loop {
                        let msg = tokio::select! {
                            _ = &mut stop_rx => return,
                            m = stream.message() => m,
                        };
                        let Ok(Some(resp)) = msg else { break };
                        if resp.compact_revision() > 0 {
                            next = resp.compact_revision();
                        }
                        if resp.canceled() {
                            break;
                        }
                        for ev in resp.events() {
                            let Some(kv) = ev.kv() else { continue };
                            let key = String::from_utf8_lossy(
                                kv.key().get(prefix_len..).unwrap_or_default(),
                            )
                            .into_owned();
                            next = next.max(kv.mod_revision() + 1);
                            let event = match ev.event_type() {
                                EventType::Put => WatchEvent::Put {
                                    key,
                                    value: kv.value().to_vec(),
                                },
                                EventType::Delete => WatchEvent::Delete { key },
                            };
                            if tx.send(event).is_err() {
                                return;
                            }
                        }
                    }
                }
                tokio::select! {
                    _ = &mut stop_rx => return,
                    _ = tokio::time::sleep(RETRY_WATCH) => {}
                }
            }
        });
        Ok(Watch {
            rx,
            _stop: WatchStop::Etcd(Some(stop_tx), self.rt.clone()),
        })
    }
}

/// etcd's "lease not found" is not an outage.
fn lease_error<T>(r: Result<T>, lease: LeaseId) -> Result<T> {
    match r {
        Err(StoreError::Unavailable(m)) if m.contains("lease not found") => {
            Err(StoreError::LeaseNotFound(lease.0))
        }
        r => r,
    }
}

/// Runs the call `make` makes on the store's runtime and waits for it on this thread, at most
/// [`CALL_TIMEOUT`]. A call that could not reach its member (connection refused: nothing was
/// sent, so trying again cannot apply anything twice) is made again, so the client's balancer
/// picks another member.
fn wait<T, F>(rt: &Runtime, mut make: impl FnMut() -> F + Send + 'static) -> Result<T>
where
    T: Send + 'static,
    F: Future<Output = std::result::Result<T, etcd_client::Error>> + Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    rt.handle().spawn(async move {
        let deadline = tokio::time::Instant::now() + CALL_TIMEOUT;
        let mut refused = 0u32;
        let r = loop {
            let r = tokio::time::timeout_at(deadline, make()).await;
            match &r {
                Ok(Err(e))
                    if never_sent(e) && tokio::time::Instant::now() + RETRY_CONNECT < deadline =>
                {
                    // The balancer's next pick is another member: try it at once; wait only
                    // when several in a row refused (the cluster restarting).
                    refused += 1;
                    if refused > 2 {
                        tokio::time::sleep(RETRY_CONNECT).await;
                    }
                }
                _ => break r,
            }
        };
        let _ = tx.send(r);
    });
    match rx.recv_timeout(CALL_TIMEOUT + Duration::from_secs(1)) {
        Ok(Ok(Ok(v))) => Ok(v),
        Ok(Ok(Err(e))) => Err(unavailable(describe(&e))),
        Ok(Err(_)) | Err(_) => Err(unavailable(format!(
            "no answer from etcd within {} s",
            CALL_TIMEOUT.as_secs()
        ))),
    }
}

/// True for errors of a call that never reached a member.
fn never_sent(e: &etcd_client::Error) -> bool {
    match e {
        etcd_client::Error::GRpcStatus(s) => {
            s.code() == tonic::Code::Unavailable && s.message().contains("connect error")
        }
        etcd_client::Error::TransportError(_) => true,
        _ => false,
    }
}

fn describe(e: &etcd_client::Error) -> String {
    match e {
        etcd_client::Error::GRpcStatus(s) => {
            let msg = s.message();
            if msg.is_empty() {
                format!("etcd: {:?}", s.code())
            } else {
                format!("etcd: {msg}")
            }
        }
        other => format!("etcd: {other}"),
    }
}
