//! Puppet's type system: the common data types, instance checks, assignability, and the
//! text Puppet uses for types in messages.

use crate::value::{puppet_quote, Regexp, Value};
use std::fmt;
use std::rc::Rc;

pub const INT_MIN: i64 = i64::MIN;
pub const INT_MAX: i64 = i64::MAX;

#[derive(Debug, Clone)]
pub enum Type {
    Any,
    Undef,
    Default,
    Boolean,
    /// `Boolean[true]` / `Boolean[false]`: the type Puppet infers for a boolean value.
    BooleanOf(bool),
    Integer(i64, i64),
    Float(f64, f64),
    Numeric,
    String(i64, i64),
    /// The type Puppet infers for one string value: printed `String`, but only that string
    /// is an instance of it.
    StrValue(Rc<str>),
    /// `Unit`: the element type of an empty array's inferred type; assignable to every type.
    Unit,
    Enum(Vec<String>, bool),
    Pattern(Vec<Rc<Regexp>>),
    Regexp(Option<Rc<Regexp>>),
    Scalar,
    ScalarData,
    Data,
    RichData,
    Array(Box<Type>, i64, i64),
    Hash(Box<Type>, Box<Type>, i64, i64),
    Tuple(Vec<Type>, i64, i64),
    Struct(Vec<(String, bool, Type)>),
    Optional(Option<Box<Type>>),
    NotUndef(Option<Box<Type>>),
    Variant(Vec<Type>),
    Collection(i64, i64),
    Iterable,
    Iterator,
    Callable,
    /// `Callable[...]` with parameters.
    CallableOf(Rc<crate::callable::CallableSig>),
    Type(Option<Box<Type>>),
    /// `Resource`, `Resource[File]`, `File['/x']`. Type names are capitalized per segment.
    Resource(Option<String>, Option<String>),
    Class(Option<String>),
    CatalogEntry,
    Sensitive(Option<Box<Type>>),
    Deferred,
    /// `Timespan[from, to]` in nanoseconds; `INT_MIN`/`INT_MAX` when unbounded.
    Timespan(i64, i64),
    /// `Timestamp[from, to]` in nanoseconds since the epoch; `INT_MIN`/`INT_MAX` when unbounded.
    Timestamp(i64, i64),
    SemVer,
    SemVerRange,
    Binary,
    Uri,
    Error,
    Init,
    /// `Init[T, args...]`: what `T.new(value, args...)` can make an instance from.
    InitOf(Box<Type>, Vec<Value>),
    Object,
    /// A declared Object type (`type Point = Object[{attributes => ...}]`).
    Obj(Rc<crate::object::ObjType>),
    /// `TypeSet` (`None`), or a declared TypeSet.
    TypeSet(Option<Rc<crate::type_set::TypeSetInfo>>),
    Runtime,
    /// `Runtime[ruby, 'Name']`: a runtime and, maybe, a runtime type name.
    RuntimeOf(String, Option<String>),
    /// A named alias (`Stdlib::Port`), resolved when it was loaded.
    Alias(String, Rc<Type>),
    /// A reference to an alias from inside its own definition (`type Tree = Array[Tree]`):
    /// weak, so a recursive alias is no reference cycle.
    Late(String, std::rc::Weak<Type>),
}

/// `Name` alone, or `Name[a, b]` when there are parameters.
fn bracketed<I: Iterator>(
    f: &mut std::fmt::Formatter<'_>,
    name: &str,
    items: I,
    each: impl Fn(&mut std::fmt::Formatter<'_>, I::Item) -> std::fmt::Result,
) -> std::fmt::Result {
    f.write_str(name)?;
    let mut any = false;
    for x in items {
        f.write_str(if any { ", " } else { "[" })?;
        each(f, x)?;
        any = true;
    }
    if any {
        f.write_str("]")?;
    }
    Ok(())
}

impl PartialEq for Type {
    fn eq(&self, other: &Type) -> bool {
        match (self.resolved(), other.resolved()) {
            (Type::Obj(a), Type::Obj(b)) => return crate::object::same_type(a, b),
            (Type::Obj(_), _) | (_, Type::Obj(_)) => return false,
            _ => {}
        }
        match (self, other) {
            (Type::StrValue(a), Type::StrValue(b)) => a == b,
            (Type::StrValue(_), _) | (_, Type::StrValue(_)) => false,
            // Any string: `String`, `Enum` and `Pattern` without parameters are one type.
            (
                Type::String(0, INT_MAX) | Type::Enum(..) | Type::Pattern(_),
                Type::String(0, INT_MAX) | Type::Enum(..) | Type::Pattern(_),
            ) if self.is_any_string() && other.is_any_string() => true,
            _ => self.to_string() == other.to_string(),
        }
    }
}

/// Capitalizes each `::` segment: `app::vhost` → `App::Vhost`.
pub fn capitalize_type_name(name: &str) -> String {
    let name = name.strip_prefix("::").unwrap_or(name);
    // One pass into one string: this runs for every resource and reference.
    let mut out = String::with_capacity(name.len());
    for (i, seg) in name.split("::").enumerate() {
        if i > 0 {
            out.push_str("::");
        }
        let mut c = seg.chars();
        if let Some(f) = c.next() {
            out.extend(f.to_uppercase());
            out.push_str(c.as_str());
        }
    }
    out
}

fn range_params(
    f: &mut fmt::Formatter<'_>,
    min: i64,
    max: i64,
    dmin: i64,
    dmax: i64,
) -> fmt::Result {
    if min == dmin && max == dmax {
        return Ok(());
    }
    let smin = if min == dmin && min == INT_MIN {
        "default".to_string()
    } else {
        min.to_string()
    };
    if max == dmax {
        write!(f, "[{smin}]")
    } else {
        write!(f, "[{smin}, {max}]")
    }
}

/// `[T, min, max]` for Array and Hash, each part omitted while it is the default.
fn collection_params(
    f: &mut fmt::Formatter<'_>,
    types: &[&Type],
    min: i64,
    max: i64,
) -> fmt::Result {
    let any = types.iter().all(|t| matches!(t, Type::Any));
    let full = min == 0 && max == INT_MAX;
    if any {
        return if full {
            Ok(())
        } else {
            range_params(f, min, max, -1, -1)
        };
    }
    f.write_str("[")?;
    for (i, t) in types.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{t}")?;
    }
    if !full {
        write!(f, ", {min}")?;
        if max != INT_MAX {
            write!(f, ", {max}")?;
        }
    }
    f.write_str("]")
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::limits::grow(|| match self {
            Type::Any => f.write_str("Any"),
            Type::Undef => f.write_str("Undef"),
            Type::Default => f.write_str("Default"),
            Type::Boolean => f.write_str("Boolean"),
            Type::BooleanOf(b) => write!(f, "Boolean[{b}]"),
            Type::StrValue(_) => f.write_str("String"),
            Type::Unit => f.write_str("Unit"),
            Type::Integer(a, b) => {
                f.write_str("Integer")?;
                if *a == INT_MIN && *b == INT_MAX {
                    return Ok(());
                }
                let sa = if *a == INT_MIN {
                    "default".to_string()
                } else {
                    a.to_string()
                };
                if *b == INT_MAX {
                    write!(f, "[{sa}]")
                } else {
                    write!(f, "[{sa}, {b}]")
                }
            }
            Type::Float(a, b) => {
                f.write_str("Float")?;
                if *a == f64::NEG_INFINITY && *b == f64::INFINITY {
                    return Ok(());
                }
                let sa = if *a == f64::NEG_INFINITY {
                    "default".to_string()
                } else {
                    crate::value::format_float(*a)
                };
                if *b == f64::INFINITY {
                    write!(f, "[{sa}]")
                } else {
                    write!(f, "[{sa}, {}]", crate::value::format_float(*b))
                }
            }
            Type::Numeric => f.write_str("Numeric"),
            Type::String(a, b) => {
                f.write_str("String")?;
                range_params(f, *a, *b, 0, INT_MAX)
            }
            Type::Enum(vals, ci) => {
                f.write_str("Enum")?;
                if vals.is_empty() {
                    return Ok(());
                }
                // Puppet keeps an Enum's values sorted and unique.
                let mut vals: Vec<&String> = vals.iter().collect();
                vals.sort();
                vals.dedup();
                f.write_str("[")?;
                for (i, v) in vals.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(&puppet_quote(v))?;
                }
                if *ci {
                    f.write_str(", true")?;
                }
                f.write_str("]")
            }
            Type::Pattern(res) => {
                bracketed(f, "Pattern", res.iter(), |f, r| write!(f, "/{}/", r.source))
            }
            Type::Regexp(r) => match r {
                Some(r) => write!(f, "Regexp[/{}/]", r.source),
                None => f.write_str("Regexp"),
            },
            Type::Scalar => f.write_str("Scalar"),
            Type::ScalarData => f.write_str("ScalarData"),
            Type::Data => f.write_str("Data"),
            Type::RichData => f.write_str("RichData"),
            // Puppet prints any collection type of no elements by its size alone.
            Type::Array(_, 0, 0) => f.write_str("Array[0, 0]"),
            Type::Hash(_, _, 0, 0) => f.write_str("Hash[0, 0]"),
            Type::Array(e, a, b) => {
                f.write_str("Array")?;
                collection_params(f, &[e], *a, *b)
            }
            Type::Hash(k, v, a, b) => {
                f.write_str("Hash")?;
                collection_params(f, &[k, v], *a, *b)
            }
            Type::Tuple(ts, a, b) => {
                let sized = !(*a == 0 && *b == INT_MAX);
                if ts.is_empty() && !sized {
                    return f.write_str("Tuple");
                }
                f.write_str("Tuple[")?;
                for (i, t) in ts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{t}")?;
                }
                if sized {
                    let sep = if ts.is_empty() { "" } else { ", " };
                    if *b == INT_MAX {
                        write!(f, "{sep}{a}")?;
                    } else {
                        write!(f, "{sep}{a}, {b}")?;
                    }
                }
                f.write_str("]")
            }
            Type::Struct(members) if members.is_empty() => f.write_str("Struct"),
            Type::Struct(members) => {
                f.write_str("Struct[{")?;
                for (i, (k, opt, t)) in members.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    if *opt {
                        write!(f, "Optional[{}] => {t}", puppet_quote(k))?;
                    } else {
                        write!(f, "{} => {t}", puppet_quote(k))?;
                    }
                }
                f.write_str("}]")
            }
            Type::Optional(t) => bracketed(f, "Optional", t.iter(), |f, t| write!(f, "{t}")),
            // `NotUndef[Any]` is printed as the plain type.
            Type::NotUndef(t) => bracketed(
                f,
                "NotUndef",
                t.iter().filter(|t| !matches!(***t, Type::Any)),
                |f, t| write!(f, "{t}"),
            ),
            Type::Variant(ts) => bracketed(f, "Variant", ts.iter(), |f, t| write!(f, "{t}")),
            Type::Collection(a, b) => {
                f.write_str("Collection")?;
                range_params(f, *a, *b, 0, INT_MAX)
            }
            Type::Iterable => f.write_str("Iterable"),
            Type::Iterator => f.write_str("Iterator"),
            Type::Callable => f.write_str("Callable"),
            Type::CallableOf(c) => f.write_str(&c.text()),
            Type::Type(t) => match t {
                Some(t) => write!(f, "Type[{t}]"),
                None => f.write_str("Type"),
            },
            Type::Resource(t, title) => match (t, title) {
                (None, _) => f.write_str("Resource"),
                (Some(t), None) => f.write_str(t),
                (Some(t), Some(title)) => write!(f, "{t}[{}]", puppet_quote(title)),
            },
            Type::Class(n) => match n {
                Some(n) => write!(f, "Class[{n}]"),
                None => f.write_str("Class"),
            },
            Type::CatalogEntry => f.write_str("CatalogEntry"),
            Type::Sensitive(t) => match t {
                Some(t) => write!(f, "Sensitive[{t}]"),
                None => f.write_str("Sensitive"),
            },
            Type::Deferred => f.write_str("Deferred"),
            Type::Timespan(a, b) => crate::time_range::write(f, "Timespan", *a, *b),
            Type::Timestamp(a, b) => crate::time_range::write(f, "Timestamp", *a, *b),
            Type::SemVer => f.write_str("SemVer"),
            Type::SemVerRange => f.write_str("SemVerRange"),
            Type::Binary => f.write_str("Binary"),
            Type::Uri => f.write_str("URI"),
            Type::Error => f.write_str("Error"),
            Type::Init => f.write_str("Init"),
            Type::InitOf(t, args) => {
                write!(f, "Init[{t}")?;
                for a in args {
                    match a {
                        Value::Str(x) => write!(f, ", {}", puppet_quote(x))?,
                        other => write!(f, ", {}", other.to_display())?,
                    }
                }
                f.write_str("]")
            }
            Type::Object => f.write_str("Object"),
            Type::Obj(o) => match &o.name {
                Some(n) => f.write_str(n),
                None => f.write_str(&o.init_text()),
            },
            Type::Runtime => f.write_str("Runtime"),
            Type::TypeSet(None) => f.write_str("TypeSet"),
            Type::TypeSet(Some(s)) => f.write_str(&s.name),
            Type::RuntimeOf(r, n) => match n {
                Some(n) => write!(f, "Runtime[{r}, {}]", puppet_quote(n)),
                None => write!(f, "Runtime[{r}]"),
            },
            Type::Alias(n, _) | Type::Late(n, _) => f.write_str(n),
        })
    }
}

impl Type {
    /// The text of a type value converted to a string: an alias at the top shows what it
    /// stands for (`Site::Port = Integer[1, 65535]`).
    pub fn expanded_text(&self) -> String {
        match self {
            Type::Alias(n, t) => match t.resolved() {
                Type::Obj(o) if o.name.as_deref() == Some(n.as_str()) => o.init_text(),
                Type::TypeSet(Some(s)) if s.name == *n => s.init_text(),
                _ => format!("{n} = {t}"),
            },
            Type::Obj(o) => o.init_text(),
            Type::Object => "Object[{}]".into(),
            Type::TypeSet(Some(s)) => s.init_text(),
            t => t.to_string(),
        }
    }

    /// The type named by a bare reference (`String`, `Integer`), without parameters.
    pub fn from_name(name: &str) -> Option<Type> {
        Some(match name {
            "Any" => Type::Any,
            "Undef" => Type::Undef,
            "Default" => Type::Default,
            "Boolean" => Type::Boolean,
            "Integer" => Type::Integer(INT_MIN, INT_MAX),
            "Float" => Type::Float(f64::NEG_INFINITY, f64::INFINITY),
            "Numeric" => Type::Numeric,
            "String" => Type::String(0, INT_MAX),
            "Enum" => Type::Enum(vec![], false),
            "Pattern" => Type::Pattern(vec![]),
            "Regexp" => Type::Regexp(None),
            "Scalar" => Type::Scalar,
            "ScalarData" => Type::ScalarData,
            "Data" => Type::Data,
            "RichData" => Type::RichData,
            "Array" => Type::Array(Box::new(Type::Any), 0, INT_MAX),
            "Hash" => Type::Hash(Box::new(Type::Any), Box::new(Type::Any), 0, INT_MAX),
            "Tuple" => Type::Tuple(vec![], 0, INT_MAX),
            "Struct" => Type::Struct(vec![]),
            "Optional" => Type::Optional(None),
            "NotUndef" => Type::NotUndef(None),
            "Variant" => Type::Variant(vec![]),
            "Collection" => Type::Collection(0, INT_MAX),
            "Iterable" => Type::Iterable,
            "Iterator" => Type::Iterator,
            "Callable" => Type::Callable,
            "Type" => Type::Type(None),
            "Resource" => Type::Resource(None, None),
            "Class" => Type::Class(None),
            "CatalogEntry" => Type::CatalogEntry,
            "Sensitive" => Type::Sensitive(None),
            "Deferred" => Type::Deferred,
            "Timespan" => Type::Timespan(INT_MIN, INT_MAX),
            "Timestamp" => Type::Timestamp(INT_MIN, INT_MAX),
            "SemVer" => Type::SemVer,
            "SemVerRange" => Type::SemVerRange,
            "Binary" => Type::Binary,
            "URI" => Type::Uri,
            "Error" => Type::Error,
            "Init" => Type::Init,
            "Object" => Type::Object,
            "TypeSet" => Type::TypeSet(None),
            "Runtime" => Type::Runtime,
            _ => return None,
        })
    }

    /// `Boolean[x]`: `Boolean[true]` or `Boolean[false]`, with Puppet's messages otherwise.
    pub fn boolean_of(args: &[Value]) -> Result<Type, String> {
        match args {
            [Value::Bool(b)] => Ok(Type::BooleanOf(*b)),
            [other] => Err(format!(
                "Error creating type specialization of a Boolean-Type, Cannot use {} where TrueClass or FalseClass is expected",
                infer_for_message(other)
            )),
            _ => Err(format!(
                "A Boolean-Type[] accepts 1 argument. Got {}",
                args.len()
            )),
        }
    }

    /// `String`, `Enum` or `Pattern` without parameters.
    fn is_any_string(&self) -> bool {
        match self {
            Type::String(0, INT_MAX) => true,
            Type::Enum(vs, _) => vs.is_empty(),
            Type::Pattern(ps) => ps.is_empty(),
            _ => false,
        }
    }

    /// Resolves aliases at the top.
    pub fn resolved(&self) -> &Type {
        match self {
            Type::Alias(_, t) => t.resolved(),
            t => t,
        }
    }

    /// Whether this type nests more than `limit` levels (aliases count as leaves: they were
    /// checked when they were made).
    pub fn deeper_than(&self, limit: usize) -> bool {
        let inner = |t: &Type| limit == 0 || t.deeper_than(limit - 1);
        match self {
            Type::Array(t, ..)
            | Type::Optional(Some(t))
            | Type::NotUndef(Some(t))
            | Type::Type(Some(t))
            | Type::Sensitive(Some(t)) => inner(t),
            Type::Hash(k, v, ..) => inner(k) || inner(v),
            Type::Tuple(ts, ..) | Type::Variant(ts) => ts.iter().any(inner),
            Type::Struct(fs) => fs.iter().any(|(_, _, t)| inner(t)),
            _ => false,
        }
    }

    pub fn is_instance(&self, v: &Value) -> bool {
        crate::limits::grow(|| match self {
            Type::Any => true,
            Type::Undef => matches!(v, Value::Undef),
            Type::Default => matches!(v, Value::Default),
            Type::Boolean => matches!(v, Value::Bool(_)),
            Type::BooleanOf(b) => matches!(v, Value::Bool(x) if x == b),
            Type::StrValue(s) => matches!(v, Value::Str(x) if **x == **s),
            Type::Unit => true,
            Type::Integer(a, b) => matches!(v, Value::Int(i) if i >= a && i <= b),
            Type::Float(a, b) => matches!(v, Value::Float(x) if x >= a && x <= b),
            Type::Numeric => matches!(v, Value::Int(_) | Value::Float(_)),
            Type::String(a, b) => match v {
                Value::Str(s) => {
                    let n = s.chars().count() as i64;
                    n >= *a && n <= *b
                }
                _ => false,
            },
            Type::Enum(vals, ci) => match v {
                Value::Str(s) => vals.iter().any(|e| {
                    if *ci {
                        e.to_lowercase() == s.to_lowercase()
                    } else {
                        e.as_str() == &**s
                    }
                }),
                _ => false,
            },
            Type::Pattern(res) => match v {
                Value::Str(s) => res.is_empty() || res.iter().any(|r| r.is_match(s)),
                _ => false,
            },
            Type::Regexp(r) => match (r, v) {
                (None, Value::Regex(_)) => true,
                (Some(r), Value::Regex(x)) => r.source == x.source,
                _ => false,
            },
            Type::Scalar => matches!(
                v,
                Value::Int(_)
                    | Value::Float(_)
                    | Value::Str(_)
                    | Value::Bool(_)
                    | Value::Regex(_)
                    | Value::Timestamp(_)
                    | Value::Timespan(_)
                    | Value::SemVer(_)
                    | Value::SemVerRange(_)
            ),
            Type::ScalarData => {
                matches!(
                    v,
                    Value::Int(_) | Value::Float(_) | Value::Str(_) | Value::Bool(_)
                )
            }
            Type::Data => is_data(v),
            Type::RichData => true,
            Type::Array(e, a, b) => match v {
                Value::Array(xs) => {
                    let n = xs.len() as i64;
                    n >= *a && n <= *b && xs.iter().all(|x| e.is_instance(x))
                }
                _ => false,
            },
            Type::Hash(k, t, a, b) => match v {
                Value::Hash(h) => {
                    let n = h.len() as i64;
                    n >= *a
                        && n <= *b
                        && h.iter()
                            .all(|(kk, vv)| k.is_instance(kk) && t.is_instance(vv))
                }
                _ => false,
            },
            Type::Tuple(ts, a, b) => match v {
                Value::Array(xs) => {
                    let n = xs.len() as i64;
                    let (min, max) = if *a == 0 && *b == INT_MAX && !ts.is_empty() {
                        (ts.len() as i64, ts.len() as i64)
                    } else {
                        (*a, *b)
                    };
                    if n < min || n > max {
                        return false;
                    }
                    xs.iter().enumerate().all(|(i, x)| {
                        let t = ts.get(i).or(ts.last());
                        t.is_none_or(|t| t.is_instance(x))
                    })
                }
                _ => false,
            },
            Type::Struct(members) => match v {
                Value::Hash(h) => {
                    if members.is_empty() {
                        return true;
                    }
                    for (k, _) in h.iter() {
                        match k {
                            Value::Str(s) if members.iter().any(|(m, _, _)| m == &**s) => {}
                            _ => return false,
                        }
                    }
                    members
                        .iter()
                        .all(|(k, opt, t)| match h.get(&Value::str(k.as_str())) {
                            Some(x) => t.is_instance(x),
                            None => *opt || t.is_instance(&Value::Undef),
                        })
                }
                _ => false,
            },
            Type::Optional(t) => {
                matches!(v, Value::Undef) || t.as_ref().is_some_and(|t| t.is_instance(v))
            }
            Type::Init => true,
            Type::InitOf(t, _) => crate::init::is_instance(t, v),
            Type::NotUndef(t) => {
                !matches!(v, Value::Undef) && t.as_ref().is_none_or(|t| t.is_instance(v))
            }
            Type::Variant(ts) => ts.iter().any(|t| t.is_instance(v)),
            Type::Collection(a, b) => match v {
                Value::Array(xs) => (xs.len() as i64) >= *a && (xs.len() as i64) <= *b,
                Value::Hash(h) => (h.len() as i64) >= *a && (h.len() as i64) <= *b,
                _ => false,
            },
            Type::Iterable => {
                matches!(v, Value::Array(_) | Value::Hash(_) | Value::Str(_))
                    || matches!(v, Value::Int(i) if *i >= 0)
                    || matches!(v, Value::Type(t) if match t.resolved() {
                        Type::Integer(a, b) => *a != INT_MIN && *b != INT_MAX,
                        Type::Enum(vs, _) => !vs.is_empty(),
                        _ => false,
                    })
            }
            Type::Iterator => false,
            Type::Callable => false,
            Type::Type(t) => match v {
                Value::Type(x) => t.as_ref().is_none_or(|t| t.is_assignable(x)),
                _ => false,
            },
            Type::Resource(tn, title) => match v {
                Value::Type(x) => match x.resolved() {
                    Type::Resource(Some(xt), xtitle) => {
                        tn.as_ref().is_none_or(|t| t.eq_ignore_ascii_case(xt))
                            && (title.is_none() || title == xtitle)
                    }
                    Type::Class(_) => tn.as_ref().is_none_or(|t| t == "Class"),
                    _ => false,
                },
                _ => false,
            },
            Type::Class(n) => match v {
                Value::Type(x) => match x.resolved() {
                    Type::Class(xn) => n.is_none() || n == xn,
                    _ => false,
                },
                _ => false,
            },
            Type::CatalogEntry => {
                matches!(v, Value::Type(x) if matches!(x.resolved(), Type::Resource(..) | Type::Class(_)))
            }
            Type::Sensitive(t) => match v {
                Value::Sensitive(x) => t.as_ref().is_none_or(|t| t.is_instance(x)),
                _ => false,
            },
            Type::Deferred => matches!(v, Value::Deferred(_)),
            Type::Timestamp(a, b) => matches!(v, Value::Timestamp(t) if t >= a && t <= b),
            Type::Timespan(a, b) => matches!(v, Value::Timespan(t) if t >= a && t <= b),
            Type::SemVer => matches!(v, Value::SemVer(_)),
            Type::SemVerRange => matches!(v, Value::SemVerRange(_)),
            Type::Binary => matches!(v, Value::Binary(_)),
            Type::Object => matches!(v, Value::Object(_)),
            Type::Obj(t) => matches!(v, Value::Object(o) if t.is_ancestor_of(&o.ty)),
            Type::Alias(_, t) => t.is_instance(v),
            Type::Late(_, t) => {
                let key = (t.as_ptr() as usize, v as *const Value as usize);
                crate::assign::late(key, false, || t.upgrade().is_some_and(|t| t.is_instance(v)))
            }
            _ => false,
        })
    }

    /// Is every instance of `other` an instance of `self`? (A practical approximation of
    /// Puppet's assignability for the common types.)
    pub fn is_assignable(&self, other: &Type) -> bool {
        crate::limits::grow(|| {
            // A recursive alias's reference to itself: its definition, a bounded number of
            // times (two recursive aliases are assignable when they agree that deep).
            if let Type::Late(_, t) = self.resolved() {
                let key = (t.as_ptr() as usize, other as *const Type as usize);
                return crate::assign::late(key, true, || {
                    t.upgrade().is_none_or(|t| t.is_assignable(other))
                });
            }
            if let Type::Late(_, t) = other.resolved() {
                let key = (self as *const Type as usize, t.as_ptr() as usize);
                return crate::assign::late(key, true, || {
                    t.upgrade().is_none_or(|t| self.is_assignable(&t))
                });
            }
            let other = other.resolved();
            // A value's own type (`String` of one string, `Boolean[true]`) is, to every other
            // type, the one-value `Enum` or the `Boolean` it stands for.
            let as_general;
            let other = match (self.resolved(), other) {
                (_, Type::Unit) | (Type::Unit, _) => return true,
                (Type::StrValue(s), o) => {
                    return match o {
                        Type::StrValue(x) => x == s,
                        Type::Enum(vs, false) => vs.len() == 1 && *vs[0] == **s,
                        _ => false,
                    }
                }
                (Type::BooleanOf(b), o) => return matches!(o, Type::BooleanOf(x) if x == b),
                // Wrappers pass the value's own type on to their members.
                (Type::Variant(_) | Type::Optional(_) | Type::NotUndef(_), o) => o,
                (_, Type::StrValue(s)) => {
                    as_general = Type::Enum(vec![s.to_string()], false);
                    &as_general
                }
                (_, Type::BooleanOf(_)) => &Type::Boolean,
                (_, o) => o,
            };
            match (self.resolved(), other) {
                (Type::Any, _) => return true,
                // An empty Variant (no instances) is assignable to itself and NotUndef.
                (Type::Variant(ts), Type::Variant(os)) if os.is_empty() => return ts.is_empty(),
                (Type::NotUndef(t), Type::Variant(os)) if os.is_empty() => {
                    return t.as_ref().is_none_or(|t| t.is_assignable(other))
                }
                (s, Type::Variant(os)) => {
                    return !os.is_empty() && os.iter().all(|o| s.is_assignable(o))
                }
                // `Optional[T]` is `Undef` or `T`.
                (s, Type::Optional(x)) => {
                    return s.is_assignable(&Type::Undef)
                        && x.as_ref().is_none_or(|x| s.is_assignable(x))
                }
                // `NotUndef[T]` is `T` when `T` has no undef anyway.
                (s, Type::NotUndef(Some(x)))
                    if !matches!(s, Type::NotUndef(_)) && !x.is_assignable(&Type::Undef) =>
                {
                    return s.is_assignable(x)
                }
                _ => {}
            }
            match (self.resolved(), other) {
                (Type::Object, Type::Obj(_)) => true,
                (Type::Callable, Type::CallableOf(_)) => true,
                (Type::CallableOf(a), Type::CallableOf(b)) => a.text() == b.text(),
                (Type::CallableOf(_), _) => false,
                (Type::Obj(a), Type::Obj(b)) => a.is_ancestor_of(b),
                (Type::Obj(_), _) => false,
                (Type::TypeSet(None), Type::TypeSet(_)) => true,
                (Type::TypeSet(Some(a)), Type::TypeSet(Some(b))) => a.name == b.name,
                (Type::Optional(t), o) => {
                    matches!(o, Type::Undef) || t.as_ref().is_none_or(|t| t.is_assignable(o))
                }
                (Type::Undef, o) => matches!(o, Type::Undef),
                (Type::Variant(ts), o) => ts.iter().any(|t| t.is_assignable(o)),
                (Type::Integer(a, b), Type::Integer(c, d))
                | (Type::Timespan(a, b), Type::Timespan(c, d))
                | (Type::Timestamp(a, b), Type::Timestamp(c, d)) => a <= c && d <= b,
                (Type::Float(a, b), Type::Float(c, d)) => a <= c && d <= b,
                (Type::Numeric, Type::Integer(..) | Type::Float(..) | Type::Numeric) => true,
                (Type::String(a, b), Type::String(c, d)) => a <= c && d <= b,
                (Type::String(a, b), Type::Enum(vs, _)) => {
                    (vs.is_empty() && *a == 0 && *b == INT_MAX)
                        || !vs.is_empty()
                            && vs.iter().all(|v| {
                                (v.chars().count() as i64) >= *a && (v.chars().count() as i64) <= *b
                            })
                }
                (Type::String(a, b), Type::Pattern(_)) => *a == 0 && *b == INT_MAX,
                (Type::Enum(vs, ci), Type::Enum(os, oci)) => {
                    vs.is_empty()
                        || (!os.is_empty()
                            && (*ci || !oci)
                            && os.iter().all(|o| {
                                vs.iter().any(|v| {
                                    v == o || (*ci && v.to_lowercase() == o.to_lowercase())
                                })
                            }))
                }
                (Type::Enum(vs, _), Type::String(..) | Type::Pattern(_)) => vs.is_empty(),
                (Type::Pattern(res), Type::Pattern(os)) if !os.is_empty() => {
                    res.is_empty() || os.iter().all(|o| res.iter().any(|r| r.source == o.source))
                }
                (Type::Pattern(res), Type::Enum(vs, false)) => {
                    res.is_empty()
                        || (!vs.is_empty() && vs.iter().all(|v| res.iter().any(|r| r.is_match(v))))
                }
                (Type::Pattern(_), Type::Pattern(_) | Type::Enum(..) | Type::String(..)) => {
                    matches!(self.resolved(), Type::Pattern(v) if v.is_empty())
                }
                (Type::Scalar, o) => matches!(
                    o,
                    Type::Integer(..)
                        | Type::Float(..)
                        | Type::Numeric
                        | Type::String(..)
                        | Type::Enum(..)
                        | Type::Pattern(_)
                        | Type::Boolean
                        | Type::Regexp(_)
                        | Type::Scalar
                        | Type::ScalarData
                        | Type::Timespan(..)
                        | Type::Timestamp(..)
                        | Type::SemVer
                        | Type::SemVerRange
                ),
                (Type::ScalarData, o) => matches!(
                    o,
                    Type::Integer(..)
                        | Type::Float(..)
                        | Type::Numeric
                        | Type::String(..)
                        | Type::Enum(..)
                        | Type::Pattern(_)
                        | Type::Boolean
                        | Type::ScalarData
                ),
                (Type::Data, o) => crate::assign::data_from(o),
                (Type::RichData, o) => crate::assign::rich_data_from(o),
                (Type::Init, o) => {
                    matches!(o, Type::Init | Type::InitOf(..)) || crate::assign::rich_data_from(o)
                }
                (Type::InitOf(t, _), o) => crate::init::is_assignable(t, o),
                (Type::Runtime, o) => matches!(o, Type::Runtime | Type::RuntimeOf(..)),
                (Type::RuntimeOf(r, n), Type::RuntimeOf(or, on)) => {
                    r == or && (n.is_none() || n == on)
                }
                (Type::Tuple(ts, a, b), o) => {
                    crate::assign::tuple_from(ts, *a, *b, o).unwrap_or(false)
                }
                (Type::Struct(ms), o) => crate::assign::struct_from(ms, o).unwrap_or(false),
                (Type::Array(e, a, b), Type::Array(oe, c, d)) => {
                    a <= c && d <= b && e.is_assignable(oe)
                }
                (Type::Array(e, a, b), Type::Tuple(ts, c, d)) => {
                    let (c, d) = crate::assign::tuple_size(ts, *c, *d);
                    *a <= c && d <= *b && ts.iter().all(|t| e.is_assignable(t))
                }
                (Type::Hash(k, v, a, b), Type::Hash(ok, ov, c, d)) => {
                    a <= c && d <= b && k.is_assignable(ok) && v.is_assignable(ov)
                }
                (Type::Hash(k, v, ..), Type::Struct(ms)) => {
                    ms.iter().all(|(_, _, t)| v.is_assignable(t))
                        && k.is_assignable(&Type::String(0, INT_MAX))
                }
                // The other collection's size range must lie in this one's.
                (Type::Collection(a, b), o) => {
                    let (c, d) = match o {
                        Type::Array(_, c, d) | Type::Hash(_, _, c, d) | Type::Collection(c, d) => {
                            (*c, *d)
                        }
                        Type::Tuple(ts, c, d) => crate::assign::tuple_size(ts, *c, *d),
                        Type::Struct(ms) => (
                            ms.iter().filter(|(_, opt, _)| !opt).count() as i64,
                            ms.len() as i64,
                        ),
                        _ => return false,
                    };
                    a <= &c && &d <= b
                }
                (Type::Regexp(None), Type::Regexp(_)) => true,
                (Type::Regexp(Some(r)), Type::Regexp(Some(o))) => r.source == o.source,
                (Type::Iterable, o) => crate::assign::iterable_from(o),
                (Type::Type(t), Type::Type(o)) => match (t, o) {
                    (None, _) => true,
                    (Some(t), Some(o)) => t.is_assignable(o),
                    (Some(_), None) => false,
                },
                (Type::Resource(None, _), Type::Resource(..)) => true,
                (Type::Resource(Some(t), None), Type::Resource(Some(o), _)) => {
                    t.eq_ignore_ascii_case(o)
                }
                (Type::Resource(Some(t), Some(x)), Type::Resource(Some(o), Some(y))) => {
                    t.eq_ignore_ascii_case(o) && x == y
                }
                (Type::Class(None), Type::Class(_)) => true,
                (Type::Class(Some(a)), Type::Class(Some(b))) => a == b,
                (Type::CatalogEntry, Type::Resource(..) | Type::Class(_) | Type::CatalogEntry) => {
                    true
                }
                (Type::NotUndef(t), o) => {
                    !o.is_assignable(&Type::Undef) && t.as_ref().is_none_or(|t| t.is_assignable(o))
                }
                (Type::Sensitive(t), Type::Sensitive(o)) => match (t, o) {
                    (None, _) => true,
                    (Some(t), Some(o)) => t.is_assignable(o),
                    _ => false,
                },
                (a, b) => a == b,
            }
        })
    }
}

fn is_data(v: &Value) -> bool {
    crate::limits::grow(|| match v {
        Value::Undef | Value::Bool(_) | Value::Int(_) | Value::Float(_) | Value::Str(_) => true,
        Value::Array(a) => a.iter().all(is_data),
        Value::Hash(h) => h
            .iter()
            .all(|(k, v)| matches!(k, Value::Str(_)) && is_data(v)),
        _ => false,
    })
}

/// The type Puppet infers for a value when describing a mismatch (`got Integer`).
pub fn infer_for_message(v: &Value) -> String {
    match v {
        Value::Str(_) => "String".into(),
        Value::Int(_) => "Integer".into(),
        Value::Float(_) => "Float".into(),
        Value::Bool(_) => "Boolean".into(),
        Value::Undef => "Undef".into(),
        Value::Default => "Default".into(),
        Value::Regex(_) => "Regexp".into(),
        Value::Array(_) => "Array".into(),
        Value::Hash(_) => "Hash".into(),
        Value::Type(t) => format!("Type[{t}]"),
        Value::Sensitive(_) => "Sensitive".into(),
        Value::Deferred(_) => "Deferred".into(),
        Value::Timestamp(_) => "Timestamp".into(),
        Value::Timespan(_) => "Timespan".into(),
        Value::SemVer(_) => "SemVer".into(),
        Value::SemVerRange(_) => "SemVerRange".into(),
        Value::Binary(_) => "Binary".into(),
        Value::Object(o) => o.ty.label().to_string(),
    }
}

/// `a`/`an` before a type name, as Puppet's messages use.
pub fn article(name: &str) -> &'static str {
    match name.chars().next() {
        Some('A' | 'E' | 'I' | 'O' | 'U') => "an",
        _ => "a",
    }
}
