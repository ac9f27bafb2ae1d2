//! What administrators set on masters — drained, disabled, enabled, and a weight — kept in the
//! pool's store so that it survives a front restart and every front of the pool applies it.
//!
//! One key per master: `console/masters/<http|https>-<ADDR>_<PORT>`, value a JSON object
//! `{"master": "http://ADDR:PORT", "mode": "enabled"|"drained"|"disabled", "weight": N,
//! "by": WHO, "at": UNIX_SECONDS}`. A front reads the whole prefix at start and every
//! `POLL` (a dir store: one host, its fronts; etcd: every host), and applies it to its masters
//! (`State::apply_controls`; a master with no key is enabled with weight 1). Without a store
//! (`troupe front` with no `store` setting) the settings live in this front's memory only.

use crate::backend::{Backend, MODE_DISABLED, MODE_DRAINED, MODE_ENABLED};
use crate::State;
use serde_json::{json, Value as J};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

pub const PREFIX: &str = "console/masters/";
/// How often a front reads the settings again from the store.
pub const POLL: Duration = Duration::from_secs(1);
/// Largest weight an administrator may set.
pub const MAX_WEIGHT: u32 = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Control {
    /// `http://ADDR:PORT` or `https://ADDR:PORT`.
    pub master: String,
    pub mode: u8,
    pub weight: u32,
    pub by: String,
    pub at: u64,
}

pub fn mode_name(mode: u8) -> &'static str {
    match mode {
        MODE_DRAINED => "drained",
        MODE_DISABLED => "disabled",
        _ => "enabled",
    }
}

fn mode_of(name: &str) -> Option<u8> {
    match name {
        "enabled" => Some(MODE_ENABLED),
        "drained" => Some(MODE_DRAINED),
        "disabled" => Some(MODE_DISABLED),
        _ => None,
    }
}

/// A master's name as the console and the store write it.
pub fn master_name(b: &Backend) -> String {
    format!("{}://{}", if b.tls { "https" } else { "http" }, b.addr)
}

/// The store key of a master (`http://1.2.3.4:5` → `console/masters/http-1.2.3.4_5`).
pub fn key(master: &str) -> String {
    let safe: String = master
        .replace("://", "-")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{PREFIX}{safe}")
}

impl Control {
    pub fn to_json(&self) -> J {
        json!({
            "master": self.master,
            "mode": mode_name(self.mode),
            "weight": self.weight,
            "by": self.by,
            "at": self.at,
        })
    }

    pub fn from_json(v: &J) -> Option<Control> {
        Some(Control {
            master: v.get("master")?.as_str()?.to_string(),
            mode: mode_of(v.get("mode")?.as_str()?)?,
            weight: u32::try_from(v.get("weight")?.as_u64()?)
                .ok()?
                .min(MAX_WEIGHT),
            by: v.get("by").and_then(J::as_str).unwrap_or("").to_string(),
            at: v.get("at").and_then(J::as_u64).unwrap_or(0),
        })
    }
}

/// Every setting in the store, by master (values that do not parse are skipped, logged).
pub fn load(store: &troupe_store::Store) -> Result<BTreeMap<String, Control>, String> {
    let mut out = BTreeMap::new();
    for e in store.list(PREFIX).map_err(|e| e.to_string())? {
        match serde_json::from_slice::<J>(&e.value)
            .ok()
            .as_ref()
            .and_then(Control::from_json)
        {
            Some(c) if key(&c.master) == e.key => {
                out.insert(c.master.clone(), c);
            }
            _ => tracing::debug!(key = e.key, "console: not a master setting: {}", e.key),
        }
    }
    Ok(out)
}

pub fn save(store: &troupe_store::Store, c: &Control) -> Result<(), String> {
    store
        .put(&key(&c.master), c.to_json().to_string().as_bytes())
        .map_err(|e| e.to_string())
}

impl State {
    /// The settings as this front last read or made them.
    pub fn controls(&self) -> Arc<BTreeMap<String, Control>> {
        match self.controls.read() {
            Ok(g) => g.clone(),
            Err(e) => e.into_inner().clone(),
        }
    }

    /// Replaces the settings and applies them to the masters.
    pub fn set_controls(&self, c: BTreeMap<String, Control>) {
        {
            let mut g = match self.controls.write() {
                Ok(g) => g,
                Err(e) => e.into_inner(),
            };
            *g = Arc::new(c);
        }
        self.apply_controls();
    }

    /// Sets each master's mode and weight from the settings (none: enabled, weight 1); logs
    /// changes.
    pub fn apply_controls(&self) {
        let controls = self.controls();
        for b in self.backends().iter() {
            let name = master_name(b);
            let (mode, weight) = controls
                .get(&name)
                .map_or((MODE_ENABLED, 1), |c| (c.mode, c.weight));
            let old_mode = b.mode.swap(mode, Ordering::SeqCst);
            let old_weight = b.weight.swap(weight, Ordering::SeqCst);
            if old_mode != mode || old_weight != weight {
                let by = controls.get(&name).map(|c| c.by.as_str()).unwrap_or("");
                tracing::info!(
                    backend = %b.addr,
                    mode = mode_name(mode),
                    weight,
                    by,
                    "master {name}: {} (weight {weight}){}",
                    mode_name(mode),
                    if by.is_empty() { String::new() } else { format!(", set by {by}") }
                );
            }
        }
    }

    /// Reads the settings from the store at start and every `POLL` (on the blocking pool).
    pub(crate) fn poll_controls(self: &Arc<Self>) {
        let Some(store) = self.config.control_store.clone() else {
            return;
        };
        let state = self.clone();
        let mut stop = self.stop.clone();
        self.runtime.spawn(async move {
            let mut failing = false;
            loop {
                let s = store.clone();
                match tokio::task::spawn_blocking(move || load(&s)).await {
                    Ok(Ok(c)) => {
                        if failing {
                            tracing::info!("console: the masters' settings are readable again");
                            failing = false;
                        }
                        if *state.controls() != c {
                            state.set_controls(c);
                        }
                    }
                    Ok(Err(e)) if !failing => {
                        tracing::warn!("console: cannot read the masters' settings: {e}");
                        failing = true;
                    }
                    _ => {}
                }
                tokio::select! {
                    _ = tokio::time::sleep(POLL) => {}
                    _ = stop.changed() => return,
                }
            }
        });
    }

    /// Sets one master's mode and weight, in the store first when there is one (the caller
    /// has checked who asks). Returns the new setting.
    pub(crate) async fn control(
        &self,
        master: &str,
        mode: Option<u8>,
        weight: Option<u32>,
        by: &str,
    ) -> Result<Control, String> {
        let Some(b) = self
            .backends()
            .iter()
            .find(|b| master_name(b) == master)
            .cloned()
        else {
            return Err(format!("no master {master} in this front's pool"));
        };
        let current = self.controls().get(master).cloned();
        let c = Control {
            master: master.to_string(),
            mode: mode.unwrap_or_else(|| b.mode.load(Ordering::SeqCst)),
            weight: weight
                .or(current.as_ref().map(|c| c.weight))
                .unwrap_or(1)
                .min(MAX_WEIGHT),
            by: by.to_string(),
            at: super::history::now(),
        };
        if let Some(store) = self.config.control_store.clone() {
            let c2 = c.clone();
            tokio::task::spawn_blocking(move || save(&store, &c2))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("the pool's store: {e}"))?;
        }
        let mut all = (*self.controls()).clone();
        all.insert(master.to_string(), c.clone());
        self.set_controls(all);
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_round_trip() {
        assert_eq!(
            key("http://127.0.0.1:18140"),
            "console/masters/http-127.0.0.1_18140"
        );
        assert_eq!(
            key("https://[::1]:8140"),
            "console/masters/https-___1__8140"
        );
        let c = Control {
            master: "http://127.0.0.1:18140".into(),
            mode: MODE_DRAINED,
            weight: 3,
            by: "127.0.0.1".into(),
            at: 5,
        };
        assert_eq!(Control::from_json(&c.to_json()), Some(c));
        assert_eq!(
            Control::from_json(&json!({"master": "x", "mode": "bogus", "weight": 1})),
            None
        );
    }
}
