//! The state file (`state_file = PATH`): what each instance is now, as JSON, for the front's
//! status page and for operators. Written atomically (a temp file in the same directory,
//! then a rename) at start and on every change of an instance's state or priority:
//!
//! ```text
//! {"instances": [{"name": "puppet1", "vrid": 51, "state": "MASTER", "priority": 101,
//!                 "vips": ["10.0.0.21/24"]}],
//!  "updated": 1764748800}
//! ```
//! `state` is `MASTER`, `BACKUP`, `FAULT` or `INIT`; `updated` is Unix seconds.

use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;

/// One instance as the state file shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceState {
    pub name: String,
    pub vrid: u8,
    /// `MASTER`, `BACKUP`, `FAULT` or `INIT`.
    pub state: String,
    pub priority: u8,
    /// `ADDR/PREFIX`.
    pub vips: Vec<String>,
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VrrpState {
    pub instances: Vec<InstanceState>,
    /// Unix seconds of the last write.
    pub updated: u64,
}

impl VrrpState {
    pub fn to_json(&self) -> Value {
        json!({
            "instances": self.instances.iter().map(|i| json!({
                "name": i.name,
                "vrid": i.vrid,
                "state": i.state,
                "priority": i.priority,
                "vips": i.vips,
            })).collect::<Vec<_>>(),
            "updated": self.updated,
        })
    }

    /// Reads a state file's text back; the error says what is wrong.
    pub fn parse(text: &str) -> Result<VrrpState, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let list = v
            .get("instances")
            .and_then(Value::as_array)
            .ok_or("no 'instances' list")?;
        let mut instances = Vec::with_capacity(list.len());
        for (n, i) in list.iter().enumerate() {
            let text = |k: &str| {
                i.get(k)
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .ok_or_else(|| format!("instance {}: no '{k}' text", n + 1))
            };
            let small = |k: &str| {
                i.get(k)
                    .and_then(Value::as_u64)
                    .and_then(|x| u8::try_from(x).ok())
                    .ok_or_else(|| format!("instance {}: '{k}' is not 0..255", n + 1))
            };
            let name = text("name")?;
            let vips = i
                .get("vips")
                .and_then(Value::as_array)
                .ok_or_else(|| format!("instance {}: no 'vips' list", n + 1))?
                .iter()
                .map(|a| {
                    a.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| format!("instance {}: a VIP is not text", n + 1))
                })
                .collect::<Result<Vec<_>, _>>()?;
            instances.push(InstanceState {
                name,
                vrid: small("vrid")?,
                state: text("state")?,
                priority: small("priority")?,
                vips,
            });
        }
        Ok(VrrpState {
            instances,
            updated: v.get("updated").and_then(Value::as_u64).unwrap_or(0),
        })
    }

    /// Reads and parses `path`; errors name the file.
    pub fn read(path: &Path) -> Result<VrrpState, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        VrrpState::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Writes the file atomically: readers see the old content or the new, never a part.
    pub fn write(&self, path: &Path) -> Result<(), String> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| format!("state_file {}: not a file name", path.display()))?;
        let tmp = path.with_file_name(format!(".{name}.tmp{}", std::process::id()));
        let mut text = self.to_json().to_string();
        text.push('\n');
        let written = std::fs::File::create(&tmp).and_then(|mut f| {
            f.write_all(text.as_bytes())?;
            f.sync_all()
        });
        if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
            let _ = std::fs::remove_file(&tmp);
            return Err(format!("state_file {}: {e}", path.display()));
        }
        Ok(())
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> VrrpState {
        VrrpState {
            instances: vec![
                InstanceState {
                    name: "puppet1".into(),
                    vrid: 51,
                    state: "MASTER".into(),
                    priority: 101,
                    vips: vec!["10.0.0.21/24".into()],
                },
                InstanceState {
                    name: "puppet\"2".into(),
                    vrid: 52,
                    state: "BACKUP".into(),
                    priority: 100,
                    vips: vec!["10.0.0.22/24".into(), "10.0.0.23/32".into()],
                },
            ],
            updated: 1_764_748_800,
        }
    }

    #[test]
    fn the_state_file_round_trips_and_is_replaced_whole() {
        let dir = std::env::temp_dir().join(format!("troupe-vrrp-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let p = dir.join("vrrp.json");
        let s = sample();
        s.write(&p).expect("write");
        let text = std::fs::read_to_string(&p).expect("read");
        assert!(
            text.starts_with(r#"{"instances":[{"name":"puppet1","vrid":51,"state":"MASTER","priority":101,"vips":["10.0.0.21/24"]}"#),
            "{text}"
        );
        assert_eq!(VrrpState::read(&p), Ok(s.clone()));
        let mut t = s.clone();
        t.instances[0].state = "FAULT".into();
        t.write(&p).expect("rewrite");
        assert_eq!(
            VrrpState::read(&p).map(|r| r.instances[0].state.clone()),
            Ok("FAULT".into())
        );
        // Nothing but the file itself is left in the directory.
        let names: Vec<String> = std::fs::read_dir(&dir)
            .expect("list")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect();
        assert_eq!(names, ["vrrp.json"]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_bad_state_file_is_refused_with_the_reason() {
        for (text, want) in [
            ("[", "not JSON"),
            ("{}", "no 'instances' list"),
            (
                r#"{"instances":[{"name":"a","vrid":300,"state":"MASTER","priority":1,"vips":[]}]}"#,
                "instance 1: 'vrid' is not 0..255",
            ),
            (
                r#"{"instances":[{"name":"a","vrid":3,"state":"MASTER","priority":1,"vips":[1]}]}"#,
                "instance 1: a VIP is not text",
            ),
            (
                r#"{"instances":[{"vrid":3}]}"#,
                "instance 1: no 'name' text",
            ),
        ] {
            let e = VrrpState::parse(text).expect_err(text);
            assert!(e.contains(want), "{text}: {e}");
        }
        let e = VrrpState::read(Path::new("/nonexistent/vrrp.json")).expect_err("missing");
        assert!(e.starts_with("/nonexistent/vrrp.json: "), "{e}");
    }
}
