//! The catalog model and its JSON form (catalog_format 2, as puppetserver renders it with
//! rich data).

use crate::types::Type;
use crate::value::{format_float, Value};
use indexmap::IndexMap;
use serde_json::{json, Map as JMap, Value as J};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Compilable,
    Defined,
    /// A class declared resource-like (`class { 'x': }`).
    Class,
    Unknown,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Compilable => "compilable_type",
            Kind::Defined => "defined_type",
            Kind::Class => "class",
            Kind::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Resource {
    /// `File`, `App::Vhost`, `Class`, `Node`, `Stage`.
    pub type_name: String,
    pub title: String,
    pub params: IndexMap<String, Value>,
    pub tags: Vec<String>,
    pub file: Option<String>,
    pub line: Option<u32>,
    pub exported: bool,
    pub virtual_: bool,
    pub kind: Kind,
    /// The scope the resource was declared in.
    pub scope: usize,
    pub evaluated: bool,
    /// `Stage[main]`/`Class[main]` carry an explicit `name` parameter.
    pub name_param: bool,
    /// The namevar of the type, when it is not `name`.
    pub namevar: &'static str,
}

impl Resource {
    pub fn reference(&self) -> String {
        format!("{}[{}]", self.type_name, self.title)
    }

    pub fn add_tag(&mut self, tag: &str) {
        let t = tag.to_lowercase();
        if !self.tags.contains(&t) {
            self.tags.push(t);
        }
    }

    /// Puppet's `tag(name)`: the name and, for qualified names, each segment.
    pub fn tag_with_segments(&mut self, name: &str) {
        self.add_tag(name);
        if name.contains("::") {
            for seg in name.split("::") {
                if !seg.is_empty() {
                    self.add_tag(seg);
                }
            }
        }
    }

    pub fn merge_tags(&mut self, tags: &[String]) {
        for t in tags {
            self.add_tag(t);
        }
    }
}

/// Puppet's valid tag: `[[:alnum:]_][[:alnum:]_:.-]*`.
pub fn valid_tag(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_alphanumeric() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | ':' | '.' | '-'))
}

/// Converts a parameter value to catalog JSON. Resource references become `Type[title]`
/// strings; `undef` inside collections becomes `null`.
pub fn value_to_json(v: &Value) -> J {
    match v {
        Value::Undef => J::Null,
        Value::Default => json!({"__ptype": "Default"}),
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(J::Number)
            .unwrap_or_else(|| J::String(format_float(*f))),
        Value::Str(s) => J::String(s.to_string()),
        Value::Regex(r) => json!({"__ptype": "Regexp", "__pvalue": r.source}),
        Value::Array(a) => J::Array(a.iter().map(value_to_json).collect()),
        Value::Hash(h) if h.keys().any(|k| !matches!(k, Value::Str(_))) => {
            let mut flat = Vec::with_capacity(h.len() * 2);
            for (k, v) in h.iter() {
                flat.push(value_to_json(k));
                flat.push(value_to_json(v));
            }
            json!({"__ptype": "Hash", "__pvalue": flat})
        }
        Value::Hash(h) => {
            let mut m = JMap::new();
            for (k, v) in h.iter() {
                let key = match k {
                    Value::Str(s) => s.to_string(),
                    other => other.to_display(),
                };
                m.insert(key, value_to_json(v));
            }
            J::Object(m)
        }
        Value::Type(t) => match t.resolved() {
            Type::Resource(Some(_), Some(_)) | Type::Class(Some(_)) => J::String(ref_string(t)),
            _ => json!({"__ptype": "Pcore::TypeType", "__pvalue": t.to_string()}),
        },
        Value::Sensitive(inner) => {
            json!({"__ptype": "Sensitive", "__pvalue": value_to_json(inner)})
        }
        Value::Deferred(d) => {
            let mut m = JMap::new();
            m.insert("__ptype".into(), J::String("Deferred".into()));
            m.insert("name".into(), J::String(d.0.clone()));
            if !d.1.is_empty() {
                m.insert(
                    "arguments".into(),
                    J::Array(d.1.iter().map(value_to_json).collect()),
                );
            }
            J::Object(m)
        }
    }
}

/// `File[/x]`, `Class[Ntp::Config]`.
pub fn ref_string(t: &Type) -> String {
    match t.resolved() {
        Type::Class(Some(n)) => format!("Class[{}]", crate::types::capitalize_type_name(n)),
        Type::Resource(Some(tn), Some(title)) => {
            if tn == "Class" {
                format!("Class[{}]", crate::types::capitalize_type_name(title))
            } else {
                format!("{tn}[{title}]")
            }
        }
        other => other.to_string(),
    }
}

#[derive(Debug)]
pub struct Catalog {
    pub name: String,
    pub environment: String,
    pub version: J,
    pub tags: Vec<String>,
    pub resources: Vec<Resource>,
    pub edges: Vec<(String, String)>,
    pub classes: Vec<String>,
}

impl Catalog {
    pub fn to_json(&self, catalog_uuid: &str) -> J {
        let mut root = JMap::new();
        root.insert("tags".into(), json!(self.tags));
        root.insert("name".into(), json!(self.name));
        root.insert("version".into(), self.version.clone());
        root.insert("code_id".into(), J::Null);
        root.insert("catalog_uuid".into(), json!(catalog_uuid));
        root.insert("catalog_format".into(), json!(2));
        root.insert("environment".into(), json!(self.environment));
        let mut res = Vec::with_capacity(self.resources.len());
        for r in &self.resources {
            let mut m = JMap::new();
            m.insert("type".into(), json!(r.type_name));
            m.insert("title".into(), json!(r.title));
            m.insert("tags".into(), json!(r.tags));
            if let Some(f) = &r.file {
                m.insert("file".into(), json!(f));
            }
            if let Some(l) = r.line {
                m.insert("line".into(), json!(l));
            }
            m.insert("exported".into(), json!(r.exported));
            m.insert("kind".into(), json!(r.kind.as_str()));
            let mut params = JMap::new();
            let mut sensitive = Vec::new();
            if r.name_param {
                params.insert("name".into(), json!(r.title));
            }
            // The namevar leads when it is set (Puppet merges parameters into the parsed title).
            // Puppet merges the parameters into the title parsed by the type's title pattern,
            // and leaves the namevar out when it equals the title.
            let nv = r.namevar;
            let namevar = match r.params.get(nv) {
                Some(v) if !v.is_undef() => Some(value_to_json(v)),
                _ => Some(json!(crate::schema::namevar_from_title(
                    &r.type_name,
                    &r.title
                ))),
            };
            if let Some(v) = namevar.filter(|v| v.as_str() != Some(r.title.as_str())) {
                params.insert(nv.to_string(), v);
            }
            for (k, v) in &r.params {
                if k == nv || v.is_undef() {
                    continue;
                }
                if let Value::Sensitive(inner) = v {
                    sensitive.push(k.clone());
                    params.insert(k.clone(), value_to_json(inner));
                    continue;
                }
                params.insert(k.clone(), value_to_json(v));
            }
            if !params.is_empty() {
                m.insert("parameters".into(), J::Object(params));
            }
            if !sensitive.is_empty() {
                m.insert("sensitive_parameters".into(), json!(sensitive));
            }
            res.push(J::Object(m));
        }
        root.insert("resources".into(), J::Array(res));
        root.insert(
            "edges".into(),
            J::Array(
                self.edges
                    .iter()
                    .map(|(s, t)| json!({"source": s, "target": t}))
                    .collect(),
            ),
        );
        root.insert("classes".into(), json!(self.classes));
        J::Object(root)
    }
}
