//! Report storage: `PUT /puppet/v3/report/<node>` stores the report as
//! `<reportdir>/<node>/<time>-<transaction_uuid>.json`, where `<time>` is the report's own
//! start time, so that a replayed report (a front may send one twice) lands on the same name
//! and is stored once. The final name is created atomically (a hard link of a complete temp
//! file), so two masters sharing the report directory cannot both store it.
//!
//! Limits: `report_max_size` (413), `report_rate_limit` per node (429 + `Retry-After`),
//! `report_min_free` of the volume kept free (507, logged: a full report volume must never
//! be the reason the CA cannot write a CRL or take a CSR), and retention (`report_keep` per
//! node, `report_ttl`), pruned on each write (`report_retention.rs`). A failed write leaves no temp file behind.

use crate::limits::{read_body, BodyError, FreeSpace};
use crate::report_retention;
use crate::respond::{error, json_resp, Resp};
use crate::{validate, State};
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Request, StatusCode};
use serde_json::{json, Value as J};
use sha2::Digest;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Handles `PUT /puppet/v3/report/<name>` (the caller has authorized it).
pub async fn put(state: &Arc<State>, name: &str, req: Request<Incoming>) -> Resp {
    if let Err(e) = validate::node_name(name) {
        return error(StatusCode::BAD_REQUEST, &e, "RUNTIME_ERROR");
    }
    let limits = &state.config.limits;
    if let Err(wait) = state.limits.reports.check(name) {
        let mut r = error(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("too many reports from {name}; retry in {wait}s"),
            "RUNTIME_ERROR",
        );
        if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
            r.headers_mut().insert("Retry-After", v);
        }
        return r;
    }
    let timeout = Duration::from_secs(limits.body_timeout.max(1));
    let body = match read_body(req, limits.report_max_size, timeout).await {
        Ok(b) => b,
        Err(e @ BodyError::TooLarge(_)) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &e.to_string(),
                "RUNTIME_ERROR",
            )
        }
        Err(e @ BodyError::Timeout) => {
            return error(StatusCode::REQUEST_TIMEOUT, &e.to_string(), "RUNTIME_ERROR")
        }
        Err(e) => return error(StatusCode::BAD_REQUEST, &e.to_string(), "RUNTIME_ERROR"),
    };
    let v: J = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("Could not intern from json: {e}"),
                "RUNTIME_ERROR",
            )
        }
    };
    if let Err(e) = validate::report(&v) {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("Could not intern from json: {e}"),
            "RUNTIME_ERROR",
        );
    }
    state.report_stats.count(&v);
    let file_name = report_file_name(&v, &body);
    let processors = &state.report_processors;
    if let (Some(pdb), true) = (&state.puppetdb, processors.iter().any(|p| p == "puppetdb")) {
        let payload = crate::puppetdb::commands::report(
            &v,
            &pdb.producer,
            &crate::puppetdb::commands::now_wire(),
            pdb.conf.include_unchanged_resources,
        );
        let pdb = pdb.clone();
        let node = name.to_string();
        let _ = tokio::task::spawn_blocking(move || {
            pdb.submit(crate::puppetdb::commands::REPORT, &node, &payload)
        })
        .await;
    }
    if let Some(http) = &state.report_http {
        // The YAML is written on the sender's thread, not on this request's.
        if !http.send(v) {
            state
                .report_stats
                .http_dropped
                .fetch_add(1, Ordering::Relaxed);
            tracing::warn!(node = %name, "the report of {name} is not posted to reporturl: the queue is full");
        }
    }
    if !processors.iter().any(|p| p == "store") {
        return json_resp(StatusCode::OK, &json!(processors));
    }
    let dir = state.config.reportdir.join(name);
    let reserve = limits.report_min_free;
    let (keep, ttl) = (limits.report_keep, limits.report_ttl);
    let node = name.to_string();
    let r = tokio::task::spawn_blocking(move || -> Result<(), StoreError> {
        check_free_space(&dir, reserve)?;
        store(&dir, &file_name, &body, keep, ttl)?;
        Ok(())
    })
    .await;
    match r {
        Ok(Ok(())) => {
            tracing::debug!(node = %node, "stored the report of {node}");
            state.report_stats.stored.fetch_add(1, Ordering::Relaxed);
            json_resp(StatusCode::OK, &json!(processors))
        }
        Ok(Err(StoreError::NoSpace(msg))) => {
            tracing::error!(node = %node, "report of {node} refused: {msg}");
            error(
                StatusCode::INSUFFICIENT_STORAGE,
                &format!("Could not store the report: {msg}"),
                "RUNTIME_ERROR",
            )
        }
        Ok(Err(StoreError::Io(e))) => {
            tracing::error!(node = %node, "cannot store the report of {node}: {e}");
            let status = if e.raw_os_error() == Some(28) {
                StatusCode::INSUFFICIENT_STORAGE
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            error(
                status,
                &format!("Could not store the report: {e}"),
                "RUNTIME_ERROR",
            )
        }
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &e.to_string(),
            "RUNTIME_ERROR",
        ),
    }
}

#[derive(Debug)]
pub enum StoreError {
    NoSpace(String),
    Io(std::io::Error),
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> StoreError {
        StoreError::Io(e)
    }
}

/// `<YYYYMMDDhhmmss>-<id>.json`: the report's own `time` (the receive time when it has
/// none), and its `transaction_uuid` (validated), else a digest of the body.
pub fn report_file_name(v: &J, body: &[u8]) -> String {
    let id = match validate::transaction_uuid(v) {
        Ok(Some(t)) => t.to_string(),
        _ => {
            let d = sha2::Sha256::digest(body);
            let hex: String = d[..12].iter().map(|b| format!("{b:02x}")).collect();
            format!("sha256-{hex}")
        }
    };
    let stamp = v
        .get("time")
        .and_then(J::as_str)
        .and_then(report_stamp)
        .unwrap_or_else(now_stamp);
    format!("{stamp}-{id}.json")
}

/// `2024-05-01T12:00:00.123+00:00` → `20240501120000`.
fn report_stamp(t: &str) -> Option<String> {
    let head = t.get(..19)?;
    let digits: String = head.chars().filter(char::is_ascii_digit).collect();
    let shape = head.as_bytes();
    (digits.len() == 14 && shape[4] == b'-' && shape[10] == b'T').then_some(digits)
}

fn now_stamp() -> String {
    let secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, sod) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let (y, m, d) = troupe_eval::time::civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// The nearest existing directory at or above `p`.
fn existing_ancestor(p: &Path) -> PathBuf {
    let mut cur = p.to_path_buf();
    while !cur.is_dir() {
        match cur.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => cur = parent.to_path_buf(),
            _ => return PathBuf::from("."),
        }
    }
    cur
}

/// `(available, total)` bytes of the volume holding `p`.
pub fn volume_space(p: &Path) -> std::io::Result<(u64, u64)> {
    let st = rustix::fs::statvfs(existing_ancestor(p)).map_err(std::io::Error::from)?;
    Ok((
        st.f_bavail.saturating_mul(st.f_frsize),
        st.f_blocks.saturating_mul(st.f_frsize),
    ))
}

fn check_free_space(dir: &Path, reserve: FreeSpace) -> Result<(), StoreError> {
    let (avail, total) = volume_space(dir)?;
    let keep = reserve.bytes(total);
    if avail < keep {
        return Err(StoreError::NoSpace(format!(
            "{} has {avail} bytes free, below the report_min_free reserve of {keep} bytes",
            dir.display()
        )));
    }
    Ok(())
}

/// Stores `data` as `dir/name` unless a report of that name is there already; true when it
/// was stored now. With `keep` (the node's `report_keep`, 0: no limit) and `ttl`, prunes the
/// node's reports after, reusing the oldest's file when the node is at its limit.
pub fn store(dir: &Path, name: &str, data: &[u8], keep: usize, ttl: u64) -> std::io::Result<bool> {
    fs::create_dir_all(dir)?;
    let path = dir.join(name);
    if path.exists() {
        return Ok(false);
    }
    let mut reports = report_retention::listing(dir);
    let tmp = report_retention::temp_name(dir, name);
    let reused = report_retention::take_oldest(dir, &mut reports, keep, &tmp);
    let r = write_temp(&tmp, data, reused).and_then(|()| publish(&tmp, &path));
    let _ = fs::remove_file(&tmp);
    if r.is_ok() {
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    report_retention::prune(dir, &reports, keep, ttl);
    r
}

/// Writes `data` to the temp file: a new one, or the reused file of an old report (then
/// truncated first).
fn write_temp(tmp: &Path, data: &[u8], reused: bool) -> std::io::Result<()> {
    let mut f = if reused {
        fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(tmp)?
    } else {
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(tmp)?
    };
    f.write_all(data)?;
    f.sync_all()
}

/// Gives the complete temp file its final name, only if that name is free (a hard link fails
/// when it exists, whoever made it).
fn publish(tmp: &Path, path: &Path) -> std::io::Result<bool> {
    match fs::hard_link(tmp, path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        // File systems without hard links: the best left is a rename when the name is free.
        Err(e) if matches!(e.raw_os_error(), Some(1 | 95)) => {
            if path.exists() {
                return Ok(false);
            }
            fs::rename(tmp, path).map(|()| true)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_report() {
        let v = json!({"host": "n", "time": "2024-05-01T12:03:04.5+00:00", "transaction_uuid": "ab-12"});
        assert_eq!(report_file_name(&v, b"x"), "20240501120304-ab-12.json");
        let v = json!({"host": "n", "time": "junk"});
        let n = report_file_name(&v, b"x");
        assert!(
            n.len() == 14 + 1 + 7 + 24 + 5 && n.contains("-sha256-"),
            "{n}"
        );
    }
}
