//! The catalog: the compile's output as data (`Catalog`, `Resource`, tags, references) and its
//! JSON form (catalog_format 2, as puppetserver renders it with rich data); `schema` holds
//! Puppet 7's core resource types' attributes.
//!
//! May call: `troupe-values` only. The evaluator's builder (`lang/build/`) fills it.

mod json_writer;
pub mod object_json;
pub mod puppetdb;
pub mod schema;

use indexmap::IndexMap;
use serde_json::{json, Map as JMap, Value as J};
use troupe_values::types::Type;
use troupe_values::value::{format_float, Value};

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
    pub params: Params,
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

/// A resource's attributes, in the order they were set.
pub type Params = IndexMap<String, Value, troupe_values::value::FastState>;

impl Resource {
    pub fn reference(&self) -> String {
        format!("{}[{}]", self.type_name, self.title)
    }

    pub fn add_tag(&mut self, tag: &str) {
        // Most tags are lowercase ASCII already: compared without a lowercased copy.
        if tag.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
            if !self.tags.iter().any(|t| t == tag) {
                self.tags.push(tag.to_string());
            }
            return;
        }
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
    troupe_values::limits::grow(|| match v {
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
            _ => type_to_pcore(t),
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
        Value::Timestamp(_) | Value::Timespan(_) | Value::SemVer(_) | Value::SemVerRange(_) => {
            json!({"__ptype": troupe_values::value::type_name_of(v), "__pvalue": v.to_display()})
        }
        Value::Binary(_) => json!({"__ptype": "Binary", "__pvalue": v.to_display()}),
        Value::Object(o) => object_json::object_to_json(o),
    })
}

/// A type value as Puppet serializes it in rich data: a `Pcore::<Name>Type` object whose
/// attributes are the parameters that differ from the defaults.
pub fn type_to_pcore(t: &Type) -> J {
    troupe_values::limits::grow(|| {
        use troupe_values::types::INT_MAX;
        let mut m: JMap<String, J>;
        let obj = |name: &str| {
            let mut m = JMap::new();
            m.insert("__ptype".into(), J::String(format!("Pcore::{name}")));
            m
        };
        let int_range = |from: i64, to: i64| -> Option<J> {
            let mut m = obj("IntegerType");
            if from == i64::MIN && to == INT_MAX {
                return None;
            }
            if to == INT_MAX {
                m.insert("from".into(), J::from(from));
            } else {
                m.insert(
                    "from".into(),
                    if from == i64::MIN {
                        J::Null
                    } else {
                        J::from(from)
                    },
                );
                m.insert("to".into(), J::from(to));
            }
            Some(J::Object(m))
        };
        let size = |min: i64, max: i64| -> Option<J> {
            if min == 0 && max == INT_MAX {
                None
            } else {
                int_range(min, max)
            }
        };
        let many = |ts: &[Type]| J::Array(ts.iter().map(type_to_pcore).collect());
        let name = match t.resolved() {
            Type::Any => "AnyType",
            Type::Undef => "UndefType",
            Type::Default => "DefaultType",
            // Puppet writes `Boolean[true]` as plain `Boolean`.
            Type::Boolean | Type::BooleanOf(_) => "BooleanType",
            Type::Unit => "UnitType",
            Type::StrValue(v) => {
                m = obj("StringType");
                m.insert("size_type_or_value".into(), J::String(v.to_string()));
                return J::Object(m);
            }
            Type::Integer(a, b) => {
                return int_range(*a, *b).unwrap_or_else(|| J::Object(obj("IntegerType")));
            }
            Type::Float(a, b) => {
                m = obj("FloatType");
                let f = |x: f64| {
                    serde_json::Number::from_f64(x)
                        .map(J::Number)
                        .unwrap_or(J::Null)
                };
                if b.is_infinite() {
                    if a.is_finite() {
                        m.insert("from".into(), f(*a));
                    }
                } else {
                    m.insert("from".into(), if a.is_finite() { f(*a) } else { J::Null });
                    m.insert("to".into(), f(*b));
                }
                return J::Object(m);
            }
            Type::Numeric => "NumericType",
            Type::String(a, b) => {
                m = obj("StringType");
                if let Some(sz) = size(*a, *b) {
                    m.insert("size_type_or_value".into(), sz);
                }
                return J::Object(m);
            }
            Type::Enum(vals, ci) => {
                m = obj("EnumType");
                m.insert("values".into(), json!(vals));
                if *ci {
                    m.insert("case_insensitive".into(), J::Bool(true));
                }
                return J::Object(m);
            }
            Type::Pattern(res) => {
                m = obj("PatternType");
                let pats: Vec<J> = res
                    .iter()
                    .map(|r| {
                        let mut p = obj("RegexpType");
                        p.insert("pattern".into(), J::String(r.source.clone()));
                        J::Object(p)
                    })
                    .collect();
                m.insert("patterns".into(), J::Array(pats));
                return J::Object(m);
            }
            Type::Regexp(r) => {
                m = obj("RegexpType");
                if let Some(r) = r {
                    m.insert("pattern".into(), J::String(r.source.clone()));
                }
                return J::Object(m);
            }
            Type::Scalar => "ScalarType",
            Type::ScalarData => "ScalarDataType",
            Type::Data => "DataType",
            Type::RichData => "RichDataType",
            Type::Array(e, a, b) => {
                m = obj("ArrayType");
                if !matches!(**e, Type::Any) {
                    m.insert("element_type".into(), type_to_pcore(e));
                }
                if let Some(sz) = size(*a, *b) {
                    m.insert("size_type".into(), sz);
                }
                return J::Object(m);
            }
            Type::Hash(k, v, a, b) => {
                m = obj("HashType");
                if !matches!(**k, Type::Any) || !matches!(**v, Type::Any) {
                    m.insert("key_type".into(), type_to_pcore(k));
                    m.insert("value_type".into(), type_to_pcore(v));
                }
                if let Some(sz) = size(*a, *b) {
                    m.insert("size_type".into(), sz);
                }
                return J::Object(m);
            }
            Type::Tuple(ts, a, b) => {
                m = obj("TupleType");
                m.insert("types".into(), many(ts));
                let n = ts.len() as i64;
                if (*a, *b) != (n, n) && (*a, *b) != (0, INT_MAX) {
                    if let Some(sz) = int_range(*a, *b) {
                        m.insert("size_type".into(), sz);
                    }
                }
                return J::Object(m);
            }
            Type::Struct(members) => {
                m = obj("StructType");
                let elems: Vec<J> = members
                    .iter()
                    .map(|(k, opt, vt)| {
                        let mut key = obj("StringType");
                        key.insert("size_type_or_value".into(), J::String(k.clone()));
                        let key = if *opt {
                            let mut o = obj("OptionalType");
                            o.insert("type".into(), J::Object(key));
                            o
                        } else {
                            key
                        };
                        let mut e = obj("StructElement");
                        e.insert("key_type".into(), J::Object(key));
                        e.insert("value_type".into(), type_to_pcore(vt));
                        J::Object(e)
                    })
                    .collect();
                m.insert("elements".into(), J::Array(elems));
                return J::Object(m);
            }
            Type::Optional(inner) | Type::NotUndef(inner) | Type::Type(inner) => {
                m = obj(match t.resolved() {
                    Type::Optional(_) => "OptionalType",
                    Type::NotUndef(_) => "NotUndefType",
                    _ => "TypeType",
                });
                if let Some(inner) = inner {
                    m.insert("type".into(), type_to_pcore(inner));
                }
                return J::Object(m);
            }
            Type::Variant(ts) => {
                m = obj("VariantType");
                m.insert("types".into(), many(ts));
                return J::Object(m);
            }
            Type::Collection(a, b) => {
                m = obj("CollectionType");
                if let Some(sz) = size(*a, *b) {
                    m.insert("size_type".into(), sz);
                }
                return J::Object(m);
            }
            Type::Iterable => "IterableType",
            Type::Iterator => "IteratorType",
            Type::Callable => {
                m = obj("CallableType");
                for k in ["param_types", "block_type", "return_type"] {
                    m.insert(k.into(), J::Null);
                }
                return J::Object(m);
            }
            Type::Resource(..) | Type::Class(_) => return J::String(ref_string(t)),
            Type::CatalogEntry => "CatalogEntryType",
            Type::Sensitive(_) => "SensitiveType",
            Type::Deferred => {
                return json!({"__ptype": "Pcore::ObjectType", "_pcore_init_hash": {"name": "Deferred", "attributes": {
                "name": {"__ptype": "Pcore::PatternType", "patterns": [{"__ptype": "Pcore::RegexpType", "pattern": "\\A[$]?[a-z][a-z0-9_]*(?:::[a-z][a-z0-9_]*)*\\z"}]},
                "arguments": {"type": {"__ptype": "Pcore::OptionalType", "type": {"__ptype": "Pcore::ArrayType"}}, "value": null}}}})
            }
            Type::Timespan(..) => "TimespanType",
            Type::Timestamp(..) => "TimestampType",
            Type::SemVer => "SemVerType",
            Type::SemVerRange => "SemVerRangeType",
            Type::Binary => "BinaryType",
            Type::Uri => "URIType",
            Type::Error => "ErrorType",
            Type::Init => "InitType",
            Type::InitOf(inner, args) => {
                m = obj("InitType");
                m.insert("type".into(), type_to_pcore(inner));
                if !args.is_empty() {
                    m.insert(
                        "init_args".into(),
                        J::Array(args.iter().map(value_to_json).collect()),
                    );
                }
                return J::Object(m);
            }
            Type::Object => {
                m = obj("ObjectType");
                m.insert("_pcore_init_hash".into(), json!({}));
                return J::Object(m);
            }
            Type::Runtime => "RuntimeType",
            Type::Obj(o) => return object_json::object_type_to_json(o),
            Type::TypeSet(_) => "TypeSetType",
            Type::CallableOf(_) => "CallableType",
            Type::RuntimeOf(r, n) => {
                m = obj("RuntimeType");
                m.insert("runtime".into(), json!(r));
                if let Some(n) = n {
                    m.insert("name_or_pattern".into(), json!(n));
                }
                return J::Object(m);
            }
            Type::Alias(_, inner) => return type_to_pcore(inner),
            // A recursive alias's reference to itself goes by name.
            Type::Late(n, _) => {
                let mut m = obj("TypeReferenceType");
                m.insert("type_string".into(), json!(n));
                return J::Object(m);
            }
        };
        J::Object(obj(name))
    })
}

/// `File[/x]`, `Class[Ntp::Config]`.
pub fn ref_string(t: &Type) -> String {
    match t.resolved() {
        Type::Class(Some(n)) => format!("Class[{}]", troupe_values::types::capitalize_type_name(n)),
        Type::Resource(Some(tn), Some(title)) => {
            if tn == "Class" {
                format!(
                    "Class[{}]",
                    troupe_values::types::capitalize_type_name(title)
                )
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
    /// With storeconfigs: the exported resources this catalog did not collect, which the
    /// store gets and the agent does not (see `puppetdb`), and the edges that touch them.
    pub stored_only: Vec<Resource>,
    pub stored_edges: Vec<(String, String)>,
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
        let res: Vec<J> = self.resources.iter().map(resource_to_json).collect();
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

/// One resource as the catalog JSON has it.
pub fn resource_to_json(r: &Resource) -> J {
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
        _ => Some(json!(crate::catalog::schema::namevar_from_title(
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
    J::Object(m)
}

/// `File[/x]` → (`File`, `/x`).
pub fn parse_ref(s: &str) -> Option<(String, String)> {
    let i = s.find('[')?;
    if !s.ends_with(']') {
        return None;
    }
    let tn = &s[..i];
    let title = &s[i + 1..s.len() - 1];
    // The title is everything between the brackets, quotes included, as Puppet's
    // `Puppet::Resource` reads a reference string (`Postgresql_psql[... datname = 'app']`).
    if tn.eq_ignore_ascii_case("class") {
        return Some(("Class".into(), title.to_lowercase()));
    }
    Some((
        troupe_values::types::capitalize_type_name(tn),
        title.to_string(),
    ))
}
