//! Functions that real modules call but that are written in Ruby outside Puppet's core:
//! puppetlabs-stdlib's (8.x) and openstacklib's, implemented natively with their semantics and
//! error texts. 3.x-API functions see a top-level `undef` argument as an empty string, as Puppet
//! passes it to them.

pub mod catalog;
pub mod collections;
pub mod convert;
pub mod net;
pub mod strings;
pub mod validate;

use crate::lang::eval::Evaluator;
use crate::model::error::{EResult, EvalError};
use crate::model::value::flatten;
use crate::model::value::{Map, Value};
use crate::ruby::object::ruby_string_upto;
use crate::ruby::object::ruby_to_i;
use troupe_syntax::ast::Expr;

use crate::ruby::object::{inspect, ruby_class};

/// Empty string or undef: what stdlib treats as "no value".
/// The API a module's Ruby function is written against.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum RubyApi {
    /// `Puppet::Functions.create_function` (4.x): sees Puppet values as they are.
    Modern,
    /// `Puppet::Parser::Functions.newfunction` (3.x): a top-level undef argument arrives as `''`.
    Legacy,
}

fn blank(v: &Value) -> bool {
    match v {
        Value::Undef => true,
        Value::Str(s) => s.is_empty(),
        _ => false,
    }
}

pub(crate) fn err(msg: impl Into<String>) -> EvalError {
    EvalError::new(msg.into())
}

/// Puppet's `is_absolute_path` (stdlib): Unix or Windows absolute paths.
fn is_absolute_path(p: &str) -> bool {
    if p.starts_with('/') {
        return true;
    }
    let b = p.as_bytes();
    (b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && (b[2] == b'/' || b[2] == b'\\'))
        || p.starts_with("\\\\")
        || p.starts_with("//")
}

impl Evaluator<'_> {
    /// How a module on the modulepath ships the Ruby function `name`: `lib/puppet/functions/
    /// [NS/]NAME.rb` (the 4.x API, preferred by Puppet) or only the 3.x
    /// `lib/puppet/parser/functions/NAME.rb`; `None` when no module does.
    pub(crate) fn ruby_function_api(&mut self, name: &str) -> Option<RubyApi> {
        if let Some(known) = self.ruby_functions.get(name) {
            return *known;
        }
        let modern = format!("lib/puppet/functions/{}.rb", name.replace("::", "/"));
        let legacy = format!("lib/puppet/parser/functions/{name}.rb");
        let has =
            |ev: &Self, dir: &std::path::Path, file: &str| ev.env.read(&dir.join(file)).is_some();
        let kind = |ev: &Self, dir: &std::path::Path| {
            if has(ev, dir, &modern) {
                Some(RubyApi::Modern)
            } else if !name.contains("::") && has(ev, dir, &legacy) {
                Some(RubyApi::Legacy)
            } else {
                None
            }
        };
        // The module that ships it (its namespace, or the native stand-in's home) decides;
        // only when it is absent are the other modules searched.
        let home = match name.split_once("::") {
            Some((ns, _)) => Some(ns),
            None => native_home(name),
        };
        let mut api = home
            .and_then(|m| self.env.module_dir(m))
            .and_then(|d| kind(self, &d));
        if api.is_none() {
            let modules = self.env.modules();
            api = if modules.iter().any(|(_, d)| has(self, d, &modern)) {
                Some(RubyApi::Modern)
            } else if !name.contains("::") && modules.iter().any(|(_, d)| has(self, d, &legacy)) {
                Some(RubyApi::Legacy)
            } else {
                None
            };
        }
        self.ruby_functions.insert(name.to_string(), api);
        api
    }

    /// stdlib's `parseyaml`/`parsejson` (text) and `loadyaml`/`loadjson` (a file): the data,
    /// or the default (second argument) when the data is empty, false or unreadable.
    fn stdlib_load(&mut self, name: &str, args: &[Value]) -> EResult<Value> {
        use crate::code::DataFormat;
        let Some(first) = args.first() else {
            return Err(err(
                "Wrong number of arguments. 1 or 2 arguments should be provided.",
            ));
        };
        let format = if name.ends_with("json") {
            DataFormat::Json
        } else {
            DataFormat::Yaml
        };
        let default = args.get(1).cloned();
        let text = crate::ruby::object::ruby_to_s(first);
        let parsed: Result<serde_json::Value, String> = if name.starts_with("parse") {
            self.env.parse_data(&text, format)
        } else if text.starts_with("http://") || text.starts_with("https://") {
            Err(format!(
                "{name}(): troupe does not fetch URLs while compiling ({text})"
            ))
        } else {
            match self.env.data(std::path::Path::new(&text), format) {
                Some(r) => r.map(|v| (*v).clone()),
                None => {
                    self.warn(format!("Can't load '{text}' File does not exist!"));
                    return Ok(default.unwrap_or(Value::Undef));
                }
            }
        };
        match parsed {
            Ok(serde_json::Value::Null | serde_json::Value::Bool(false)) => {
                Ok(default.unwrap_or(Value::Undef))
            }
            Ok(v) => Ok(crate::model::value::from_json(&v)),
            Err(_) if default.is_some() => Ok(default.unwrap_or(Value::Undef)),
            Err(e) => Err(err(format!("{name}(): {e}"))),
        }
    }

    /// The node's FQDN fact (`networking.fqdn`, else the legacy `fqdn`), the seed of
    /// `fqdn_rand` and `fqdn_rotate`.
    pub(crate) fn fact_fqdn(&self) -> String {
        let facts = &self.input.facts;
        let v = crate::model::value::dig_path(facts.clone(), Some("networking.fqdn"));
        let v = if v.is_undef() {
            crate::model::value::dig_path(facts.clone(), Some("fqdn"))
        } else {
            v
        };
        if v.is_undef() {
            String::new()
        } else {
            v.to_display()
        }
    }

    fn assert_private(&mut self, args: &[Value]) -> EResult<Value> {
        if args.len() > 1 {
            return Err(err(format!(
                "assert_private(): Wrong number of arguments given ({}}}) for 0 or 1)",
                args.len()
            )));
        }
        let module = self.lookup_var("module_name", None)?.to_display();
        let caller = self.lookup_var("caller_module_name", None)?.to_display();
        if module != caller {
            let msg = match args.first() {
                Some(Value::Str(s)) => s.to_string(),
                _ => {
                    let (kind, name) = match self.scope_resource(self.cur) {
                        Some(r) if self.res[r].type_name == "Class" => {
                            ("Class", self.res[r].title.to_lowercase())
                        }
                        Some(r) => ("Definition", self.res[r].type_name.to_lowercase()),
                        None => ("Class", String::new()),
                    };
                    format!("{kind} {name} is private")
                }
            };
            return Err(err(msg));
        }
        Ok(Value::Undef)
    }

    fn validate_legacy(&mut self, args: &[Value], _e: &Expr) -> EResult<Value> {
        if args.len() < 3 {
            return Err(err(format!(
                "'validate_legacy' expects at least 3 arguments, got {}",
                args.len()
            )));
        }
        let t = match &args[0] {
            Value::Type(t) => t.clone(),
            Value::Str(s) => std::rc::Rc::new(self.resolve_type_name(s)?),
            other => {
                return Err(err(format!(
                    "'validate_legacy' parameter 'target_type' expects a Type value, got {}",
                    crate::model::types::infer_for_message(other)
                )))
            }
        };
        let function = args[1].to_display();
        let value = &args[2];
        if t.is_instance(value) {
            return Ok(Value::Undef);
        }
        let mut legacy = vec![value.clone()];
        legacy.extend(args[3..].iter().cloned());
        if validate(&function, &legacy).is_ok() {
            // Previously valid: Puppet only warns (deprecation).
            return Ok(Value::Undef);
        }
        // Puppet describes the value by `infer_set`: arrays are Tuples, hashes Structs.
        let msg =
            crate::model::describe::mismatch(&format!("validate_legacy({function})"), &t, value);
        let msg = match (
            msg.strip_suffix(" got Array"),
            msg.strip_suffix(" got Hash"),
        ) {
            (Some(m), _) => format!("{m} got Tuple"),
            (_, Some(m)) => format!("{m} got Struct"),
            _ => msg,
        };
        Err(err(msg))
    }

    fn defined_with_params(&mut self, reference: &Value, params: Option<&Value>) -> EResult<bool> {
        let (tn, title) = match reference {
            Value::Str(s) => crate::lang::build::resources::parse_ref(s)
                .unwrap_or((s.to_string(), String::new())),
            Value::Type(t) => match t.resolved() {
                crate::model::types::Type::Resource(Some(tn), Some(title)) => {
                    (tn.clone(), title.clone())
                }
                _ => (reference.to_display(), String::new()),
            },
            other => {
                return Err(err(format!(
                    "Reference is not understood: '{}'",
                    ruby_class(other)
                )))
            }
        };
        let empty = Map::new();
        let params = match params {
            Some(Value::Hash(p)) => &**p,
            _ => &empty,
        };
        Ok(self.defined_with(&resource_type(&tn), &title, params))
    }

    /// stdlib's `defined_with_params` on a type and title: the resource exists and has every
    /// given parameter (undef matching an unset one).
    fn defined_with(&self, tn: &str, title: &str, params: &Map) -> bool {
        let Some(idx) = self.find_resource(tn, title) else {
            return false;
        };
        params.iter().all(|(k, v)| {
            let have = self.res[idx]
                .params
                .get(&k.to_display())
                .cloned()
                .unwrap_or(Value::Undef);
            (have.is_undef() && v.is_undef()) || have == *v
        })
    }

    fn ensure_resource(&mut self, tn: &str, titles: &Value, params: &Map, e: &Expr) -> EResult<()> {
        let tn = resource_type(tn);
        for title in flatten(std::slice::from_ref(titles)) {
            if self.defined_with(&tn, &title.to_display(), params) {
                continue;
            }
            // The title goes on as it is: create_resources treats a non-String one as Puppet does.
            let mut h = Map::new();
            h.insert(title, Value::hash(params.clone()));
            self.create_resources(&tn, &h, &Map::new(), e)?;
        }
        Ok(())
    }
}

/// `File` from `file`, `Apache::Vhost` from `apache::vhost`.
fn resource_type(tn: &str) -> String {
    crate::model::types::capitalize_type_name(&tn.to_lowercase())
}

fn deep_merge(a: &Value, b: &Value) -> Value {
    crate::model::limits::grow(|| match (a, b) {
        (Value::Hash(x), Value::Hash(y)) => {
            let mut out = (**x).clone();
            for (k, v) in y.iter() {
                let merged = match out.get(k) {
                    Some(old @ Value::Hash(_)) if matches!(v, Value::Hash(_)) => deep_merge(old, v),
                    _ => v.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::hash(out)
        }
        (_, b) => b.clone(),
    })
}

/// The legacy `validate_*` functions (stdlib 8): `Ok` when valid, else their error text.
fn validate(name: &str, args: &[Value]) -> EResult<()> {
    if args.is_empty() {
        return Err(err(format!(
            "{name}(): wrong number of arguments (0; must be > 0)"
        )));
    }
    let looks = |what: &str, v: &Value| {
        err(format!(
            "{} is not {what}.  It looks to be a {}",
            inspect(v),
            ruby_class(v)
        ))
    };
    match name {
        "validate_string" => {
            for a in args {
                if !matches!(a, Value::Str(_) | Value::Undef) {
                    return Err(looks("a string", a));
                }
            }
        }
        "validate_bool" => {
            for a in args {
                if !matches!(a, Value::Bool(_)) {
                    return Err(err(format!("{} is not a boolean.", inspect(a))));
                }
            }
        }
        "validate_hash" => {
            for a in args {
                if !matches!(a, Value::Hash(_)) {
                    return Err(looks("a Hash", a));
                }
            }
        }
        "validate_array" => {
            for a in args {
                if !matches!(a, Value::Array(_)) {
                    return Err(looks("an Array", a));
                }
            }
        }
        "validate_absolute_path" => {
            for a in args {
                let candidates = match a {
                    Value::Array(x) => (**x).clone(),
                    other => vec![other.clone()],
                };
                for p in candidates {
                    let ok = matches!(&p, Value::Str(s) if is_absolute_path(s));
                    if !ok {
                        return Err(err(format!("{} is not an absolute path.", inspect(&p))));
                    }
                }
            }
        }
        "validate_re" => {
            if args.len() < 2 || args.len() > 3 {
                return Err(err(format!(
                    "validate_re(): wrong number of arguments ({}; must be 2 or 3)",
                    args.len()
                )));
            }
            let s = match &args[0] {
                Value::Str(s) => s.to_string(),
                Value::Undef => String::new(),
                other => {
                    return Err(err(format!(
                        "validate_re(): input needs to be a String, not a {}",
                        ruby_class(other)
                    )))
                }
            };
            let res: Vec<Value> = match &args[1] {
                Value::Array(a) => (**a).clone(),
                other => vec![other.clone()],
            };
            let ok = res.iter().any(|r| {
                let src = match r {
                    Value::Regex(x) => x.source.clone(),
                    other => other.to_display(),
                };
                crate::model::value::Regexp::new(&src).is_ok_and(|re| re.is_match(&s))
            });
            if !ok {
                return Err(err(match args.get(2) {
                    Some(m) => m.to_display(),
                    None => format!(
                        "validate_re(): {} does not match {}",
                        inspect(&args[0]),
                        inspect(&Value::array(res))
                    ),
                }));
            }
        }
        "validate_integer" => {
            let v = &args[0];
            let as_int = |x: &Value| -> Option<i64> {
                match x {
                    Value::Int(i) => Some(*i),
                    Value::Str(s) => s.trim().parse().ok(),
                    _ => None,
                }
            };
            let max = args.get(1).filter(|m| !blank(m)).map(&as_int);
            let min = args.get(2).filter(|m| !blank(m)).map(&as_int);
            if let Some(None) = max {
                return Err(err(format!("validate_integer(): Expected second argument to be unset or an Integer, got {}:{}", inspect(&args[1]), ruby_class(&args[1]))));
            }
            if let Some(None) = min {
                return Err(err(format!("validate_integer(): Expected third argument to be unset or an Integer, got {}:{}", inspect(&args[2]), ruby_class(&args[2]))));
            }
            let items = match v {
                Value::Array(a) => (**a).clone(),
                other => vec![other.clone()],
            };
            for it in items {
                let Some(n) = as_int(&it) else {
                    return Err(err(format!(
                        "validate_integer(): Expected first argument to be an Integer or Array, got {}",
                        ruby_class(&it)
                    )));
                };
                if let Some(Some(m)) = max {
                    if n > m {
                        return Err(err(format!(
                            "validate_integer(): Expected {} to be smaller or equal to {m}, got {}",
                            inspect(&it),
                            inspect(&it)
                        )));
                    }
                }
                if let Some(Some(m)) = min {
                    if n < m {
                        return Err(err(format!(
                            "validate_integer(): Expected {} to be greater or equal to {m}, got {}",
                            inspect(&it),
                            inspect(&it)
                        )));
                    }
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// A regex argument of a 3.x function: `Regexp.new(arg)` (a Regexp or its source text).
fn regexp_arg(v: &Value) -> EResult<std::rc::Rc<crate::model::value::Regexp>> {
    match v {
        Value::Regex(r) => Ok(r.clone()),
        other => crate::model::value::Regexp::new(&crate::ruby::object::ruby_to_s(other))
            .map(std::rc::Rc::new)
            .map_err(err),
    }
}

/// Ruby's `Float(s)` for a String: the whole text must be a number.
fn ruby_float(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.is_empty() || t.contains("__") || t.starts_with('_') || t.ends_with('_') {
        return None;
    }
    let t = t.replace('_', "");
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return i64::from_str_radix(h, 16).ok().map(|n| n as f64);
    }
    if t.ends_with('.') || t.starts_with('.') || t.contains("inf") || t.contains("nan") {
        return None;
    }
    t.parse::<f64>().ok().filter(|f| f.is_finite())
}

fn num2bool(v: &Value) -> EResult<Value> {
    let n = match v {
        Value::Int(n) => *n,
        Value::Float(f) => f.trunc() as i64,
        Value::Str(s) => match ruby_float(s) {
            Some(f) => f.trunc() as i64,
            None => {
                return Err(err(format!(
                    "num2bool(): '{s}' does not look like a number: invalid value for Float(): {}",
                    inspect(v)
                )))
            }
        },
        other => ruby_to_i(&crate::ruby::object::ruby_to_s(other)),
    };
    Ok(Value::Bool(n > 0))
}

fn is_numeric_text(s: &str, int: impl Fn(&str) -> bool) -> bool {
    // ^-?(?:(?:[1-9]\d*)|0)(?:\.\d+)?(?:[eE]-?\d+)?$
    let (mant, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (whole, frac) = match mant.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (mant, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    int(whole)
        && frac.is_none_or(digits)
        && exp.is_none_or(|x| digits(x.strip_prefix('-').unwrap_or(x)))
}

/// Ruby's `IPAddr.new(text)`: an IPv4 or IPv6 address, with an optional `/prefix` or mask.
pub(crate) fn ruby_ipaddr(v: &Value) -> Option<std::net::IpAddr> {
    let Value::Str(s) = v else { return None };
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (&**s, None),
    };
    let addr = addr
        .strip_prefix('[')
        .and_then(|a| a.strip_suffix(']'))
        .unwrap_or(addr);
    let ip: std::net::IpAddr = addr.parse().ok()?;
    let Some(p) = prefix else { return Some(ip) };
    let bits = if ip.is_ipv4() { 32 } else { 128 };
    let len: u32 = match p.parse::<u32>() {
        Ok(n) if n <= bits => n,
        Ok(_) => return None,
        Err(_) => match p.parse::<std::net::IpAddr>() {
            Ok(m) => match m {
                std::net::IpAddr::V4(m) => u32::from(m).count_ones(),
                std::net::IpAddr::V6(m) => u128::from(m).count_ones(),
            },
            Err(_) => return None,
        },
    };
    // IPAddr keeps the network address.
    Some(match ip {
        std::net::IpAddr::V4(a) => {
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            std::net::IpAddr::V4((u32::from(a) & mask).into())
        }
        std::net::IpAddr::V6(a) => {
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len)
            };
            std::net::IpAddr::V6((u128::from(a) & mask).into())
        }
    })
}

fn is_domain_name(domain: &str) -> bool {
    if domain == "." {
        return true;
    }
    let d = domain.strip_suffix('.').unwrap_or(domain);
    if d.is_empty() || d.len() > 255 {
        return false;
    }
    if d.contains('.') {
        // /\.[A-Za-z]+$/
        let last = d.rsplit('.').next().unwrap_or("");
        if last.is_empty() || !last.bytes().all(|b| b.is_ascii_alphabetic()) {
            return false;
        }
    }
    // Ruby's String#split drops trailing empty fields.
    let mut labels: Vec<&str> = d.split('.').collect();
    while labels.last() == Some(&"") {
        labels.pop();
    }
    labels.iter().all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    })
}

/// `URI::DEFAULT_PARSER.escape`: everything but RFC 2396's unreserved and reserved characters
/// as `%XX`.
fn uri_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || "-_.!~*'();/?:@&=+$,[]".contains(c) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// `ERB::Util.url_encode`: everything but `A-Za-z0-9_.~-` as `%XX`.
pub(crate) fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"_.~-".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Ruby's `Shellwords.escape`.
fn shell_escape(s: &str) -> String {
    if s.is_empty() {
        return "''".into();
    }
    let mut out = String::new();
    for c in s.chars() {
        if c == '\n' {
            out.push_str("'\n'");
        } else if c.is_ascii_alphanumeric() || "_-.,:+/@".contains(c) {
            out.push(c);
        } else {
            out.push('\\');
            out.push(c);
        }
    }
    out
}

fn stdlib_range(args: &[Value]) -> EResult<Value> {
    if args.is_empty() {
        return Err(err("range(): Wrong number of arguments given (0 for 1)"));
    }
    let text = crate::ruby::object::ruby_to_s;
    let (start, stop, step, exclusive) = if args.len() > 1 {
        let step = match args.get(2) {
            None | Some(Value::Undef) => 1,
            Some(v) => ruby_to_i(&text(v)).abs(),
        };
        if step == 0 {
            return Err(err(
                "range(): 3rd arg (step size) must be a non zero integer (e.g. 1 or -1)",
            ));
        }
        (text(&args[0]), text(&args[1]), step, false)
    } else {
        let v = text(&args[0]);
        // ^(\w+)(\.\.\.?|\-)(\w+)$
        let word = |t: &str| !t.is_empty() && t.chars().all(|c| c.is_alphanumeric() || c == '_');
        let split = ["...", "..", "-"]
            .iter()
            .find_map(|sep| v.find(sep).map(|i| (&v[..i], *sep, &v[i + sep.len()..])));
        match split {
            Some((a, sep, b)) if word(a) && word(b) => {
                (a.to_string(), b.to_string(), 1, sep == "...")
            }
            _ if !v.is_empty() => {
                return Err(err(format!(
                    "range(): Unable to compute range from the value: {v}"
                )))
            }
            _ => return Err(err(format!("range(): Unknown range format: {v}"))),
        }
    };
    let mut out = Vec::new();
    if !start.is_empty() && start.bytes().all(|b| b.is_ascii_digit()) {
        let (a, b) = (ruby_to_i(&start), ruby_to_i(&stop));
        let end = if exclusive { b - 1 } else { b };
        let mut i = a;
        while i <= end && out.len() < 1_000_000 {
            out.push(Value::Int(i));
            i += step;
        }
    } else {
        for (n, s) in ruby_string_upto(&start, &stop, exclusive)
            .into_iter()
            .enumerate()
        {
            if n as i64 % step == 0 {
                out.push(Value::str(s));
            }
        }
    }
    Ok(Value::array(out))
}

fn stdlib_values_at(args: &[Value]) -> EResult<Value> {
    if args.len() < 2 {
        return Err(err(format!(
            "values_at(): Wrong number of arguments given ({} for 2)",
            args.len()
        )));
    }
    let Value::Array(array) = &args[0] else {
        return Err(err("values_at(): Requires array to work with"));
    };
    let indices = flatten(&args[1..2]);
    if indices.is_empty() {
        return Err(err(
            "values_at(): You must provide at least one positive index to collect",
        ));
    }
    let mut list: Vec<usize> = Vec::new();
    let size = array.len() as i64;
    for i in &indices {
        let t = crate::ruby::object::ruby_to_s(i);
        let digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
        let range = ["...", "..", "-"]
            .iter()
            .find_map(|sep| t.find(sep).map(|p| (&t[..p], *sep, &t[p + sep.len()..])));
        match range {
            Some((a, sep, b)) if digits(a) && digits(b) => {
                let (start, stop) = (ruby_to_i(a), ruby_to_i(b));
                if start > stop {
                    return Err(err("values_at(): Stop index in given indices range is smaller than the start index"));
                }
                if stop > size - 1 {
                    return Err(err(
                        "values_at(): Stop index in given indices range exceeds array size",
                    ));
                }
                let end = if sep == "..." { stop } else { stop + 1 };
                list.extend((start..end).map(|x| x as usize));
            }
            _ => {
                if !digits(&t) {
                    return Err(err("values_at(): Unknown format of given index"));
                }
                let n = ruby_to_i(&t);
                if n > size - 1 {
                    return Err(err("values_at(): Given index exceeds array size"));
                }
                list.push(n as usize);
            }
        }
    }
    Ok(Value::array(
        list.into_iter()
            .map(|i| array[i].clone())
            .filter(|v| !v.is_undef())
            .collect(),
    ))
}

fn validate_numeric(args: &[Value]) -> EResult<()> {
    if args.is_empty() || args.len() > 3 {
        return Err(err(format!(
            "validate_numeric(): Wrong number of arguments; must be 1, 2 or 3, got {}",
            args.len()
        )));
    }
    let text = crate::ruby::object::ruby_to_s;
    let max = if args.len() > 1 {
        let m = text(&args[1]);
        if args.len() > 2 && m.is_empty() {
            None
        } else {
            Some(ruby_float(&m).ok_or_else(|| {
                err(format!(
                    "validate_numeric(): Expected second argument to be unset or a Numeric, got {m}:{}",
                    ruby_class(&args[1])
                ))
            })?)
        }
    } else {
        None
    };
    let min = if args.len() > 2 {
        let m = text(&args[2]);
        Some(ruby_float(&m).ok_or_else(|| {
            err(format!(
                "validate_numeric(): Expected third argument to be unset or a Numeric, got {m}:{}",
                ruby_class(&args[2])
            ))
        })?)
    } else {
        None
    };
    let show = |f: f64| crate::model::value::format_float(f);
    if let (Some(lo), Some(hi)) = (min, max) {
        if lo > hi {
            return Err(err(format!(
                "validate_numeric(): Expected second argument to be larger than third argument, got {} < {}",
                show(hi),
                show(lo)
            )));
        }
    }
    let input = &args[0];
    let check = |n: f64| -> EResult<()> {
        if let Some(hi) = max {
            if n > hi {
                return Err(err(format!(
                    "validate_numeric(): Expected {} to be smaller or equal to {}, got {}.",
                    inspect(input),
                    show(hi),
                    inspect(input)
                )));
            }
        }
        if let Some(lo) = min {
            if n < lo {
                return Err(err(format!(
                    "validate_numeric(): Expected {} to be greater or equal to {}, got {}.",
                    inspect(input),
                    show(lo),
                    inspect(input)
                )));
            }
        }
        Ok(())
    };
    match input {
        Value::Array(a) => {
            for (pos, x) in a.iter().enumerate() {
                let n = match x {
                    Value::Hash(_) => None,
                    other => ruby_float(&text(other)),
                };
                match n {
                    Some(n) => check(n)?,
                    None => {
                        return Err(err(format!(
                            "validate_numeric(): Expected element at array position {pos} to be a Numeric, got {}",
                            ruby_class(x)
                        )))
                    }
                }
            }
            Ok(())
        }
        Value::Hash(_) => Err(err(
            "validate_integer(): Expected first argument to be a Numeric or Array, got Hash",
        )),
        other => match ruby_float(&text(other)) {
            Some(n) => check(n),
            None => Err(err(format!(
                "validate_numeric(): Expected first argument to be a Numeric or Array, got {}",
                ruby_class(other)
            ))),
        },
    }
}

fn stdlib_dig44(args: &[Value]) -> EResult<Value> {
    if args.len() < 2 {
        return Err(err(format!(
            "dig44(): Wrong number of arguments given ({} for at least 2)",
            args.len()
        )));
    }
    let (data, path, default) = (
        &args[0],
        &args[1],
        args.get(2).cloned().unwrap_or(Value::Undef),
    );
    if !matches!(data, Value::Hash(_) | Value::Array(_)) {
        return Err(err(format!(
            "dig44(): first argument must be a hash or an array, given {}",
            ruby_class(data)
        )));
    }
    let Value::Array(path) = path else {
        return Err(err(format!(
            "dig44(): second argument must be an array, given {}",
            ruby_class(path)
        )));
    };
    let mut cur = data.clone();
    for key in path.iter() {
        let next = match (&cur, key) {
            (Value::Hash(h), k) => h.get(k).cloned(),
            (Value::Array(a), Value::Int(i)) => {
                let i = if *i < 0 { a.len() as i64 + i } else { *i };
                a.get(i as usize).cloned()
            }
            (Value::Array(a), Value::Str(s)) => s.trim().parse::<i64>().ok().and_then(|i| {
                let i = if i < 0 { a.len() as i64 + i } else { i };
                a.get(i as usize).cloned()
            }),
            _ => None,
        };
        match next {
            Some(v) if !v.is_undef() => cur = v,
            _ => return Ok(default),
        }
    }
    Ok(cur)
}

fn stdlib_to_json_pretty(args: &[Value]) -> EResult<Value> {
    let data = match args.first() {
        Some(v @ (Value::Hash(_) | Value::Array(_))) => v,
        Some(other) => {
            return Err(err(format!(
                "'to_json_pretty' parameter 'data' expects a value of type Hash or Array, got {}",
                crate::model::types::infer_for_message(other)
            )))
        }
        None => {
            return Err(err(
                "'to_json_pretty' expects between 1 and 3 arguments, got none",
            ))
        }
    };
    let skip_undef = matches!(args.get(1), Some(Value::Bool(true)));
    let data = if skip_undef {
        match data {
            Value::Array(a) => Value::array(a.iter().filter(|v| !v.is_undef()).cloned().collect()),
            Value::Hash(h) => Value::hash(
                h.iter()
                    .filter(|(_, v)| !v.is_undef())
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            _ => unreachable!("checked above"),
        }
    } else {
        data.clone()
    };
    let mut layout = crate::ruby::dump::JsonLayout::pretty();
    if let Some(Value::Hash(opts)) = args.get(2) {
        for (k, v) in opts.iter() {
            let s = crate::ruby::object::ruby_to_s(v);
            match k.to_display().as_str() {
                "indent" => layout.indent = s,
                "space" => layout.space = s,
                "space_before" => layout.space_before = s,
                "object_nl" => layout.object_nl = s,
                "array_nl" => layout.array_nl = s,
                _ => {}
            }
        }
    }
    let mut text = crate::ruby::dump::ruby_json(&data, &layout).map_err(err)?;
    text.push('\n');
    Ok(Value::str(text))
}

/// stdlib's `str2bool` table (openstacklib keeps a copy): `None` for an unknown word.
fn str2bool_text(s: &str) -> Option<bool> {
    match s.to_lowercase().as_str() {
        "" | "0" | "f" | "n" | "false" | "no" => Some(false),
        "1" | "t" | "y" | "true" | "yes" => Some(true),
        _ if s == "undef" || s == "undefined" => Some(false),
        _ => None,
    }
}

/// openstacklib's `_str2bool` (for `ssl`).
fn os_str2bool(v: &Value) -> EResult<bool> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::Str(s) => str2bool_text(s)
            .ok_or_else(|| err("os_transport_url _str2bool(): Unknown type of boolean given")),
        _ => Err(err("str2bool(): Requires string to work with")),
    }
}

fn os_hash_arg<'a>(name: &str, args: &'a [Value]) -> EResult<&'a Map> {
    match args {
        [Value::Hash(h)] => Ok(h),
        [other] => Err(err(format!(
            "{name}(): Requires an hash, got {}",
            ruby_class(other)
        ))),
        _ if name == "os_transport_url" => {
            Err(err("os_transport_url(): Wrong number of arguments"))
        }
        _ => Err(err(format!(
            "{name}(): Wrong number of arguments given ({} for 1)",
            args.len()
        ))),
    }
}

fn os_userinfo(v: &Map) -> Option<String> {
    let get = |k: &str| {
        v.get(&Value::str(k))
            .filter(|x| !crate::ruby::object::ruby_to_s(x).is_empty())
    };
    let user = get("username")?;
    let mut out = url_encode(&crate::ruby::object::ruby_to_s(user));
    if let Some(p) = get("password") {
        out.push(':');
        out.push_str(&url_encode(&crate::ruby::object::ruby_to_s(p)));
    }
    Some(out)
}

pub(crate) fn bracket_ipv6(h: &str) -> String {
    if h.parse::<std::net::Ipv6Addr>().is_ok() && !h.starts_with('[') {
        format!("[{h}]")
    } else {
        h.to_string()
    }
}

pub(crate) fn os_transport_url(args: &[Value]) -> EResult<Value> {
    let raw = os_hash_arg("os_transport_url", args)?;
    let mut v = Map::new();
    for (k, x) in raw.iter() {
        let key = k.to_display();
        let x = if key == "port" {
            Value::str(crate::ruby::object::ruby_to_s(x))
        } else {
            x.clone()
        };
        let (ok, class) = match key.as_str() {
            "hosts" => (matches!(x, Value::Array(_)), "Array"),
            "query" => (matches!(x, Value::Hash(_)), "Hash"),
            _ => (matches!(x, Value::Str(_)), "String"),
        };
        if !ok && !x.is_undef() {
            return Err(err(format!(
                "os_transport_url(): {key} should be a {class}"
            )));
        }
        v.insert(k.clone(), x);
    }
    let has = |k: &str| v.contains_key(&Value::str(k));
    let get = |k: &str| v.get(&Value::str(k)).cloned().unwrap_or(Value::Undef);
    if !has("transport") {
        return Err(err("os_transport_url(): transport is required"));
    }
    if !has("host") && !has("hosts") {
        return Err(err("os_transport_url(): host or hosts is required"));
    }
    if has("host") && has("hosts") {
        return Err(err("os_transport_url(): cannot use both host and hosts."));
    }
    let userinfo = os_userinfo(&v);
    let port = has("port").then(|| crate::ruby::object::ruby_to_s(&get("port")));
    let mut hostinfo = "localhost".to_string();
    if has("host") {
        let mut host = bracket_ipv6(&crate::ruby::object::ruby_to_s(&get("host")));
        if let Some(p) = &port {
            host = format!("{host}:{p}");
        }
        hostinfo = match &userinfo {
            Some(u) => format!("{u}@{host}"),
            None => host,
        };
    }
    if let Value::Array(hosts) = &get("hosts") {
        let hosts: Vec<String> = hosts
            .iter()
            .map(|h| {
                let h = bracket_ipv6(&crate::ruby::object::ruby_to_s(h));
                let h = match &port {
                    Some(p) => format!("{h}:{p}"),
                    None => h,
                };
                match &userinfo {
                    Some(u) => format!("{u}@{h}"),
                    None => h,
                }
            })
            .collect();
        hostinfo = hosts.join(",");
    }
    let path = if has("virtual_host") {
        format!("/{}", crate::ruby::object::ruby_to_s(&get("virtual_host")))
    } else {
        "/".to_string()
    };
    let mut query: Vec<(String, String)> = Vec::new();
    if let Value::Hash(q) = &get("query") {
        for (k, x) in q.iter() {
            query.push((k.to_display(), crate::ruby::object::ruby_to_s(x)));
        }
    }
    if has("ssl") {
        let b = os_str2bool(&get("ssl"))?;
        let val = if b { "1" } else { "0" }.to_string();
        match query.iter_mut().find(|(k, _)| k == "ssl") {
            Some(e) => e.1 = val,
            None => query.push(("ssl".into(), val)),
        }
    }
    let mut url = format!(
        "{}://{hostinfo}{path}",
        crate::ruby::object::ruby_to_s(&get("transport"))
    );
    if !query.is_empty() {
        url.push('?');
        url.push_str(
            &query
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&"),
        );
    }
    Ok(Value::str(url))
}

pub(crate) fn os_database_connection(args: &[Value]) -> EResult<Value> {
    let v = os_hash_arg("os_database_connection", args)?;
    for (k, x) in v.iter() {
        let key = k.to_display();
        let (ok, class) = if key == "extra" {
            (matches!(x, Value::Hash(_)), "Hash")
        } else {
            (matches!(x, Value::Str(_)), "String")
        };
        if !ok && !x.is_undef() {
            return Err(err(format!(
                "os_database_connection(): {key} should be a {class}"
            )));
        }
    }
    let has = |k: &str| v.contains_key(&Value::str(k));
    let get =
        |k: &str| crate::ruby::object::ruby_to_s(v.get(&Value::str(k)).unwrap_or(&Value::Undef));
    if !has("dialect") {
        return Err(err("os_database_connection(): dialect is required"));
    }
    if !has("database") {
        return Err(err("os_database_connection(): database is required"));
    }
    if has("port") && !has("host") {
        return Err(err("os_database_connection(): host is required with port"));
    }
    let mut extra: Vec<(String, String)> = Vec::new();
    if let Some(Value::Hash(x)) = v.get(&Value::str("extra")) {
        for (k, val) in x.iter() {
            extra.push((k.to_display(), crate::ruby::object::ruby_to_s(val)));
        }
    }
    if has("charset") {
        let c = get("charset");
        match extra.iter_mut().find(|(k, _)| k == "charset") {
            Some(e) => e.1 = c,
            None => extra.push(("charset".into(), c)),
        }
    }
    // URI::Generic.build(...).to_s
    let mut url = format!("{}:", get("dialect"));
    if has("host") {
        url.push_str("//");
        if let Some(u) = os_userinfo(v) {
            url.push_str(&u);
            url.push('@');
        }
        url.push_str(&get("host"));
        if has("port") {
            url.push_str(&format!(":{}", ruby_to_i(&get("port"))));
        }
        url.push_str(&format!("/{}", get("database")));
    } else {
        url.push_str(&format!("///{}", get("database")));
    }
    if !extra.is_empty() {
        url.push('?');
        url.push_str(
            &extra
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&"),
        );
    }
    Ok(Value::str(url))
}

/// neutron's `validate_network_vlan_ranges`, `validate_tunnel_id_ranges` and
/// `validate_vni_ranges`: each `[name:]min:max` range checked as the Ruby functions do.
pub(crate) fn neutron_validate_ranges(name: &str, v: &Value) -> EResult<Value> {
    let list: Vec<Value> = match v {
        Value::Array(a) => (**a).clone(),
        other => vec![other.clone()],
    };
    let invalid = |what: &str| err(format!("{what} ranges are invalid."));
    for r in &list {
        let text = match r {
            Value::Str(s) => s.to_string(),
            Value::Undef => continue,
            other => {
                return Err(err(format!(
                    "no implicit conversion of {} into String",
                    ruby_class(other)
                )))
            }
        };
        let parts: Vec<&str> = text.rsplitn(3, ':').collect();
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        // (first, second) when the text ends in `N:M`.
        let pair = match parts.as_slice() {
            [b, a, ..]
                if digits(a)
                    && digits(b)
                    && (name == "validate_network_vlan_ranges" || parts.len() == 2) =>
            {
                // Network ranges allow a `name:` prefix (any text ending in ':').
                if name == "validate_network_vlan_ranges" && parts.len() == 3 && parts[2].is_empty()
                {
                    None
                } else {
                    Some((ruby_to_i(a), ruby_to_i(b)))
                }
            }
            _ => None,
        };
        match (name, pair) {
            ("validate_network_vlan_ranges", Some((a, b))) => {
                if a > 4094 || b > 4094 {
                    return Err(err("vlan id are invalid."));
                }
                if b < a {
                    return Err(invalid("network vlan"));
                }
            }
            ("validate_network_vlan_ranges", None) => {
                // /^([^:]+)?(:\d+)?$/
                let ok = match text.split_once(':') {
                    None => true,
                    Some((_, n)) => digits(n),
                };
                if !ok {
                    return Err(invalid("network vlan"));
                }
            }
            ("validate_tunnel_id_ranges", Some((a, b))) => {
                if b - a > 1_000_000 {
                    return Err(err("tunnel id ranges are to large."));
                }
                if b < a {
                    return Err(invalid("tunnel id"));
                }
            }
            ("validate_tunnel_id_ranges", None) => return Err(invalid("tunnel id")),
            (_, Some((a, b))) => {
                if !(0..=16_777_215).contains(&a) || !(0..=16_777_215).contains(&b) || b < a {
                    return Err(invalid("vni"));
                }
            }
            (_, None) => return Err(invalid("vni")),
        }
    }
    Ok(Value::array(list))
}

/// The module whose Ruby function a native stand-in replaces (searched first).
fn native_home(name: &str) -> Option<&'static str> {
    Some(match name {
        "is_service_default"
        | "normalize_ip_for_uri"
        | "os_transport_url"
        | "os_database_connection"
        | "inet6_prefix" => "openstacklib",
        "validate_network_vlan_ranges"
        | "validate_tunnel_id_ranges"
        | "validate_vni_ranges"
        | "validate_vxlan_udp_port"
        | "convert_to_json_string" => "neutron",
        "mco_array_to_string" => "mcollective",
        "template_body" => "datacat",
        "getvar_emptystring" => "redis",
        "ipaddresses" => "ssh",
        _ => "stdlib",
    })
}
