//! The commands waiting for PuppetDB: a directory of files, one per command, delivered in
//! order by one sender thread, so an agent run never waits for PuppetDB and nothing is lost
//! while it is down or when the master restarts (the next master to lock the directory
//! delivers what is left).
//!
//! A file is `<seq, 16 digits>.cmd`: one JSON line with the command's name, version,
//! certname and producer timestamp, then the payload. It is written to a temporary name and
//! renamed, so a crash leaves whole commands or none. A newer `replace facts` or
//! `replace catalog` of a node replaces its older one that is still waiting (PuppetDB keeps
//! only the newest); reports are all kept. Past `limit` commands the oldest waiting one is
//! dropped, logged and counted. A command PuppetDB refuses (4xx: it will never take it) is
//! moved to `rejected/` with the answer logged; any other failure is retried with a backoff
//! of 250 ms doubling to 10 s, logged once when the outage starts and once when it ends.

use crate::http_client::{Conn, Target};
use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// Counts for the status page and the metrics.
#[derive(Debug, Default)]
pub struct Stats {
    pub queued: AtomicU64,
    pub sent: AtomicU64,
    pub superseded: AtomicU64,
    pub dropped: AtomicU64,
    pub rejected: AtomicU64,
    pub retries: AtomicU64,
    /// Commands waiting now.
    pub waiting: AtomicU64,
    /// Microseconds spent posting commands that PuppetDB took.
    pub send_us: AtomicU64,
}

#[derive(Debug, Clone)]
struct Entry {
    seq: u64,
    command: String,
    certname: String,
}

#[derive(Debug, Default)]
struct Inner {
    pending: VecDeque<Entry>,
    next_seq: u64,
    /// The waiting `replace facts`/`replace catalog` of each node: (command, certname) → seq.
    latest: HashMap<(String, String), u64>,
    /// The command being posted (never superseded or dropped under the sender).
    in_flight: Option<u64>,
}

#[derive(Debug)]
pub struct Queue {
    dir: PathBuf,
    limit: usize,
    inner: Mutex<Inner>,
    ready: Condvar,
    pub stats: Arc<Stats>,
    /// Held for the queue's life: one master per directory.
    _lock: File,
}

fn file_of(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:016}.cmd"))
}

impl Queue {
    /// Takes the first of `base/0`, `base/1`, ... that no other process holds, and loads
    /// the commands left in it.
    pub fn open(base: &Path, limit: usize) -> Result<Arc<Queue>, String> {
        std::fs::create_dir_all(base)
            .map_err(|e| format!("puppetdb_queue {}: {e}", base.display()))?;
        for n in 0..64 {
            let dir = base.join(n.to_string());
            std::fs::create_dir_all(dir.join("rejected"))
                .map_err(|e| format!("puppetdb_queue {}: {e}", dir.display()))?;
            let lock = File::create(dir.join(".lock"))
                .map_err(|e| format!("puppetdb_queue {}: {e}", dir.display()))?;
            if rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive)
                .is_err()
            {
                continue;
            }
            let q = Queue {
                inner: Mutex::new(load(&dir)?),
                dir,
                limit: limit.max(1),
                ready: Condvar::new(),
                stats: Arc::new(Stats::default()),
                _lock: lock,
            };
            let n = q.lock().pending.len();
            q.stats.waiting.store(n as u64, Ordering::Relaxed);
            if n > 0 {
                tracing::info!(
                    "{n} PuppetDB commands left by an earlier master are queued in {}",
                    q.dir.display()
                );
            }
            return Ok(Arc::new(q));
        }
        Err(format!(
            "puppetdb_queue {}: 64 masters hold its queues already",
            base.display()
        ))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a command (written before this returns); false if it could not be written.
    pub fn push(
        &self,
        command: &str,
        version: u32,
        certname: &str,
        producer_timestamp: &str,
        payload: &serde_json::Value,
    ) -> bool {
        let seq = {
            let mut g = self.lock();
            g.next_seq += 1;
            g.next_seq
        };
        let head = serde_json::json!({"command": command, "version": version,
            "certname": certname, "producer_timestamp": producer_timestamp});
        let mut bytes = head.to_string().into_bytes();
        bytes.push(b'\n');
        if serde_json::to_writer(&mut bytes, payload).is_err() {
            return false;
        }
        let path = file_of(&self.dir, seq);
        let tmp = self.dir.join(format!(".{seq:016}.tmp"));
        let written = File::create(&tmp)
            .and_then(|mut f| f.write_all(&bytes))
            .and_then(|_| std::fs::rename(&tmp, &path));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            tracing::error!(
                "cannot queue the '{command}' command for {certname} in {}: {e}",
                self.dir.display()
            );
            return false;
        }
        let mut g = self.lock();
        let entry = Entry {
            seq,
            command: command.to_string(),
            certname: certname.to_string(),
        };
        if command != super::commands::REPORT.0 {
            let key = (entry.command.clone(), entry.certname.clone());
            if let Some(old) = g.latest.insert(key, seq) {
                if g.in_flight != Some(old) {
                    if let Some(i) = g.pending.iter().position(|e| e.seq == old) {
                        g.pending.remove(i);
                        let _ = std::fs::remove_file(file_of(&self.dir, old));
                        self.stats.superseded.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
        g.pending.push_back(entry);
        self.stats.queued.fetch_add(1, Ordering::Relaxed);
        while g.pending.len() > self.limit {
            let Some(i) = g.pending.iter().position(|e| Some(e.seq) != g.in_flight) else {
                break;
            };
            let Some(old) = g.pending.remove(i) else {
                break;
            };
            g.latest.retain(|_, s| *s != old.seq);
            let _ = std::fs::remove_file(file_of(&self.dir, old.seq));
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                "PuppetDB queue full ({} commands): dropped the oldest, '{}' for {}",
                self.limit,
                old.command,
                old.certname
            );
        }
        self.stats
            .waiting
            .store(g.pending.len() as u64, Ordering::Relaxed);
        drop(g);
        self.ready.notify_one();
        true
    }

    /// The newest waiting payload of `command` for `certname` (the cached facts of a node
    /// whose `replace facts` has not reached PuppetDB yet).
    pub fn newest(&self, command: &str, certname: &str) -> Option<serde_json::Value> {
        let seq = *self
            .lock()
            .latest
            .get(&(command.to_string(), certname.to_string()))?;
        read(&file_of(&self.dir, seq))
            .ok()
            .and_then(|(_, p)| serde_json::from_slice(&p).ok())
    }

    /// Starts the sender: commands go to `servers` in order (the first that takes one),
    /// and to `also` (submit-only servers) as well.
    pub fn start_sender(
        self: &Arc<Self>,
        servers: Vec<Target>,
        also: Vec<Target>,
        tls: Option<Arc<rustls::ClientConfig>>,
        timeout: Duration,
    ) -> Result<(), String> {
        let q = self.clone();
        std::thread::Builder::new()
            .name("puppetdb-sender".into())
            .spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                q.send_loop(&rt, &servers, &also, tls, timeout);
            })
            .map(|_| ())
            .map_err(|e| format!("cannot start the PuppetDB sender: {e}"))
    }

    fn send_loop(
        &self,
        rt: &tokio::runtime::Runtime,
        servers: &[Target],
        also: &[Target],
        tls: Option<Arc<rustls::ClientConfig>>,
        timeout: Duration,
    ) {
        let mut backoff = Duration::from_millis(250);
        let mut outage: Option<(std::time::Instant, u64)> = None;
        // One kept connection per server (by position in `also` then `servers`).
        let mut conns: Vec<Option<Conn>> = (0..also.len() + servers.len()).map(|_| None).collect();
        loop {
            let entry = {
                let mut g = self.lock();
                loop {
                    if let Some(e) = g.pending.front().cloned() {
                        g.in_flight = Some(e.seq);
                        break e;
                    }
                    g = self.ready.wait(g).unwrap_or_else(|p| p.into_inner());
                }
            };
            let path = file_of(&self.dir, entry.seq);
            let outcome = match read(&path) {
                Err(e) => Outcome::Unreadable(e),
                Ok((head, payload)) => {
                    let started = std::time::Instant::now();
                    let o = rt.block_on(post(
                        servers, also, &tls, timeout, &head, &payload, &mut conns,
                    ));
                    if matches!(o, Outcome::Taken) {
                        self.stats
                            .send_us
                            .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
                    }
                    o
                }
            };
            let done = match outcome {
                Outcome::Taken => {
                    self.stats.sent.fetch_add(1, Ordering::Relaxed);
                    let _ = std::fs::remove_file(&path);
                    if let Some((since, n)) = outage.take() {
                        tracing::info!(
                            "PuppetDB takes commands again after {:.0?} ({n} failed attempts); delivering the queue",
                            since.elapsed()
                        );
                    }
                    backoff = Duration::from_millis(250);
                    true
                }
                Outcome::Refused(why) => {
                    self.stats.rejected.fetch_add(1, Ordering::Relaxed);
                    let to = self
                        .dir
                        .join("rejected")
                        .join(format!("{:016}.cmd", entry.seq));
                    let _ = std::fs::rename(&path, &to);
                    tracing::error!(
                        "PuppetDB refused the '{}' command for {}: {why}; kept in {}",
                        entry.command,
                        entry.certname,
                        to.display()
                    );
                    true
                }
                Outcome::Unreadable(why) => {
                    tracing::error!(
                        "a queued PuppetDB command {} is unreadable: {why}; dropped",
                        path.display()
                    );
                    self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                    let _ = std::fs::remove_file(&path);
                    true
                }
                Outcome::Failed(why) => {
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    match &mut outage {
                        None => {
                            tracing::warn!(
                                "cannot submit the '{}' command for {} to PuppetDB: {why}; commands are queued in {} and retried",
                                entry.command,
                                entry.certname,
                                self.dir.display()
                            );
                            outage = Some((std::time::Instant::now(), 1));
                        }
                        Some((_, n)) => *n += 1,
                    }
                    false
                }
            };
            let mut g = self.lock();
            g.in_flight = None;
            if done {
                if let Some(i) = g.pending.iter().position(|e| e.seq == entry.seq) {
                    g.pending.remove(i);
                }
                g.latest.retain(|_, s| *s != entry.seq);
                self.stats
                    .waiting
                    .store(g.pending.len() as u64, Ordering::Relaxed);
            } else {
                drop(g);
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
}

enum Outcome {
    Taken,
    Refused(String),
    Failed(String),
    Unreadable(String),
}

async fn post(
    servers: &[Target],
    also: &[Target],
    tls: &Option<Arc<rustls::ClientConfig>>,
    timeout: Duration,
    head: &serde_json::Value,
    payload: &[u8],
    conns: &mut [Option<Conn>],
) -> Outcome {
    let s = |k: &str| head.get(k).and_then(|v| v.as_str()).unwrap_or_default();
    let enc = |v: &str| {
        percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    let path = format!(
        "/pdb/cmd/v1?command={}&version={}&certname={}&producer-timestamp={}",
        s("command").replace(' ', "_"),
        head.get("version").and_then(|v| v.as_u64()).unwrap_or(0),
        enc(s("certname")),
        enc(s("producer_timestamp")),
    );
    let headers = [
        ("Accept", "application/json".to_string()),
        (
            "Content-Type",
            "application/json; charset=utf-8".to_string(),
        ),
        ("X-Uncompressed-Length", payload.len().to_string()),
    ];
    let (also_conns, server_conns) = conns.split_at_mut(also.len());
    for (t, c) in also.iter().zip(also_conns.iter_mut()) {
        if let Err(e) = send_kept(t, tls, timeout, &path, &headers, payload, c).await {
            tracing::warn!("a submit-only PuppetDB did not take a command: {e}");
        }
    }
    let mut last = String::from("no PuppetDB server");
    for (t, c) in servers.iter().zip(server_conns.iter_mut()) {
        match send_kept(t, tls, timeout, &path, &headers, payload, c).await {
            Ok((code, _)) if (200..300).contains(&code) => return Outcome::Taken,
            Ok((code, body)) if (400..500).contains(&code) && code != 408 && code != 429 => {
                let text = String::from_utf8_lossy(&body).replace(['\r', '\n'], "");
                return Outcome::Refused(format!("[{code}] {text}"));
            }
            Ok((code, body)) => {
                last = format!(
                    "{}: [{code}] {}",
                    t.base(),
                    String::from_utf8_lossy(&body).replace(['\r', '\n'], "")
                )
            }
            Err(e) => last = e,
        }
    }
    Outcome::Failed(last)
}

/// Posts on the server's kept connection (opened when there is none or the server closed
/// it); a connection that fails is dropped, and a request that failed on a kept connection
/// is tried once more on a new one (the server may have closed it while idle).
#[allow(clippy::too_many_arguments)]
async fn send_kept(
    t: &Target,
    tls: &Option<Arc<rustls::ClientConfig>>,
    timeout: Duration,
    path: &str,
    headers: &[(&str, String)],
    payload: &[u8],
    kept: &mut Option<Conn>,
) -> Result<(u16, bytes::Bytes), String> {
    let attempt = async {
        let reused = kept.as_ref().is_some_and(Conn::usable);
        if !reused {
            *kept = Some(Conn::open(t, tls.clone()).await?);
        }
        let Some(c) = kept.as_mut() else {
            return Err("[connect] no connection".to_string());
        };
        match c.send(t, "POST", path, headers, payload.to_vec()).await {
            Err(_) if reused => {
                let mut fresh = Conn::open(t, tls.clone()).await?;
                let r = fresh.send(t, "POST", path, headers, payload.to_vec()).await;
                *kept = Some(fresh);
                r
            }
            r => r,
        }
    };
    let r = tokio::time::timeout(timeout, attempt)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {timeout:?}")));
    if r.is_err() {
        *kept = None;
    }
    r.map_err(|e| format!("{}: {e}", t.base()))
}

/// A command file: its head line and payload.
fn read(path: &Path) -> Result<(serde_json::Value, Vec<u8>), String> {
    let f = File::open(path).map_err(|e| e.to_string())?;
    let mut r = BufReader::new(f);
    let mut head = String::new();
    r.read_line(&mut head).map_err(|e| e.to_string())?;
    let head: serde_json::Value = serde_json::from_str(&head).map_err(|e| e.to_string())?;
    let mut payload = Vec::new();
    r.read_to_end(&mut payload).map_err(|e| e.to_string())?;
    Ok((head, payload))
}

/// The commands left in a queue directory, in order.
fn load(dir: &Path) -> Result<Inner, String> {
    let mut seqs: Vec<u64> = Vec::new();
    let list = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for e in list.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(n) = name.strip_suffix(".cmd").and_then(|n| n.parse().ok()) {
            seqs.push(n);
        } else if name.ends_with(".tmp") {
            let _ = std::fs::remove_file(e.path());
        }
    }
    seqs.sort_unstable();
    let mut inner = Inner::default();
    for seq in seqs {
        inner.next_seq = inner.next_seq.max(seq);
        let head = match read(&file_of(dir, seq)) {
            Ok((head, _)) => head,
            Err(e) => {
                let to = dir.join("rejected").join(format!("{seq:016}.cmd"));
                let _ = std::fs::rename(file_of(dir, seq), &to);
                tracing::error!(
                    "a queued PuppetDB command is unreadable ({e}); moved to {}",
                    to.display()
                );
                continue;
            }
        };
        let s = |k: &str| {
            head.get(k)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        let entry = Entry {
            seq,
            command: s("command"),
            certname: s("certname"),
        };
        if entry.command != super::commands::REPORT.0 {
            inner
                .latest
                .insert((entry.command.clone(), entry.certname.clone()), seq);
        }
        inner.pending.push_back(entry);
    }
    Ok(inner)
}
