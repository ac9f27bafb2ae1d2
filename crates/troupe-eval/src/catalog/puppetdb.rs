//! The catalog as PuppetDB's `replace catalog` command (version 9) carries it, made as the
//! PuppetDB terminus munges Puppet's catalog (`Puppet::Resource::Catalog::Puppetdb`):
//! the exported resources nobody collected are included (Puppet saves the catalog before
//! filtering them out), titles and the version are strings, every resource has
//! `parameters`, sensitive parameters are left out, a namevar that differs from the title
//! becomes an `alias`, the unordered metaparameters are sorted, containment edges become
//! `contains` edges between `{type, title}` objects, and `before`/`require`/`notify`/
//! `subscribe` become edges of their own (`before`, `required-by`, `notifies`,
//! `subscription-of`). The caller adds `transaction_uuid`, `producer_timestamp`, `producer`
//! and `job_id`.

use super::{resource_to_json, Catalog, Resource};
use serde_json::{json, Map as JMap, Value as J};
use std::collections::{HashMap, HashSet};

/// Metaparameters whose arrays have no order.
const UNORDERED: &[&str] = &[
    "alias",
    "audit",
    "before",
    "check",
    "notify",
    "require",
    "subscribe",
    "tag",
];

/// Relationship parameters: (parameter, forward, PuppetDB's relationship).
const RELATIONS: &[(&str, bool, &str)] = &[
    ("before", true, "before"),
    ("require", false, "required-by"),
    ("notify", true, "notifies"),
    ("subscribe", false, "subscription-of"),
];

impl Catalog {
    /// The `replace catalog` v9 payload but for the caller's fields.
    pub fn puppetdb_json(&self, catalog_uuid: &str) -> J {
        let mut resources: Vec<J> = Vec::new();
        // (type, title) → index in `resources`; aliases → (type, title).
        let mut table: HashMap<(String, String), usize> = HashMap::new();
        let mut aliases: HashMap<(String, String), (String, String)> = HashMap::new();
        let mut stored_only: HashSet<(String, String)> = HashSet::new();
        let all = self
            .resources
            .iter()
            .map(|r| (r, false))
            .chain(self.stored_only.iter().map(|r| (r, true)));
        for (r, only) in all {
            let j = wire_resource(r);
            let key = (r.type_name.clone(), r.title.clone());
            if let Some(J::Array(a)) = j.pointer("/parameters/alias") {
                for name in a.iter().filter_map(J::as_str) {
                    aliases.insert((r.type_name.clone(), name.to_string()), key.clone());
                }
            }
            if only {
                stored_only.insert(key.clone());
            }
            table.insert(key, resources.len());
            resources.push(j);
        }
        let mut edges: Vec<J> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut push = |e: J| {
            if seen.insert(e.to_string()) {
                edges.push(e);
            }
        };
        for (s, t) in self.edges.iter().chain(self.stored_edges.iter()) {
            if let (Some(s), Some(t)) = (ref_hash(s), ref_hash(t)) {
                push(json!({"source": s, "target": t, "relationship": "contains"}));
            }
        }
        for r in &self.resources {
            let me = json!({"type": r.type_name, "title": r.title});
            for (param, forward, relation) in RELATIONS {
                let Some(v) = r.params.get(*param) else {
                    continue;
                };
                let refs = match super::value_to_json(v) {
                    J::Array(a) => a,
                    other => vec![other],
                };
                for other in refs.iter().filter_map(J::as_str) {
                    let Some(mut o) = ref_parts(other) else {
                        continue;
                    };
                    if o.0 == "File" && o.1.ends_with('/') {
                        o.1 = o.1.trim_end_matches('/').to_string();
                    }
                    let target = if table.contains_key(&o) {
                        o
                    } else if let Some(a) = aliases.get(&o) {
                        a.clone()
                    } else {
                        continue;
                    };
                    if stored_only.contains(&target) {
                        continue;
                    }
                    let other = json!({"type": target.0, "title": target.1});
                    let (source, dest) = if *forward {
                        (me.clone(), other)
                    } else {
                        (other, me.clone())
                    };
                    push(json!({"source": source, "target": dest, "relationship": relation}));
                }
            }
        }
        let version = match &self.version {
            J::String(s) => s.clone(),
            other => other.to_string(),
        };
        json!({
            "certname": self.name,
            "version": version,
            "code_id": J::Null,
            "job_id": J::Null,
            "catalog_uuid": catalog_uuid,
            "environment": self.environment,
            "resources": resources,
            "edges": edges,
        })
    }
}

/// One resource as PuppetDB takes it.
fn wire_resource(r: &Resource) -> J {
    let mut j = resource_to_json(r);
    let Some(m) = j.as_object_mut() else {
        return j;
    };
    let sensitive: Vec<String> = m
        .remove("sensitive_parameters")
        .and_then(|s| serde_json::from_value(s).ok())
        .unwrap_or_default();
    let mut params = match m.remove("parameters") {
        Some(J::Object(p)) => p,
        _ => JMap::new(),
    };
    for s in &sensitive {
        params.remove(s);
    }
    // The namevar as an alias, when it is not the title (isomorphic types).
    if !matches!(
        r.type_name.as_str(),
        "Class" | "Node" | "Stage" | "Exec" | "Tidy" | "Package"
    ) {
        if let Some(J::String(name)) = params.get(r.namevar).cloned() {
            if name != r.title {
                let mut list = match params.remove("alias") {
                    Some(J::Array(a)) => a,
                    Some(J::Null) | None => Vec::new(),
                    Some(other) => vec![other],
                };
                let name = J::String(name);
                if !list.contains(&name) {
                    list.push(name);
                }
                params.insert("alias".into(), J::Array(list));
            }
        }
    }
    // `Stage[main]` and `Class[main]`: Puppet's title there is the symbol `:main`, which
    // differs from the `name` string, so the terminus aliases them to "main".
    if r.name_param && !params.contains_key("alias") {
        params.insert("alias".into(), json!([r.title]));
    }
    for key in UNORDERED {
        if let Some(J::Array(a)) = params.get_mut(*key) {
            if !a.is_empty() {
                a.sort_by_key(|x| match x {
                    J::String(s) => s.clone(),
                    other => other.to_string(),
                });
            }
        }
    }
    m.insert("parameters".into(), J::Object(params));
    j
}

/// `Type[title]` → its two parts (Puppet's `resource_ref_to_hash`).
fn ref_parts(s: &str) -> Option<(String, String)> {
    let open = s.find('[')?;
    if !s.ends_with(']') || open == 0 || s[..open].contains(']') {
        return None;
    }
    let title = &s[open + 1..s.len() - 1];
    if title.is_empty() {
        return None;
    }
    Some((s[..open].to_string(), title.to_string()))
}

fn ref_hash(s: &str) -> Option<J> {
    ref_parts(s).map(|(t, title)| json!({"type": t, "title": title}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Kind;
    use troupe_values::value::Value;

    fn res(t: &str, title: &str, params: &[(&str, Value)], nv: &'static str) -> Resource {
        Resource {
            type_name: t.into(),
            title: title.into(),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            tags: vec![t.to_lowercase()],
            file: Some("/site.pp".into()),
            line: Some(3),
            exported: false,
            virtual_: false,
            kind: Kind::Compilable,
            scope: 0,
            evaluated: true,
            name_param: false,
            namevar: nv,
        }
    }

    #[test]
    fn munges_as_the_terminus_does() {
        let mut exported = res("Host", "db", &[("ip", Value::str("10.0.0.1"))], "name");
        exported.exported = true;
        exported.virtual_ = true;
        let cat = Catalog {
            name: "n1".into(),
            environment: "production".into(),
            version: json!(1700000000),
            tags: vec![],
            resources: vec![
                {
                    let mut m = res("Class", "main", &[], "name");
                    m.name_param = true;
                    m
                },
                res(
                    "File",
                    "/etc/a",
                    &[
                        ("path", Value::str("/etc/b")),
                        (
                            "content",
                            Value::Sensitive(std::rc::Rc::new(Value::str("s"))),
                        ),
                        (
                            "require",
                            Value::array(vec![Value::str("Package[z]"), Value::str("Package[a]")]),
                        ),
                    ],
                    "path",
                ),
                res(
                    "Package",
                    "a",
                    &[("before", Value::str("File[/etc/b]"))],
                    "name",
                ),
                res("Package", "z", &[], "name"),
            ],
            edges: vec![("Class[main]".into(), "File[/etc/a]".into())],
            classes: vec![],
            stored_only: vec![exported],
            stored_edges: vec![("Class[main]".into(), "Host[db]".into())],
        };
        let j = cat.puppetdb_json("u-1");
        assert_eq!(j["version"], json!("1700000000"));
        assert_eq!(
            j["resources"][0]["parameters"],
            json!({"name": "main", "alias": ["main"]})
        );
        assert_eq!(j["catalog_uuid"], json!("u-1"));
        let file = &j["resources"][1];
        assert_eq!(file["parameters"]["alias"], json!(["/etc/b"]));
        assert!(file["parameters"].get("content").is_none());
        assert!(file.get("sensitive_parameters").is_none());
        assert_eq!(
            file["parameters"]["require"],
            json!(["Package[a]", "Package[z]"])
        );
        assert_eq!(j["resources"][4]["exported"], json!(true));
        assert_eq!(j["resources"][3]["parameters"], json!({}));
        let edges = j["edges"].as_array().cloned().unwrap_or_default();
        let has = |s: &str, st: &str, t: &str, tt: &str, rel: &str| {
            edges.contains(&json!({"source": {"type": s, "title": st}, "target": {"type": t, "title": tt}, "relationship": rel}))
        };
        assert!(has("Class", "main", "File", "/etc/a", "contains"));
        assert!(has("Class", "main", "Host", "db", "contains"));
        assert!(has("Package", "z", "File", "/etc/a", "required-by"));
        // `before => File[/etc/b]` names the file by its alias.
        assert!(has("Package", "a", "File", "/etc/a", "before"));
        assert_eq!(edges.len(), 5);
    }
}
