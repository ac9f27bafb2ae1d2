//! The balancer-manager-like status page (HTML and JSON) and Prometheus metrics.

use crate::backend::BUCKETS_MS;
use crate::pool::esc;
use crate::State;
use serde_json::{json, Value as J};
use std::fmt::Write;
use std::sync::atomic::Ordering;

fn backend_json(b: &crate::backend::Backend) -> J {
    let h = b.health.lock().map(|h| h.clone()).ok();
    let requests = b.requests.load(Ordering::Relaxed);
    let total_us = b.total_us.load(Ordering::Relaxed);
    let answered: u64 = b
        .buckets
        .last()
        .map(|x| x.load(Ordering::Relaxed))
        .unwrap_or(0);
    json!({
        "address": b.addr.to_string(),
        "local": b.is_local(),
        "state": if h.as_ref().is_some_and(|h| h.up) { "up" } else { "down" },
        "reason": h.and_then(|h| h.reason),
        "console_state": b.console_state(),
        "weight": b.weight.load(Ordering::SeqCst),
        "in_flight": b.in_flight.load(Ordering::SeqCst),
        "requests": requests,
        "failures": b.failures.load(Ordering::Relaxed),
        "retries": b.retries.load(Ordering::Relaxed),
        "stalls": b.stalls.load(Ordering::Relaxed),
        "slow_checks": b.slow_checks.load(Ordering::Relaxed),
        "abandoned": b.abandoned.load(Ordering::Relaxed),
        "average_ms": if answered > 0 { total_us as f64 / answered as f64 / 1000.0 } else { 0.0 },
    })
}

pub fn json(state: &State) -> J {
    let (healthy, health) = crate::health::verdict(state);
    json!({
        "health": health,
        "healthy": healthy,
        "uptime_seconds": state.started.elapsed().as_secs(),
        "connections": state.connections.load(Ordering::SeqCst),
        "in_flight": state.in_flight.load(Ordering::SeqCst),
        "requests": state.requests.load(Ordering::Relaxed),
        "rejected_503": state.rejected.load(Ordering::Relaxed),
        "queue": {
            "waiting": state.queue.waiting.load(Ordering::SeqCst),
            "queued": state.queue.queued.load(Ordering::Relaxed),
            "timed_out": state.queue.timed_out.load(Ordering::Relaxed),
        },
        "tls_failures": state.tls_failures.load(Ordering::Relaxed),
        "buffered_bytes": state.buffered.used(),
        "refused_requests": state.quarantine.list(),
        "balance": format!("{:?}", state.config.balance),
        "backends": state.backends().iter().map(|b| backend_json(b)).collect::<Vec<_>>(),
        "pool": state.pool_view().map(|v| crate::pool::json(&v, &|a: &str| state.master_seen(a))),
    })
}

pub fn html(state: &State) -> String {
    let j = json(state);
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>troupe front status</title>\
<meta http-equiv=\"refresh\" content=\"5\">\
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #999;padding:4px 10px;text-align:right}}\
th{{background:#eee}}td.addr{{text-align:left}}.up{{color:#070;font-weight:bold}}.down{{color:#b00;font-weight:bold}}\
.mismatch{{color:#b00;border:2px solid #b00;padding:4px 10px;margin:8px 0}}span.code.mismatch{{color:#b00;font-weight:bold}}</style></head><body>\
<h1>troupe front</h1><p>{} &middot; Uptime {}s &middot; {} connections &middot; {} requests in flight &middot; {} requests &middot; {} queued ({} waiting) &middot; {} answered 503 &middot; balance {}</p>\
<table id=\"backends\"><tr><th>Backend</th><th>Where</th><th>State</th><th>In flight</th><th>Requests</th><th>Failures</th><th>Retries</th><th>Stalls</th><th>Abandoned</th><th>Avg latency (ms)</th><th>Reason</th></tr>\n",
        esc(j["health"].as_str().unwrap_or("")), j["uptime_seconds"], j["connections"], j["in_flight"], j["requests"], j["queue"]["queued"], j["queue"]["waiting"], j["rejected_503"], esc(j["balance"].as_str().unwrap_or(""))
    );
    for b in j["backends"].as_array().into_iter().flatten() {
        let st = b["state"].as_str().unwrap_or("down");
        let _ = writeln!(
            out,
            "<tr class=\"backend\" data-state=\"{st}\"><td class=\"addr\">{}</td><td>{}</td><td class=\"{st}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td><td>{}</td></tr>",
            esc(b["address"].as_str().unwrap_or("")),
            if b["local"].as_bool().unwrap_or(true) { "local" } else { "remote" },
            st.to_uppercase(),
            b["in_flight"],
            b["requests"],
            b["failures"],
            b["retries"],
            b["stalls"],
            b["abandoned"],
            b["average_ms"].as_f64().unwrap_or(0.0),
            esc(b["reason"].as_str().unwrap_or("")),
        );
    }
    out.push_str("</table>\n");
    if let Some(v) = state.pool_view() {
        let now = crate::pool::unix_now();
        out.push_str(&crate::pool::html(&v, &|a: &str| state.master_seen(a), now));
    }
    out.push_str("<p><a href=\"?format=json\">JSON</a> &middot; <a href=\"/metrics\">metrics</a></p></body></html>\n");
    out
}

/// One unlabelled metric with its HELP and TYPE lines.
fn scalar(o: &mut String, name: &str, kind: &str, help: &str, value: u64) {
    let _ = writeln!(
        o,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
    );
}

pub fn metrics(state: &State) -> String {
    let mut o = String::new();
    let backends = state.backends();
    let counters = [
        (
            "troupe_front_requests_total",
            "counter",
            "Requests received.",
            state.requests.load(Ordering::Relaxed),
        ),
        (
            "troupe_front_rejected_total",
            "counter",
            "Requests answered 503 (no master available).",
            state.rejected.load(Ordering::Relaxed),
        ),
        (
            "troupe_front_queued_total",
            "counter",
            "Requests that waited in the front's queue because every master was saturated.",
            state.queue.queued.load(Ordering::Relaxed),
        ),
        (
            "troupe_front_queue_timeouts_total",
            "counter",
            "Requests answered 503 after waiting queue_timeout.",
            state.queue.timed_out.load(Ordering::Relaxed),
        ),
        (
            "troupe_front_tls_handshake_failures_total",
            "counter",
            "Failed or timed-out TLS handshakes.",
            state.tls_failures.load(Ordering::Relaxed),
        ),
        (
            "troupe_front_buffered_bytes",
            "gauge",
            "Request body bytes buffered.",
            state.buffered.used() as u64,
        ),
        (
            "troupe_front_connections",
            "gauge",
            "Open client connections.",
            state.connections.load(Ordering::SeqCst) as u64,
        ),
    ];
    for (name, kind, help, value) in counters {
        scalar(&mut o, name, kind, help, value);
    }
    scalar(
        &mut o,
        "troupe_front_healthy",
        "gauge",
        "Whether the front can serve (what /troupe/health says).",
        u64::from(crate::health::verdict(state).0),
    );
    let _ = writeln!(o, "# HELP troupe_front_backend_up Whether the backend is in rotation.\n# TYPE troupe_front_backend_up gauge");
    for b in backends.iter() {
        let _ = writeln!(
            o,
            "troupe_front_backend_up{{backend=\"{}\"}} {}",
            b.addr,
            u8::from(b.is_up())
        );
    }
    let _ = writeln!(o, "# HELP troupe_front_backend_in_rotation Whether the backend takes new requests (up, not drained or disabled in the console, weight above 0).\n# TYPE troupe_front_backend_in_rotation gauge");
    for b in backends.iter() {
        let _ = writeln!(
            o,
            "troupe_front_backend_in_rotation{{backend=\"{}\"}} {}",
            b.addr,
            u8::from(b.in_rotation())
        );
    }
    let _ = writeln!(o, "# HELP troupe_front_backend_weight The backend's weight (set in the console; 1 by default).\n# TYPE troupe_front_backend_weight gauge");
    for b in backends.iter() {
        let _ = writeln!(
            o,
            "troupe_front_backend_weight{{backend=\"{}\"}} {}",
            b.addr,
            b.weight.load(Ordering::SeqCst)
        );
    }
    let _ = writeln!(o, "# HELP troupe_front_backend_local Whether the backend is local (preferred).\n# TYPE troupe_front_backend_local gauge");
    for b in backends.iter() {
        let _ = writeln!(
            o,
            "troupe_front_backend_local{{backend=\"{}\"}} {}",
            b.addr,
            u8::from(b.is_local())
        );
    }
    let _ = writeln!(o, "# HELP troupe_front_backend_in_flight Requests in flight to the backend.\n# TYPE troupe_front_backend_in_flight gauge");
    for b in backends.iter() {
        let _ = writeln!(
            o,
            "troupe_front_backend_in_flight{{backend=\"{}\"}} {}",
            b.addr,
            b.in_flight.load(Ordering::SeqCst)
        );
    }
    type Counter = fn(&crate::backend::Backend) -> u64;
    let counters: [(&str, &str, Counter); 6] = [
        ("requests", "Requests sent to the backend.", |b| {
            b.requests.load(Ordering::Relaxed)
        }),
        (
            "failures",
            "Connect errors and server errors from the backend.",
            |b| b.failures.load(Ordering::Relaxed),
        ),
        (
            "retries",
            "Requests retried on this backend after another failed.",
            |b| b.retries.load(Ordering::Relaxed),
        ),
        (
            "stalls",
            "Times a health check found the backend stalled (no answer in time).",
            |b| b.stalls.load(Ordering::Relaxed),
        ),
        (
            "slow_checks",
            "Health checks not answered in time while the backend went on answering requests (saturated, kept up).",
            |b| b.slow_checks.load(Ordering::Relaxed),
        ),
        (
            "abandoned",
            "Requests given up on the backend because it stalled.",
            |b| b.abandoned.load(Ordering::Relaxed),
        ),
    ];
    for (name, help, f) in counters {
        let _ = writeln!(o, "# HELP troupe_front_backend_{name}_total {help}\n# TYPE troupe_front_backend_{name}_total counter");
        for b in backends.iter() {
            let _ = writeln!(
                o,
                "troupe_front_backend_{name}_total{{backend=\"{}\"}} {}",
                b.addr,
                f(b)
            );
        }
    }
    let _ = writeln!(o, "# HELP troupe_front_backend_response_seconds Backend response time.\n# TYPE troupe_front_backend_response_seconds histogram");
    for b in backends.iter() {
        for (i, ub) in BUCKETS_MS.iter().enumerate() {
            let _ = writeln!(
                o,
                "troupe_front_backend_response_seconds_bucket{{backend=\"{}\",le=\"{}\"}} {}",
                b.addr,
                *ub as f64 / 1000.0,
                b.buckets[i].load(Ordering::Relaxed)
            );
        }
        let count = b.buckets[BUCKETS_MS.len() - 1].load(Ordering::Relaxed);
        let _ = writeln!(
            o,
            "troupe_front_backend_response_seconds_bucket{{backend=\"{}\",le=\"+Inf\"}} {count}",
            b.addr
        );
        let _ = writeln!(
            o,
            "troupe_front_backend_response_seconds_sum{{backend=\"{}\"}} {}",
            b.addr,
            b.total_us.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(
            o,
            "troupe_front_backend_response_seconds_count{{backend=\"{}\"}} {count}",
            b.addr
        );
    }
    if let Some(v) = state.pool_view() {
        o.push_str(&crate::pool::metrics(&v));
    }
    o
}
