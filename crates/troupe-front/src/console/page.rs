//! The console's page (HTML, no script, charts as inline SVG) and its JSON state.

use super::charts::charts;
use super::control::{master_name, mode_name};
use super::history::{totals, Span};
use super::{FORM_PATH, PATH};
use crate::pool::esc;
use crate::State;
use serde_json::{json, Value as J};
use std::fmt::Write;
use std::sync::atomic::Ordering;

fn summary(points: &[super::history::Point]) -> J {
    let (requests, errors, p99) = totals(points);
    json!({"requests": requests, "errors": errors, "worst_p99_ms": p99})
}

/// The console's state as JSON (what `GET /troupe/console/api` answers).
pub fn json(state: &State, ca: &J) -> J {
    let controls = state.controls();
    let masters: Vec<J> = state
        .backends()
        .iter()
        .map(|b| {
            let name = master_name(b);
            let c = controls.get(&name);
            json!({
                "master": name,
                "state": b.console_state(),
                "mode": mode_name(b.mode.load(Ordering::SeqCst)),
                "weight": b.weight.load(Ordering::SeqCst),
                "local": b.is_local(),
                "in_flight": b.in_flight.load(Ordering::SeqCst),
                "requests": b.requests.load(Ordering::Relaxed),
                "failures": b.failures.load(Ordering::Relaxed),
                "set_by": c.map(|c| c.by.clone()),
                "set_at": c.map(|c| c.at),
                "last_10_minutes": summary(&b.history.points(Span::Minutes)),
            })
        })
        .collect();
    let (healthy, health) = state.health();
    json!({
        "front": {
            "health": health,
            "healthy": healthy,
            "uptime_seconds": state.started.elapsed().as_secs(),
            "in_flight": state.in_flight.load(Ordering::SeqCst),
            "requests": state.requests.load(Ordering::Relaxed),
            "balance": format!("{:?}", state.config.balance),
            "persisted": state.config.control_store.is_some(),
            "last_10_minutes": summary(&state.history.points(Span::Minutes)),
        },
        "masters": masters,
        "ca": ca,
    })
}

const STYLE: &str = "body{font-family:sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;margin:6px 0}\
td,th{border:1px solid #bbb;padding:3px 8px;text-align:left;vertical-align:middle}th{background:#eee}\
.UP{color:#070;font-weight:bold}.DOWN,.DISABLED{color:#b00;font-weight:bold}.DRAINING{color:#c60;font-weight:bold}\
.DRAINED{color:#666;font-weight:bold}form{display:inline;margin:0}input[type=number]{width:4em}\
#msg{background:#e8f5e9;border:1px solid #2e7d32;padding:4px 10px}.charts svg{margin-right:6px}\
.note{color:#666;font-size:90%}";

fn master_rows(state: &State, span: Span, out: &mut String) {
    let token = &state.console_token;
    out.push_str("<table id=\"masters\"><tr><th>Master</th><th>Where</th><th>State</th><th>Weight</th><th>In flight</th>\
<th>Requests</th><th>Failures</th><th>Set by</th><th>Actions</th></tr>\n");
    let controls = state.controls();
    for b in state.backends().iter() {
        let name = master_name(b);
        let st = b.console_state();
        let weight = b.weight.load(Ordering::SeqCst);
        let by = controls
            .get(&name)
            .map(|c| format!("{} at {}", c.by, crate::pool::when(c.at)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "<tr class=\"master\" data-master=\"{n}\" data-state=\"{st}\"><td>{n}</td><td>{wh}</td>\
<td class=\"{st}\">{st}</td><td>{weight}</td><td>{inf}</td><td>{req}</td><td>{fail}</td><td>{by}</td><td>\
<form method=\"post\" action=\"{FORM_PATH}\"><input type=\"hidden\" name=\"token\" value=\"{token}\">\
<input type=\"hidden\" name=\"master\" value=\"{n}\">\
<button name=\"action\" value=\"drain\">Drain</button> <button name=\"action\" value=\"disable\">Disable</button> \
<button name=\"action\" value=\"enable\">Enable</button> \
<input type=\"number\" name=\"weight\" min=\"0\" max=\"{max}\" value=\"{weight}\" aria-label=\"weight\"> \
<button name=\"action\" value=\"weight\">Set weight</button></form></td></tr>",
            n = esc(&name),
            wh = if b.is_local() { "local" } else { "remote" },
            inf = b.in_flight.load(Ordering::SeqCst),
            req = b.requests.load(Ordering::Relaxed),
            fail = b.failures.load(Ordering::Relaxed),
            by = esc(&by),
            max = super::control::MAX_WEIGHT,
        );
    }
    out.push_str("</table>\n");
    let what = match span {
        Span::Minutes => "last 10 minutes, per second",
        Span::Hour => "last hour, per minute",
    };
    let _ = write!(
        out,
        "<h2>History <span class=\"note\">({what}; <a href=\"{PATH}\">10 minutes</a> &middot; \
<a href=\"{PATH}?span=hour\">hour</a>)</span></h2>\n<table id=\"history\">"
    );
    let mut row = |label: &str, points: Vec<super::history::Point>| {
        let (req, err, _) = totals(&points);
        let [a, b, c] = charts(&points);
        let _ = writeln!(
            out,
            "<tr><td>{}<br><span class=\"note\">{req} requests, {err} errors</span></td><td class=\"charts\">{a}{b}{c}</td></tr>",
            esc(label)
        );
    };
    row("this front", state.history.points(span));
    for b in state.backends().iter() {
        row(&master_name(b), b.history.points(span));
    }
    // The other hosts' fronts, from their published summaries (per minute, the last hour).
    if let Some(v) = state.pool_view() {
        let now = super::history::now();
        for h in v.hosts.iter().filter(|h| !h.this) {
            if let Some(f) = &h.front {
                row(
                    &format!("front on {} (per minute)", h.name),
                    published(&f.history, now),
                );
            }
        }
    }
    out.push_str("</table>\n");
}

/// A published per-minute history as the last hour's points (minutes without requests: 0).
fn published(minutes: &[crate::pool::Minute], now: u64) -> Vec<super::history::Point> {
    let this = now / 60;
    (0..super::history::MINUTES as u64)
        .rev()
        .filter_map(|back| this.checked_sub(back))
        .map(|m| {
            let at = m * 60;
            let found = minutes.iter().find(|x| x.at == at);
            super::history::Point {
                at,
                requests: found.map_or(0, |x| x.requests),
                errors: found.map_or(0, |x| x.errors),
                p50_ms: found.and_then(|x| x.p50_ms).map(f64::from),
                p99_ms: found.and_then(|x| x.p99_ms).map(f64::from),
                per_second: f64::from(found.map_or(0, |x| x.requests)) / 60.0,
            }
        })
        .collect()
}

fn ca_section(state: &State, ca: &J, out: &mut String) {
    out.push_str("<h2>Certificate authority</h2>\n");
    if let Some(e) = ca.get("error").and_then(J::as_str) {
        let _ = writeln!(out, "<p class=\"note\" id=\"ca\">{}</p>", esc(e));
        return;
    }
    let n = |k: &str| ca.get(k).and_then(J::as_u64).unwrap_or(0);
    let _ = writeln!(
        out,
        "<p id=\"ca\">{} signed &middot; {} pending &middot; {} revoked &middot; CRL next update {}</p>",
        n("signed"),
        n("pending"),
        n("revoked"),
        esc(ca.get("crl_next_update").and_then(J::as_str).unwrap_or("unknown"))
    );
    let requests = ca
        .get("requests")
        .and_then(J::as_array)
        .cloned()
        .unwrap_or_default();
    if requests.is_empty() {
        out.push_str("<p class=\"note\">No pending certificate requests.</p>\n");
        return;
    }
    out.push_str("<table id=\"requests\"><tr><th>Name</th><th>Fingerprint (SHA-256)</th><th>Alt names</th><th>Extensions</th><th>Actions</th></tr>\n");
    for r in &requests {
        let name = r.get("name").and_then(J::as_str).unwrap_or("");
        let alt = r
            .get("dns_alt_names")
            .and_then(J::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(J::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        let ext = r
            .get("extensions")
            .and_then(J::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        format!(
                            "{k}={}",
                            v.as_str().map_or_else(|| v.to_string(), str::to_string)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "<tr class=\"request\" data-name=\"{n}\"><td>{n}</td><td><code>{fp}</code></td><td>{alt}</td><td>{ext}</td><td>\
<form method=\"post\" action=\"{FORM_PATH}\"><input type=\"hidden\" name=\"token\" value=\"{t}\">\
<input type=\"hidden\" name=\"certname\" value=\"{n}\"><button name=\"action\" value=\"sign\">Sign</button> \
<button name=\"action\" value=\"reject\">Reject</button></form></td></tr>",
            n = esc(name),
            fp = esc(r.get("fingerprint").and_then(J::as_str).unwrap_or("")),
            alt = esc(&alt),
            ext = esc(&ext),
            t = state.console_token,
        );
    }
    out.push_str("</table>\n");
}

/// The console's page.
pub fn html(state: &State, span: Span, ca: &J, msg: Option<&str>) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let (_, health) = state.health();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>troupe pool console</title>\
<meta http-equiv=\"refresh\" content=\"10\"><style>{STYLE}</style></head><body>\
<h1>troupe pool console</h1><p>{} &middot; uptime {}s &middot; {} requests in flight &middot; {} requests &middot; balance {:?}{}</p>\n",
        esc(&health),
        state.started.elapsed().as_secs(),
        state.in_flight.load(Ordering::SeqCst),
        state.requests.load(Ordering::Relaxed),
        state.config.balance,
        if state.config.control_store.is_some() {
            ""
        } else {
            " &middot; <b>settings not persisted (no store)</b>"
        },
    );
    if let Some(m) = msg {
        let _ = writeln!(out, "<p id=\"msg\">{}</p>", esc(m));
    }
    out.push_str("<h2>Masters</h2>\n");
    master_rows(state, span, &mut out);
    ca_section(state, ca, &mut out);
    if let Some(v) = state.pool_view() {
        out.push_str(&crate::pool::html(
            &v,
            &|a: &str| state.master_seen(a),
            crate::pool::unix_now(),
        ));
    }
    let _ = writeln!(
        out,
        "<p><a href=\"{PATH}?format=json\">JSON</a> &middot; <a href=\"/troupe/status\">status</a> &middot; \
<a href=\"/metrics\">metrics</a></p></body></html>"
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_fronts_published_minutes_fill_the_last_hour() {
        let now = 1_800_000_030;
        let m = now / 60 * 60;
        let minutes = [
            crate::pool::Minute {
                at: m - 120,
                requests: 120,
                errors: 6,
                p50_ms: Some(20),
                p99_ms: Some(500),
            },
            // Older than an hour: left out.
            crate::pool::Minute {
                at: m - 7200,
                requests: 1,
                ..Default::default()
            },
        ];
        let p = published(&minutes, now);
        assert_eq!(p.len(), super::super::history::MINUTES);
        assert_eq!(p.last().map(|x| x.at), Some(m));
        let hit = p.iter().find(|x| x.requests > 0).expect("the minute");
        assert_eq!((hit.at, hit.errors, hit.per_second), (m - 120, 6, 2.0));
        assert_eq!((hit.p50_ms, hit.p99_ms), (Some(20.0), Some(500.0)));
        assert_eq!(p.iter().map(|x| x.requests).sum::<u32>(), 120);
    }
}
