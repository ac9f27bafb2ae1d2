//! The payloads of PuppetDB's commands, as the PuppetDB terminus builds them:
//! `replace facts` v5 (`Puppet::Node::Facts::Puppetdb#save`), `store report` v8
//! (`Puppet::Reports::Puppetdb#report_to_hash`, from the report JSON the agent sent), and
//! the fields the master adds to the compiler's `replace catalog` v9 payload. Times are
//! written as the terminus writes them (`iso8601(3)`), in UTC.

use serde_json::{json, Map, Value as J};
use troupe_eval::time::{format_timestamp, now, parse_timestamp, secs_to_nsecs};

/// `replace facts`, version 5.
pub const FACTS: (&str, u32) = ("replace facts", 5);
/// `replace catalog`, version 9.
pub const CATALOG: (&str, u32) = ("replace catalog", 9);
/// `store report`, version 8.
pub const REPORT: (&str, u32) = ("store report", 8);

/// A time as the terminus writes it: `2026-12-05T01:07:18.466Z`.
pub fn wire_time(nsecs: i128) -> String {
    format_timestamp(nsecs, "%Y-%m-%dT%H:%M:%S.%LZ", None).unwrap_or_default()
}

/// Now, as the terminus's `producer_timestamp`.
pub fn now_wire() -> String {
    wire_time(now())
}

/// An agent's time text (`2026-12-05T01:07:18.466211893+00:00`) in nanoseconds.
fn parse_time(s: &str) -> Option<i128> {
    for f in [
        "%Y-%m-%dT%H:%M:%S.%N%z",
        "%Y-%m-%dT%H:%M:%S%z",
        "%Y-%m-%dT%H:%M:%S.%NZ",
    ] {
        if let Ok(n) = parse_timestamp(s, Some(&[f.to_string()]), None) {
            return Some(n);
        }
    }
    None
}

fn time_field(v: Option<&J>) -> J {
    match v.and_then(J::as_str).and_then(parse_time) {
        Some(n) => J::String(wire_time(n)),
        None => v.cloned().unwrap_or(J::Null),
    }
}

/// The `replace facts` payload for the facts an agent sent with its catalog request
/// (`{"name": ..., "values": {...}}`) and its `$trusted` hash.
pub fn facts(
    certname: &str,
    facts: &J,
    trusted: J,
    environment: &str,
    producer: &str,
    producer_timestamp: &str,
) -> J {
    let mut values = match facts.get("values") {
        Some(J::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    let inventory = values.remove("_puppet_inventory_1");
    values.insert("trusted".into(), trusted);
    let mut p = json!({
        "certname": certname,
        "values": values,
        "environment": environment,
        "producer_timestamp": producer_timestamp,
        "producer": producer,
    });
    if let Some(pkgs) = inventory.as_ref().and_then(|i| i.get("packages")) {
        p["package_inventory"] = pkgs.clone();
    }
    p
}

/// The master's fields of a `replace catalog` payload.
pub fn finish_catalog(
    payload: &mut J,
    transaction_uuid: Option<&str>,
    job_id: Option<&str>,
    code_id: Option<&str>,
    producer: &str,
    producer_timestamp: &str,
) {
    if let J::Object(m) = payload {
        m.insert("transaction_uuid".into(), json!(transaction_uuid));
        m.insert("job_id".into(), json!(job_id));
        if let Some(c) = code_id {
            m.insert("code_id".into(), json!(c));
        }
        if m.get("catalog_uuid").is_none_or(J::is_null) {
            m.insert("catalog_uuid".into(), json!(transaction_uuid));
        }
        m.insert("producer_timestamp".into(), json!(producer_timestamp));
        m.insert("producer".into(), json!(producer));
    }
}

/// Ruby's `to_s` of a report event's value.
fn ruby_s(v: &J) -> String {
    match v {
        J::Null => String::new(),
        J::String(s) => s.clone(),
        J::Array(a) => format!(
            "[{}]",
            a.iter()
                .map(|x| match x {
                    J::String(s) => format!("{s:?}"),
                    J::Null => "nil".into(),
                    other => ruby_s(other),
                })
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

/// The `store report` payload for the report JSON an agent sent.
pub fn report(
    r: &J,
    producer: &str,
    producer_timestamp: &str,
    include_unchanged_resources: bool,
) -> J {
    let g = |k: &str| r.get(k).cloned().unwrap_or(J::Null);
    let mut resources = Vec::new();
    if let Some(J::Object(statuses)) = r.get("resource_statuses") {
        for s in statuses.values() {
            let events: Vec<J> = s
                .get("events")
                .and_then(J::as_array)
                .map(|evs| {
                    evs.iter()
                        .map(|e| {
                            json!({
                                "status": e.get("status"),
                                "timestamp": time_field(e.get("time")),
                                "name": e.get("name"),
                                "property": e.get("property"),
                                "new_value": ruby_s(e.get("desired_value").unwrap_or(&J::Null)),
                                "old_value": ruby_s(e.get("previous_value").unwrap_or(&J::Null)),
                                "corrective_change": e.get("corrective_change"),
                                "message": e.get("message"),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            let skipped = s.get("skipped").and_then(J::as_bool).unwrap_or(false);
            if !include_unchanged_resources && events.is_empty() && !skipped {
                continue;
            }
            resources.push(json!({
                "skipped": skipped,
                "timestamp": time_field(s.get("time")),
                "resource_type": s.get("resource_type"),
                "resource_title": s.get("title").map(|t| match t {
                    J::String(x) => J::String(x.clone()),
                    other => J::String(other.to_string()),
                }),
                "file": s.get("file"),
                "line": s.get("line"),
                "containment_path": s.get("containment_path"),
                "corrective_change": s.get("corrective_change"),
                "events": events,
            }));
        }
    }
    let mut logs = Vec::new();
    if let Some(J::Array(list)) = r.get("logs") {
        for l in list {
            logs.push(json!({
                "file": l.get("file"), "line": l.get("line"), "level": l.get("level"),
                "message": l.get("message"), "source": l.get("source"),
                "tags": l.get("tags").cloned().unwrap_or(json!([])),
                "time": time_field(l.get("time")),
            }));
        }
    }
    let mut metrics = Vec::new();
    let mut total = 0.0;
    if let Some(J::Object(m)) = r.get("metrics") {
        for (cat, data) in m {
            let category = data.get("name").and_then(J::as_str).unwrap_or(cat);
            for v in data
                .get("values")
                .and_then(J::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(a) = v.as_array() {
                    let (name, value) = (a.first(), a.last());
                    if category == "time" && name.and_then(J::as_str) == Some("total") {
                        total = value.and_then(J::as_f64).unwrap_or(0.0);
                    }
                    metrics.push(json!({"category": category, "name": name, "value": value}));
                }
            }
        }
    }
    let start = r.get("time").and_then(J::as_str).and_then(parse_time);
    let noop = match r.get("noop") {
        Some(J::Bool(b)) => *b,
        _ => {
            let ev = |pred: &dyn Fn(&J) -> bool| {
                resources.iter().any(|x| {
                    x["events"]
                        .as_array()
                        .is_some_and(|e| e.iter().any(|e| pred(&e["status"])))
                })
            };
            ev(&|s| s == "noop") && !ev(&|s| s != "noop")
        }
    };
    json!({
        "certname": g("host"),
        "job_id": g("job_id"),
        "puppet_version": g("puppet_version"),
        "report_format": g("report_format"),
        "configuration_version": match g("configuration_version") {
            J::String(s) => J::String(s),
            J::Null => J::String(String::new()),
            other => J::String(other.to_string()),
        },
        "producer_timestamp": producer_timestamp,
        "start_time": start.map(wire_time),
        "end_time": start.map(|s| wire_time(s + secs_to_nsecs(total))),
        "environment": g("environment"),
        "transaction_uuid": g("transaction_uuid"),
        "status": g("status"),
        "noop": noop,
        "noop_pending": g("noop_pending"),
        "corrective_change": g("corrective_change"),
        "logs": logs,
        "metrics": metrics,
        "resources": resources,
        "catalog_uuid": match g("catalog_uuid") { J::Null => g("transaction_uuid"), c => c },
        "code_id": g("code_id"),
        "cached_catalog_status": g("cached_catalog_status"),
        "producer": producer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_as_the_terminus_writes_them() {
        let n = parse_time("2026-12-05T01:07:18.466211893+01:00").unwrap_or(0);
        assert_eq!(wire_time(n), "2026-12-05T00:07:18.466Z");
        assert!(
            parse_time("2026-12-05T01:07:18Z").is_some()
                || parse_time("2026-12-05T01:07:18+00:00").is_some()
        );
    }

    #[test]
    fn facts_carry_trusted_and_the_inventory() {
        let f = json!({"name": "n1", "values": {"os": {"family": "Debian"},
            "_puppet_inventory_1": {"packages": [["vim", "9", "apt"]]}}});
        let p = facts("n1", &f, json!({"certname": "n1"}), "production", "m1", "T");
        assert_eq!(p["values"]["trusted"]["certname"], json!("n1"));
        assert!(p["values"].get("_puppet_inventory_1").is_none());
        assert_eq!(p["package_inventory"], json!([["vim", "9", "apt"]]));
        assert_eq!(p["producer"], json!("m1"));
    }

    #[test]
    fn reports_keep_resources_with_events() {
        let r = json!({
            "host": "n1", "time": "2026-12-05T01:00:00.000000000+00:00",
            "configuration_version": 1764896400, "transaction_uuid": "t1",
            "report_format": 12, "puppet_version": "7.23.0", "status": "changed",
            "environment": "production", "noop": false,
            "logs": [{"level": "notice", "message": "hi", "source": "Puppet", "tags": ["notice"],
                      "time": "2026-12-05T01:00:01.000000000+00:00"}],
            "metrics": {"time": {"name": "time", "label": "Time",
                                 "values": [["total", "Total", 2.5]]}},
            "resource_statuses": {
                "Notify[a]": {"title": "a", "resource_type": "Notify", "file": "/s.pp", "line": 1,
                    "skipped": false, "time": "2026-12-05T01:00:01.000000000+00:00",
                    "containment_path": ["Stage[main]", "Main", "Notify[a]"],
                    "events": [{"status": "success", "property": "message", "name": "message_changed",
                        "desired_value": "a", "previous_value": "absent", "message": "defined 'message' as 'a'",
                        "time": "2026-12-05T01:00:01.000000000+00:00", "corrective_change": false}]},
                "Notify[b]": {"title": "b", "resource_type": "Notify", "skipped": false, "events": []}
            }
        });
        let p = report(&r, "m1", "T", false);
        assert_eq!(p["end_time"], json!("2026-12-05T01:00:02.500Z"));
        assert_eq!(p["configuration_version"], json!("1764896400"));
        assert_eq!(p["resources"].as_array().map(Vec::len), Some(1));
        assert_eq!(p["resources"][0]["events"][0]["old_value"], json!("absent"));
        assert_eq!(
            p["metrics"][0],
            json!({"category": "time", "name": "total", "value": 2.5})
        );
        assert_eq!(p["catalog_uuid"], json!("t1"));
        assert_eq!(
            report(&r, "m1", "T", true)["resources"]
                .as_array()
                .map(Vec::len),
            Some(2)
        );
    }
}
