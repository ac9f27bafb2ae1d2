//! Puppet 7's built-in functions (the 4.x core set and the 3.x functions still in core).

pub mod catalog;
pub mod collections;
pub mod control;
pub mod digest;
pub mod env;
pub mod iterate;
pub mod lookup;
pub mod math;
pub mod strings;
pub mod templates;
pub mod time;
pub mod types;

use crate::code::LoadKind;
use crate::lang::eval::Evaluator;
use crate::model::error::{EResult, EvalError, Flow};
use crate::model::number::parse_number;
use crate::model::types::{capitalize_type_name, Type};
use crate::model::value::a_value;
use crate::model::value::{Map, Value};
use crate::ruby::format::sprintf;
use indexmap::IndexMap;
use std::rc::Rc;
use troupe_syntax::ast::{Expr, ExprKind, Lambda};

/// `$settings::x`: the few settings code reads.
pub fn setting(ev: &Evaluator<'_>, name: &str) -> Value {
    match name {
        "environment" => Value::str(ev.env.name()),
        "environmentpath" => Value::str(
            ev.env
                .dir()
                .parent()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        ),
        "strict_variables" => Value::Bool(false),
        "strict" => Value::str("warning"),
        "certname" | "servername" => ev.input.server_facts_get("servername"),
        _ => Value::Undef,
    }
}

impl crate::lang::eval::NodeInput {
    pub fn server_facts_get(&self, k: &str) -> Value {
        match &self.server_facts {
            Value::Hash(h) => h.get(&Value::str(k)).cloned().unwrap_or(Value::Undef),
            _ => Value::Undef,
        }
    }
}

fn arity(name: &str, args: &[Value], min: usize, max: usize) -> EResult<()> {
    if args.len() < min || args.len() > max {
        let expected = if min == max {
            format!("{min}")
        } else if max == usize::MAX {
            format!("at least {min}")
        } else {
            format!("between {min} and {max}")
        };
        let plural = if min == max && min == 1 { "" } else { "s" };
        return Err(EvalError::new(format!(
            "'{name}' expects {expected} argument{plural}, got {}",
            args.len()
        )));
    }
    Ok(())
}

/// A String argument. `param` is how Puppet names it: its name in quotes (`"'a'"`) for a
/// function with one signature, else its position.
fn str_arg<'a>(name: &str, v: &'a Value, param: impl std::fmt::Display) -> EResult<&'a str> {
    match v {
        Value::Str(s) => Ok(s),
        other => Err(EvalError::new(format!(
            "'{name}' parameter {param} expects a String value, got {}",
            crate::model::types::infer_for_message(other)
        ))),
    }
}

fn need_lambda<'a>(name: &str, l: Option<&'a Lambda>) -> EResult<&'a Lambda> {
    l.ok_or_else(|| EvalError::new(format!("'{name}' expects a block")))
}

/// The pairs an iteration function walks: (index-or-key, value). Integers, Integer ranges
/// and strings are walked lazily, so `Integer[1, 200000000].reduce` never builds an array.
fn iter_pairs(name: &str, v: &Value) -> EResult<(crate::model::iterate::Pairs, bool)> {
    use crate::model::iterate::Pairs;
    Ok(match v {
        Value::Array(a) => (Pairs::Array(a.clone(), 0, a.len()), false),
        Value::Hash(h) => (Pairs::Hash(h.clone(), 0, h.len()), true),
        Value::Int(n) => (Pairs::range(0, n.saturating_sub(1)), false),
        Value::Str(s) => (Pairs::chars(s), false),
        Value::Type(t) => match t.resolved() {
            Type::Integer(a, b) if *a != i64::MIN && *b != i64::MAX => {
                (Pairs::range(*a, *b), false)
            }
            _ => {
                return Err(EvalError::new(format!(
                    "'{name}' expects an Iterable value, got Type"
                )))
            }
        },
        other if matches!(name, "each" | "map" | "filter" | "any" | "all") => {
            // These dispatch on Hash and Iterable, with a one- or two-parameter block.
            let got = crate::model::types::infer_for_message(other);
            let mut msg = format!(
                "The function '{name}' was called with arguments it does not accept. It expects one of:"
            );
            for (sig, param, want) in [
                ("Hash hash", "hash", "a Hash"),
                ("Iterable enumerable", "enumerable", "an Iterable"),
            ] {
                for n in [2, 1] {
                    msg.push_str(&format!(
                        "\n  ({sig}, Callable[{n}, {n}] block)\n    rejected: parameter '{param}' expects {want} value, got {got}"
                    ));
                }
            }
            return Err(EvalError::new(msg));
        }
        other => {
            let param = if matches!(name, "reverse_each" | "step") {
                "iterable"
            } else {
                "enumerable"
            };
            return Err(EvalError::new(format!(
                "'{name}' parameter '{param}' expects an Iterable value, got {}",
                crate::model::types::infer_for_message(other)
            )));
        }
    })
}

impl<'e> Evaluator<'e> {
    fn lambda_args(l: &Lambda, k: &Value, v: &Value, is_hash: bool) -> Vec<Value> {
        if l.params.len() >= 2 {
            vec![k.clone(), v.clone()]
        } else if is_hash {
            vec![Value::array(vec![k.clone(), v.clone()])]
        } else {
            vec![v.clone()]
        }
    }

    pub fn call_function(
        &mut self,
        name: &str,
        args: Vec<Value>,
        lambda: Option<&Lambda>,
        e: &Expr,
    ) -> EResult<Value> {
        let r = self.call_function_inner(name, args, lambda, e);
        let label = match e.kind {
            ExprKind::MethodCall(_) => "Method call",
            _ => "Function Call",
        };
        r.map_err(|err| {
            if err.loc.is_none() && err.flow.is_none() && err.evaluation {
                EvalError {
                    msg: format!("Error while evaluating a {label}, {}", err.msg),
                    ..err
                }
                .at(self.loc_e(e))
            } else {
                err
            }
        })
    }

    fn log(&mut self, level: &str, args: &[Value]) -> Value {
        let msg: Vec<String> = args.iter().map(|a| a.to_display()).collect();
        self.warnings
            .push(format!("{level}: Scope(...): {}", msg.join(" ")));
        Value::Undef
    }

    fn call_function_inner(
        &mut self,
        name: &str,
        args: Vec<Value>,
        lambda: Option<&Lambda>,
        e: &Expr,
    ) -> EResult<Value> {
        let name = name.trim_start_matches("::");
        // Puppet-language functions (autoloaded) shadow nothing built in but are found first
        // when qualified.
        if name.contains("::") {
            if let Some(def) = self.find_def(LoadKind::Function, name)? {
                return self.call_puppet_function(def, args);
            }
        }
        if let Some(f) = crate::functions::core_fn(name) {
            return f(self, name, args, lambda, e);
        }
        if let Some(def) = self.find_def(LoadKind::Function, name)? {
            return self.call_puppet_function(def, args);
        }
        // A native stand-in for a module's Ruby function exists only where Puppet
        // would find that function: its Ruby file in a module on the modulepath.
        if let Some(api) = self.ruby_function_api(name) {
            // Puppet passes a 3.x function a top-level undef as an empty string.
            let args: Vec<Value> = if api == crate::functions::stdlib::RubyApi::Legacy {
                args.into_iter()
                    .map(|a| if a.is_undef() { Value::str("") } else { a })
                    .collect()
            } else {
                args
            };
            if let Some((_, f)) = crate::functions::module_fn(name) {
                return f(self, name, args, lambda, e);
            }
        }
        Err(EvalError::new(format!("Unknown function: '{name}'.")).at(self.loc_e(e)))
    }

    pub fn var_defined(&mut self, name: &str) -> bool {
        let name = name.trim_start_matches("::");
        if name.contains("::") {
            let (class, var) = match name.rfind("::") {
                Some(i) => (&name[..i], &name[i + 2..]),
                None => ("", name),
            };
            return self
                .class_scopes
                .get(&class.to_lowercase())
                .is_some_and(|&s| self.scopes[s].tables[0].vars.contains_key(var));
        }
        let mut id = Some(self.cur);
        while let Some(s) = id {
            if self.scopes[s].local(name).is_some() {
                return true;
            }
            id = if s == self.top {
                None
            } else {
                self.scopes[s].inherited.or(Some(self.top))
            };
        }
        false
    }

    pub(crate) fn create_resources(
        &mut self,
        tn: &str,
        h: &Map,
        defaults: &Map,
        e: &Expr,
    ) -> EResult<()> {
        let lc = tn.trim_start_matches("::").to_lowercase();
        let (form, lc) = if let Some(x) = lc.strip_prefix("@@") {
            (troupe_syntax::ast::ResourceForm::Exported, x.to_string())
        } else if let Some(x) = lc.strip_prefix('@') {
            (troupe_syntax::ast::ResourceForm::Virtual, x.to_string())
        } else {
            (troupe_syntax::ast::ResourceForm::Regular, lc)
        };
        let loc = self.loc_e(e);
        for (title, attrs) in h.iter() {
            let mut params: IndexMap<String, Value> = IndexMap::new();
            for (k, v) in defaults.iter() {
                params.insert(k.to_display(), v.clone());
            }
            if let Value::Hash(a) = attrs {
                for (k, v) in a.iter() {
                    params.insert(k.to_display(), v.clone());
                }
            }
            if lc == "class" {
                self.declare_class(
                    &title.to_display(),
                    Some(params),
                    Some(loc.line),
                    loc.clone(),
                    "Function Call",
                )?;
                continue;
            }
            let info = match self.resource_type_info(&lc)? {
                Some(i) => i,
                None => return Err(EvalError::new(format!("Unknown resource type: '{lc}'"))),
            };
            let ops: Vec<(String, bool, Value, crate::model::error::Loc)> = params
                .into_iter()
                .map(|(k, v)| (k, false, v, loc.clone()))
                .collect();
            let type_name = capitalize_type_name(&lc);
            let t = title.to_display();
            let idx = self.create_resource(&type_name, &t, &info, &ops, form, loc.line)?;
            if !matches!(title, Value::Str(_)) {
                // A title that is not a String (an Integer key): Puppet keeps it as it is, so it
                // is no tag, and the name it sets no longer equals the title and shows in the
                // catalog.
                self.res[idx].name_param = true;
                self.res[idx].tags.retain(|x| *x != t);
            }
        }
        Ok(())
    }

    /// `Type(args)` / `Type.new(args)`.
    pub fn call_type_new(&mut self, tn: &str, args: Vec<Value>) -> EResult<Value> {
        let t = self.resolve_type_name(tn.split('[').next().unwrap_or(tn))?;
        let v = args.first().cloned().unwrap_or(Value::Undef);
        let r = match t.resolved() {
            Type::Integer(..) => match &v {
                Value::Int(_) => Ok(v.clone()),
                Value::Timestamp(n) | Value::Timespan(n) => Ok(Value::Int(
                    n.div_euclid(crate::model::time::NS_PER_SEC as i64),
                )),
                Value::Float(f) => Ok(Value::Int(*f as i64)),
                Value::Bool(b) => Ok(Value::Int(*b as i64)),
                Value::Str(s) => {
                    let radix = match args.get(1) {
                        Some(Value::Int(r)) => Some(*r as u32),
                        _ => None,
                    };
                    let parsed = match radix {
                        Some(r) => i64::from_str_radix(
                            s.trim_start_matches("0x").trim_start_matches("0b"),
                            r,
                        )
                        .ok()
                        .map(Value::Int),
                        None => parse_number(s),
                    };
                    match parsed {
                        Some(Value::Int(i)) => Ok(Value::Int(i)),
                        Some(Value::Float(f)) => Ok(Value::Int(f as i64)),
                        _ => Err(EvalError::new(format!(
                            "The string '{s}' cannot be converted to Integer"
                        ))),
                    }
                }
                _ => Err(EvalError::new(format!(
                    "Converted value from {} has no Integer representation",
                    a_value(&v)
                ))),
            },
            Type::Float(..) | Type::Numeric => match &v {
                Value::Timestamp(n) | Value::Timespan(n) => Ok(Value::Float(
                    *n as f64 / crate::model::time::NS_PER_SEC as f64,
                )),
                Value::Int(i) if matches!(t.resolved(), Type::Float(..)) => {
                    Ok(Value::Float(*i as f64))
                }
                Value::Int(_) | Value::Float(_) => Ok(v.clone()),
                Value::Str(s) => match parse_number(s) {
                    Some(Value::Int(i)) if matches!(t.resolved(), Type::Float(..)) => {
                        Ok(Value::Float(i as f64))
                    }
                    Some(n) => Ok(n),
                    None => Err(EvalError::new(format!(
                        "The string '{s}' cannot be converted to {}",
                        t
                    ))),
                },
                Value::Bool(b) => Ok(Value::Int(*b as i64)),
                _ => Err(EvalError::new(format!(
                    "Converted value from {} has no {} representation",
                    a_value(&v),
                    t
                ))),
            },
            Type::String(..) => match (&v, args.get(1)) {
                (Value::Int(i), Some(Value::Str(f))) => {
                    Ok(Value::str(sprintf(f, &[Value::Int(*i)])?))
                }
                (Value::Float(x), Some(Value::Str(f))) => {
                    Ok(Value::str(sprintf(f, &[Value::Float(*x)])?))
                }
                (Value::Str(_), _) => Ok(v.clone()),
                (Value::Binary(b), Some(Value::Str(f))) => binary_to_string(b, f).map(Value::str),
                (
                    Value::Timestamp(_)
                    | Value::Timespan(_)
                    | Value::SemVer(_)
                    | Value::SemVerRange(_),
                    Some(Value::Str(f)),
                ) => Ok(Value::str(sprintf(f, &[Value::str(v.to_display())])?)),
                _ => Ok(Value::str(v.to_display_q_top())),
            },
            Type::Boolean => match &v {
                Value::Bool(_) => Ok(v.clone()),
                Value::Str(s) => match s.to_lowercase().as_str() {
                    "true" | "yes" | "y" => Ok(Value::Bool(true)),
                    "false" | "no" | "n" | "" => Ok(Value::Bool(false)),
                    _ => Err(EvalError::new(format!(
                        "The string '{s}' cannot be converted to Boolean"
                    ))),
                },
                Value::Int(i) => Ok(Value::Bool(*i != 0)),
                Value::Float(f) => Ok(Value::Bool(*f != 0.0)),
                _ => Err(EvalError::new(format!(
                    "Converted value from {} has no Boolean representation",
                    a_value(&v)
                ))),
            },
            Type::Array(..) | Type::Tuple(..) => match &v {
                Value::Array(_) => Ok(v.clone()),
                Value::Hash(h) => Ok(Value::array(
                    h.iter()
                        .map(|(k, x)| Value::array(vec![k.clone(), x.clone()]))
                        .collect(),
                )),
                Value::Undef => Ok(Value::array(vec![])),
                other => Ok(Value::array(vec![other.clone()])),
            },
            Type::Hash(..) | Type::Struct(_) => match &v {
                Value::Hash(_) => Ok(v.clone()),
                Value::Array(a) => {
                    let mut m = Map::new();
                    if a.iter()
                        .all(|x| matches!(x, Value::Array(p) if p.len() == 2))
                    {
                        for x in a.iter() {
                            if let Value::Array(p) = x {
                                m.insert(p[0].clone(), p[1].clone());
                            }
                        }
                    } else {
                        for c in a.chunks(2) {
                            m.insert(c[0].clone(), c.get(1).cloned().unwrap_or(Value::Undef));
                        }
                    }
                    Ok(Value::hash(m))
                }
                _ => Err(EvalError::new(format!(
                    "Converted value from {} has no Hash representation",
                    a_value(&v)
                ))),
            },
            Type::Sensitive(_) => Ok(Value::Sensitive(Rc::new(v))),
            Type::Deferred => {
                let n = match &v {
                    Value::Str(s) => s.to_string(),
                    _ => return Err(EvalError::new("Deferred expects a function name")),
                };
                let fargs = match args.get(1) {
                    Some(Value::Array(a)) => (**a).clone(),
                    _ => vec![],
                };
                Ok(Value::Deferred(Rc::new((n, fargs))))
            }
            Type::Regexp(_) => match &v {
                Value::Str(s) => Ok(Value::Regex(Rc::new(
                    crate::model::value::Regexp::new(s).map_err(EvalError::new)?,
                ))),
                _ => Ok(v.clone()),
            },
            Type::Timestamp => new_timestamp(&args),
            Type::Timespan => new_timespan(&args),
            Type::SemVer => new_semver(&args),
            Type::SemVerRange => new_semver_range(&args),
            Type::Binary => new_binary(&args),
            Type::Optional(_) | Type::Variant(_) | Type::Any => Ok(v.clone()),
            _ => Err(EvalError::new(format!(
                "Creation of new instance of type '{t}' is not supported"
            ))),
        }?;
        if !t.is_instance(&r) && !matches!(t.resolved(), Type::Sensitive(_) | Type::Deferred) {
            return Err(EvalError::new(crate::model::describe::mismatch(
                "Converted value",
                &t,
                &r,
            )));
        }
        Ok(r)
    }
}

impl Value {
    /// `String($x)`: strings inside collections are quoted.
    pub fn to_display_q_top(&self) -> String {
        match self {
            Value::Str(s) => s.to_string(),
            Value::Undef => String::new(),
            other => other.to_display_q(),
        }
    }
}

fn core_type_or_def(ev: &mut Evaluator<'_>, n: &str) -> EResult<bool> {
    let lc = n.to_lowercase();
    if crate::catalog::schema::core_type(&lc).is_some() {
        return Ok(true);
    }
    Ok(ev.find_class(&lc)?.is_some()
        || ev.find_define(&lc)?.is_some()
        || ev.find_def(LoadKind::Function, &lc)?.is_some())
}

fn string_fn(name: &str, s: &str) -> String {
    match name {
        "upcase" => s.to_uppercase(),
        "downcase" => s.to_lowercase(),
        "capitalize" => {
            let mut c = s.chars();
            match c.next() {
                Some(f) => f.to_uppercase().collect::<String>() + &c.as_str().to_lowercase(),
                None => String::new(),
            }
        }
        "camelcase" => s
            .split('_')
            .map(|p| {
                let mut c = p.chars();
                match c.next() {
                    Some(f) => f.to_uppercase().collect::<String>() + &c.as_str().to_lowercase(),
                    None => String::new(),
                }
            })
            .collect(),
        "strip" => s.trim().to_string(),
        "lstrip" => s.trim_start().to_string(),
        "rstrip" => s.trim_end().to_string(),
        "chomp" => s
            .strip_suffix("\r\n")
            .or_else(|| s.strip_suffix('\n'))
            .or_else(|| s.strip_suffix('\r'))
            .unwrap_or(s)
            .to_string(),
        "chop" => {
            if let Some(x) = s.strip_suffix("\r\n") {
                x.to_string()
            } else {
                let mut c = s.chars();
                c.next_back();
                c.as_str().to_string()
            }
        }
        _ => s.to_string(),
    }
}

fn map_strings(v: &Value, f: &dyn Fn(&str) -> String) -> Value {
    crate::model::limits::grow(|| match v {
        Value::Str(s) => Value::str(f(s)),
        Value::Array(a) => Value::array(a.iter().map(|x| map_strings(x, f)).collect()),
        Value::Hash(h) => Value::hash(
            h.iter()
                .map(|(k, x)| (map_strings(k, f), map_strings(x, f)))
                .collect(),
        ),
        other => other.clone(),
    })
}

/// Ruby's `String#split(regex)`: trailing empty strings are dropped.
fn split_ruby(s: &str, re: &regex::Regex) -> Vec<Value> {
    let mut parts: Vec<String> = if re.as_str().is_empty() {
        s.chars().map(|c| c.to_string()).collect()
    } else {
        re.split(s).map(String::from).collect()
    };
    while parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    parts.into_iter().map(Value::from).collect()
}

fn regsubst(s: &str, re: &regex::Regex, repl: &str, global: bool) -> String {
    // Ruby replacement syntax: \0..\9 and \\.
    let expand = |caps: &regex::Captures| -> String {
        let mut out = String::new();
        let mut chars = repl.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.peek().copied() {
                    Some(d) if d.is_ascii_digit() => {
                        chars.next();
                        let i = d.to_digit(10).unwrap_or(0) as usize;
                        out.push_str(caps.get(i).map(|m| m.as_str()).unwrap_or(""));
                    }
                    Some('\\') => {
                        chars.next();
                        out.push('\\');
                    }
                    _ => out.push('\\'),
                }
            } else {
                out.push(c);
            }
        }
        out
    };
    if global {
        re.replace_all(s, |c: &regex::Captures| expand(c))
            .into_owned()
    } else {
        re.replace(s, |c: &regex::Captures| expand(c)).into_owned()
    }
}

/// Puppet's versioncmp (Puppet::Util::Package.versioncmp).
pub fn versioncmp(a: &str, b: &str) -> i64 {
    fn tokens(s: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut cur = String::new();
        let mut kind = 0; // 1 digit, 2 alpha
        for c in s.chars() {
            let k = if c.is_ascii_digit() {
                1
            } else if c.is_ascii_alphabetic() {
                2
            } else {
                3
            };
            if k == 3 {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                out.push(c.to_string());
                kind = 0;
                continue;
            }
            if k != kind && !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            kind = k;
            cur.push(c);
        }
        if !cur.is_empty() {
            out.push(cur);
        }
        out
    }
    if a == b {
        return 0;
    }
    let ta = tokens(a);
    let tb = tokens(b);
    let mut i = 0;
    while i < ta.len() && i < tb.len() {
        let x = &ta[i];
        let y = &tb[i];
        i += 1;
        if x == y {
            continue;
        }
        if x == "-" && y != "-" {
            return -1;
        }
        if y == "-" && x != "-" {
            return 1;
        }
        if x == "." && y != "." {
            return -1;
        }
        if y == "." && x != "." {
            return 1;
        }
        let xd = x.chars().all(|c| c.is_ascii_digit());
        let yd = y.chars().all(|c| c.is_ascii_digit());
        if xd && yd {
            if x.starts_with('0') || y.starts_with('0') {
                return match x.to_uppercase().cmp(&y.to_uppercase()) {
                    std::cmp::Ordering::Less => -1,
                    std::cmp::Ordering::Greater => 1,
                    _ => 0,
                };
            }
            let xi: u128 = x.parse().unwrap_or(0);
            let yi: u128 = y.parse().unwrap_or(0);
            return if xi < yi { -1 } else { 1 };
        }
        return match x.to_uppercase().cmp(&y.to_uppercase()) {
            std::cmp::Ordering::Less => -1,
            std::cmp::Ordering::Greater => 1,
            _ => 0,
        };
    }
    match ta.len().cmp(&tb.len()) {
        std::cmp::Ordering::Less => -1,
        std::cmp::Ordering::Greater => 1,
        _ => match a.cmp(b) {
            std::cmp::Ordering::Less => -1,
            std::cmp::Ordering::Greater => 1,
            _ => 0,
        },
    }
}

fn shellquote(s: &str) -> String {
    if s.is_empty() {
        return "\"\"".into();
    }
    let safe = |c: char| c.is_ascii_alphanumeric() || "@%_-+=:,./".contains(c);
    if s.chars().all(safe) {
        return s.to_string();
    }
    if !s.chars().any(|c| "!\"`$\\".contains(c)) {
        return format!("\"{s}\"");
    }
    if !s.contains('\'') {
        return format!("'{s}'");
    }
    let mut out = String::from("\"");
    for c in s.chars() {
        if "!$`\"\\".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn hash_get<'a>(h: &'a Map, k: &str) -> Option<&'a Value> {
    h.get(&Value::str(k)).filter(|v| !v.is_undef())
}

fn formats_of(v: Option<&Value>) -> Option<Vec<String>> {
    match v {
        Some(Value::Str(s)) => Some(vec![s.to_string()]),
        Some(Value::Array(a)) => Some(a.iter().map(|x| x.to_display()).collect()),
        _ => None,
    }
}

fn nsecs_value(n: i128, kind: &str) -> EResult<i64> {
    i64::try_from(n).map_err(|_| EvalError::new(format!("The {kind} is out of range")))
}

fn no_match(t: &str, args: &[Value]) -> EvalError {
    let got: Vec<String> = args
        .iter()
        .map(crate::model::types::infer_for_message)
        .collect();
    EvalError::new(format!(
        "'new_{t}' had no matching signature for arguments ({})",
        got.join(", ")
    ))
}

fn new_timestamp(args: &[Value]) -> EResult<Value> {
    use crate::model::time::*;
    let ns = match args {
        [] => now(),
        [Value::Timestamp(t)] => *t as i128,
        [Value::Int(i)] => *i as i128 * NS_PER_SEC,
        [Value::Float(f)] => secs_to_nsecs(*f),
        [Value::Str(s), rest @ ..] if rest.len() <= 2 => {
            let formats = formats_of(rest.first());
            let tz = rest.get(1).map(|v| v.to_display());
            parse_timestamp(s, formats.as_deref(), tz.as_deref()).map_err(EvalError::new)?
        }
        [Value::Hash(h)] => {
            let s = hash_get(h, "string")
                .map(|v| v.to_display())
                .unwrap_or_default();
            let formats = formats_of(hash_get(h, "format"));
            let tz = hash_get(h, "timezone").map(|v| v.to_display());
            parse_timestamp(&s, formats.as_deref(), tz.as_deref()).map_err(EvalError::new)?
        }
        _ => return Err(no_match("Timestamp", args)),
    };
    Ok(Value::Timestamp(nsecs_value(ns, "Timestamp")?))
}

fn new_timespan(args: &[Value]) -> EResult<Value> {
    use crate::model::time::*;
    let int = |v: Option<&Value>| -> EResult<i128> {
        match v {
            None | Some(Value::Undef) => Ok(0),
            Some(Value::Int(i)) => Ok(*i as i128),
            Some(other) => Err(no_match("Timespan", std::slice::from_ref(other))),
        }
    };
    let fields = |neg: bool, f: [i128; 7]| -> i128 {
        let ns = ((((((f[0] * 24 + f[1]) * 60 + f[2]) * 60 + f[3]) * 1000 + f[4]) * 1000 + f[5])
            * 1000)
            + f[6];
        if neg {
            -ns
        } else {
            ns
        }
    };
    let ns = match args {
        [Value::Timespan(t)] => *t as i128,
        [Value::Int(i)] => *i as i128 * NS_PER_SEC,
        [Value::Float(f)] => secs_to_nsecs(*f),
        [Value::Str(s)] => parse_timespan(s, None).map_err(EvalError::new)?,
        [Value::Str(s), f] => {
            parse_timespan(s, formats_of(Some(f)).as_deref()).map_err(EvalError::new)?
        }
        [Value::Int(_), Value::Int(_), Value::Int(_), Value::Int(_), ..] if args.len() <= 7 => {
            let mut f = [0i128; 7];
            for (i, slot) in f.iter_mut().enumerate() {
                *slot = int(args.get(i))?;
            }
            fields(false, f)
        }
        [Value::Hash(h)] if hash_get(h, "string").is_some() => {
            let s = hash_get(h, "string")
                .map(|v| v.to_display())
                .unwrap_or_default();
            parse_timespan(&s, formats_of(hash_get(h, "format")).as_deref())
                .map_err(EvalError::new)?
        }
        [Value::Hash(h)] => {
            let keys = [
                "days",
                "hours",
                "minutes",
                "seconds",
                "milliseconds",
                "microseconds",
                "nanoseconds",
            ];
            let mut f = [0i128; 7];
            for (slot, k) in f.iter_mut().zip(keys) {
                *slot = int(hash_get(h, k))?;
            }
            fields(hash_get(h, "negative").is_some_and(Value::truthy), f)
        }
        _ => return Err(no_match("Timespan", args)),
    };
    Ok(Value::Timespan(nsecs_value(ns, "Timespan")?))
}

fn new_semver(args: &[Value]) -> EResult<Value> {
    use crate::model::semver::SemVer;
    let from_parts = |maj: &Value,
                      min: &Value,
                      pat: &Value,
                      pre: Option<&Value>,
                      build: Option<&Value>|
     -> EResult<SemVer> {
        let n = |v: &Value| match v {
            Value::Int(i) if *i >= 0 => Ok(*i as u64),
            _ => Err(no_match("SemVer", args)),
        };
        let mut text = format!("{}.{}.{}", n(maj)?, n(min)?, n(pat)?);
        if let Some(p) = pre.filter(|p| !p.is_undef()) {
            text.push('-');
            text.push_str(&p.to_display());
        }
        if let Some(b) = build.filter(|b| !b.is_undef()) {
            text.push('+');
            text.push_str(&b.to_display());
        }
        SemVer::parse(&text).map_err(EvalError::new)
    };
    let v = match args {
        [Value::SemVer(v)] => (**v).clone(),
        [Value::Str(s)] => SemVer::parse(s).map_err(|_| {
            EvalError::new(format!(
                "'new_Version' The string '{s}' cannot be converted to a SemVer"
            ))
        })?,
        [a, b, c, rest @ ..] if rest.len() <= 2 => from_parts(a, b, c, rest.first(), rest.get(1))?,
        [Value::Hash(h)] => {
            let g = |k: &str| h.get(&Value::str(k)).cloned().unwrap_or(Value::Undef);
            from_parts(
                &g("major"),
                &g("minor"),
                &g("patch"),
                hash_get(h, "prerelease"),
                hash_get(h, "build"),
            )?
        }
        _ => return Err(no_match("SemVer", args)),
    };
    Ok(Value::SemVer(Rc::new(v)))
}

fn new_semver_range(args: &[Value]) -> EResult<Value> {
    use crate::model::semver::SemVerRange;
    // Bounds are SemVer values, or `default` for an open end.
    let bound = |v: &Value| match v {
        Value::SemVer(s) => Ok(Some(s.to_string())),
        Value::Default | Value::Undef => Ok(None),
        _ => Err(no_match("SemVerRange", args)),
    };
    // The range, and how Puppet prints it: a range built from two bounds prints them swapped
    // (its constructor names them the other way round); the range itself is min..max.
    let between = |min: &Value, max: &Value, excl: bool| -> EResult<(String, Option<String>)> {
        let two = |lo: &str, hi: &str| {
            if excl {
                format!(">={lo} <{hi}")
            } else {
                format!("{lo} - {hi}")
            }
        };
        Ok(match (bound(min)?, bound(max)?) {
            (Some(a), Some(b)) => (two(&a, &b), Some(two(&b, &a))),
            (Some(a), None) => (format!(">={a}"), None),
            (None, Some(b)) if excl => (format!("<{b}"), None),
            (None, Some(b)) => (format!("<={b}"), None),
            (None, None) => ("*".to_string(), None),
        })
    };
    let (text, shown) = match args {
        [Value::SemVerRange(r)] => return Ok(Value::SemVerRange(r.clone())),
        [Value::Str(s)] => (s.to_string(), None),
        [min, max] => between(min, max, false)?,
        [min, max, Value::Bool(x)] => between(min, max, *x)?,
        [Value::Hash(h)] => {
            let g = |k: &str| h.get(&Value::str(k)).cloned().unwrap_or(Value::Undef);
            between(&g("min"), &g("max"), g("exclude_max").truthy())?
        }
        _ => return Err(no_match("SemVerRange", args)),
    };
    let mut range = SemVerRange::parse(&text).map_err(EvalError::new)?;
    if let Some(shown) = shown {
        range.text = shown;
    }
    Ok(Value::SemVerRange(Rc::new(range)))
}

/// `String($binary, format)`.
fn binary_to_string(b: &[u8], f: &str) -> EResult<String> {
    use crate::model::value::base64_encode;
    match f {
        "%s" => String::from_utf8(b.to_vec()).map_err(|_| {
            EvalError::new("binary data is not valid UTF-8 and cannot be formatted with %s")
        }),
        "%r" => Ok(String::from_utf8_lossy(b).into_owned()),
        "%B" => Ok(base64_encode(b, false)),
        "%u" => Ok(base64_encode(b, true)),
        "%b" => {
            // Ruby's `Base64.encode64`: lines of 60 characters, each ending in a newline.
            let flat = base64_encode(b, false);
            let mut out = String::with_capacity(flat.len() + flat.len() / 60 + 1);
            for chunk in flat.as_bytes().chunks(60) {
                out.push_str(&String::from_utf8_lossy(chunk));
                out.push('\n');
            }
            Ok(out)
        }
        "%p" => Ok(format!("Binary(\"{}\")", base64_encode(b, false))),
        other => Err(EvalError::new(format!(
            "Illegal format '{other}' for Binary"
        ))),
    }
}

fn new_binary(args: &[Value]) -> EResult<Value> {
    let from_str = |s: &str, f: Option<&str>| -> EResult<Vec<u8>> {
        let bad = || EvalError::new("invalid base64");
        match f.unwrap_or("%B") {
            "%b" => crate::model::value::base64_decode(s, false).ok_or_else(bad),
            "%u" | "%B" => crate::model::value::base64_decode(s, true).ok_or_else(bad),
            "%s" | "%r" => Ok(s.as_bytes().to_vec()),
            other => Err(EvalError::new(format!(
                "Unsupported Base64 format '{other}'"
            ))),
        }
    };
    let from_array = |a: &[Value]| -> EResult<Vec<u8>> {
        a.iter()
            .map(|x| match x {
                Value::Int(i) if (0..=255).contains(i) => Ok(*i as u8),
                _ => Err(no_match("Binary", args)),
            })
            .collect()
    };
    let bytes = match args {
        [Value::Binary(b)] => return Ok(Value::Binary(b.clone())),
        [Value::Str(s)] => from_str(s, None)?,
        [Value::Str(s), Value::Str(f)] => from_str(s, Some(f))?,
        [Value::Array(a)] => from_array(a)?,
        [Value::Hash(h)] => match hash_get(h, "value") {
            Some(Value::Array(a)) => from_array(a)?,
            Some(Value::Str(s)) => {
                let f = hash_get(h, "format").map(|v| v.to_display());
                from_str(s, f.as_deref())?
            }
            _ => return Err(no_match("Binary", args)),
        },
        _ => return Err(no_match("Binary", args)),
    };
    Ok(Value::Binary(bytes.into()))
}

impl Evaluator<'_> {
    /// One lambda call of an iteration: `None` when the lambda said `break`.
    fn iteration(&mut self, l: &Lambda, args: &[Value], e: &Expr) -> EResult<Option<Value>> {
        match self.call_lambda(l, args, e) {
            Err(EvalError {
                flow: Some(Flow::Break),
                ..
            }) => Ok(None),
            r => r.map(Some),
        }
    }
}

/// Ruby's `String#scanf`: the values converted before the first failing directive.
pub fn scanf(data: &str, format: &str) -> Vec<Value> {
    let mut out = vec![];
    let mut s = data;
    let f: Vec<char> = format.chars().collect();
    let mut i = 0;
    while i < f.len() {
        let c = f[i];
        if c.is_whitespace() {
            s = s.trim_start();
            i += 1;
            continue;
        }
        if c != '%' || f.get(i + 1) == Some(&'%') {
            let lit = if c == '%' { 2 } else { 1 };
            let t = if c == '%' { s.trim_start() } else { s };
            match t.strip_prefix(c) {
                Some(r) => s = r,
                None => break,
            }
            i += lit;
            continue;
        }
        i += 1;
        let suppress = f.get(i) == Some(&'*');
        if suppress {
            i += 1;
        }
        let mut width: Option<usize> = None;
        while let Some(d) = f.get(i).filter(|d| d.is_ascii_digit()) {
            width = Some(
                width
                    .unwrap_or(0)
                    .saturating_mul(10)
                    .saturating_add(*d as usize - '0' as usize),
            );
            i += 1;
        }
        let Some(&d) = f.get(i) else { break };
        i += 1;
        let max = width.unwrap_or(usize::MAX);
        let take = |s: &str, ok: &dyn Fn(usize, char) -> bool| -> usize {
            s.char_indices()
                .take(max)
                .take_while(|(n, c)| ok(*n, *c))
                .map(|(n, c)| n + c.len_utf8())
                .last()
                .unwrap_or(0)
        };
        let v = match d {
            'd' | 'i' | 'u' | 'x' | 'X' | 'o' => {
                s = s.trim_start();
                let radix = match d {
                    'x' | 'X' => 16,
                    'o' => 8,
                    _ => 10,
                };
                let n = take(s, &|n, c| {
                    (n == 0 && (c == '-' || c == '+')) || c.is_digit(radix)
                });
                let text = &s[..n];
                let digits = text.trim_start_matches(['+', '-']);
                if digits.is_empty() {
                    break;
                }
                s = &s[n..];
                match i64::from_str_radix(digits, radix) {
                    Ok(v) => Value::Int(if text.starts_with('-') { -v } else { v }),
                    Err(_) => break,
                }
            }
            'f' | 'e' | 'E' | 'g' | 'G' | 'a' | 'A' => {
                s = s.trim_start();
                let n = take(s, &|n, c| {
                    c.is_ascii_digit()
                        || c == '.'
                        || (n == 0 && (c == '-' || c == '+'))
                        || c == 'e'
                        || c == 'E'
                });
                let mut text = &s[..n];
                while !text.is_empty() && text.parse::<f64>().is_err() {
                    text = &text[..text.len() - 1];
                }
                if text.is_empty() {
                    break;
                }
                s = &s[text.len()..];
                Value::Float(text.parse().unwrap_or(0.0))
            }
            's' => {
                s = s.trim_start();
                let n = take(s, &|_, c| !c.is_whitespace());
                if n == 0 {
                    break;
                }
                let v = Value::str(&s[..n]);
                s = &s[n..];
                v
            }
            'c' => {
                let w = width.unwrap_or(1);
                let n: usize = s.chars().take(w).map(char::len_utf8).sum();
                if s.chars().count() < w {
                    break;
                }
                let v = Value::str(&s[..n]);
                s = &s[n..];
                v
            }
            '[' => {
                let mut j = i;
                let negate = f.get(j) == Some(&'^');
                if negate {
                    j += 1;
                }
                let start = j;
                if f.get(j) == Some(&']') {
                    j += 1;
                }
                while j < f.len() && f[j] != ']' {
                    j += 1;
                }
                let set: Vec<char> = f[start..j.min(f.len())].to_vec();
                i = j + 1;
                let in_set = |c: char| {
                    let mut k = 0;
                    let mut hit = false;
                    while k < set.len() {
                        if k + 2 < set.len() && set[k + 1] == '-' {
                            hit |= set[k] <= c && c <= set[k + 2];
                            k += 3;
                        } else {
                            hit |= set[k] == c;
                            k += 1;
                        }
                    }
                    hit != negate
                };
                let n = take(s, &|_, c| in_set(c));
                if n == 0 {
                    break;
                }
                let v = Value::str(&s[..n]);
                s = &s[n..];
                v
            }
            _ => break,
        };
        if !suppress {
            out.push(v);
        }
    }
    out
}

/// Depth-first, containers before their contents, as `tree_each` walks by default.
fn tree_walk(v: &Value, path: &mut Vec<Value>, out: &mut Vec<(Vec<Value>, Value)>) {
    crate::model::limits::grow(|| {
        out.push((path.clone(), v.clone()));
        match v {
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    path.push(Value::Int(i as i64));
                    tree_walk(x, path, out);
                    path.pop();
                }
            }
            Value::Hash(h) => {
                for (k, x) in h.iter() {
                    path.push(k.clone());
                    tree_walk(x, path, out);
                    path.pop();
                }
            }
            _ => {}
        }
    })
}
