//! Functions that real modules call but that are written in Ruby outside Puppet's core:
//! puppetlabs-stdlib's (8.x) and openstacklib's, implemented natively with their semantics and
//! error texts. 3.x-API functions see a top-level `undef` argument as an empty string, as Puppet
//! passes it to them.

use crate::lang::eval::Evaluator;
use crate::model::error::{EResult, EvalError};
use crate::model::value::flatten;
use crate::model::value::{Map, Value};
use crate::ruby::object::ruby_string_upto;
use crate::ruby::object::ruby_to_f;
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

fn err(msg: impl Into<String>) -> EvalError {
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
    /// A native stdlib/openstacklib function, or `None` when `name` is not one.
    pub(crate) fn stdlib_call(
        &mut self,
        name: &str,
        args: &[Value],
        e: &Expr,
    ) -> Option<EResult<Value>> {
        let r = match name {
            "pick" => {
                let first = args.iter().find(|v| !blank(v));
                match first {
                    Some(v) => Ok(v.clone()),
                    None => Err(err("pick(): must receive at least one non empty value")),
                }
            }
            "pick_default" => match args.split_last() {
                None => Err(err("Must receive at least one argument.")),
                Some((default, rest)) => Ok(rest
                    .iter()
                    .find(|v| !blank(v))
                    .cloned()
                    .unwrap_or_else(|| if matches!(default, Value::Undef) { Value::str("") } else { default.clone() })),
            },
            "merge" => {
                let mut acc = Map::new();
                for (i, a) in args.iter().enumerate() {
                    match a {
                        Value::Hash(h) => {
                            for (k, v) in h.iter() {
                                acc.insert(k.clone(), v.clone());
                            }
                        }
                        v if blank(v) => {}
                        other => {
                            return Some(Err(err(format!(
                                "'merge' parameter 'args' entry {} expects a value of type Undef, Hash, or String[0, 0], got {}",
                                i + 1,
                                crate::model::types::infer_for_message(other)
                            ))))
                        }
                    }
                }
                Ok(Value::hash(acc))
            }
            "deep_merge" => {
                if args.len() < 2 {
                    return Some(Err(err(format!(
                        "deep_merge(): wrong number of arguments ({}; must be at least 2)",
                        args.len()
                    ))));
                }
                let mut acc = Value::hash(Map::new());
                for a in args {
                    if blank(a) {
                        continue;
                    }
                    if !matches!(a, Value::Hash(_)) {
                        return Some(Err(err(format!(
                            "deep_merge: unexpected argument type {}, only expects hash arguments",
                            ruby_class(a)
                        ))));
                    }
                    acc = deep_merge(&acc, a);
                }
                Ok(acc)
            }
            "any2array" => Ok(match args {
                [] => Value::array(vec![]),
                [Value::Array(a)] => Value::Array(a.clone()),
                [v] if blank(v) => Value::array(vec![]),
                [Value::Hash(h)] => Value::array(
                    h.iter()
                        .flat_map(|(k, v)| [k.clone(), v.clone()])
                        .collect(),
                ),
                _ => Value::array(args.to_vec()),
            }),
            "concat" => {
                if args.len() < 2 {
                    return Some(Err(err(format!(
                        "concat(): Wrong number of arguments given ({} for < 2)",
                        args.len()
                    ))));
                }
                let Value::Array(a) = &args[0] else {
                    return Some(Err(err("concat(): Requires array to work with")));
                };
                let mut out = (**a).clone();
                for x in &args[1..] {
                    match x {
                        Value::Array(b) => out.extend(b.iter().cloned()),
                        other => out.push(other.clone()),
                    }
                }
                Ok(Value::array(out))
            }
            "is_service_default" => {
                if args.len() != 1 {
                    return Some(Err(err(format!(
                        "is_service_default(): Wrong number of argumentsgiven ({} for 1)",
                        args.len()
                    ))));
                }
                Ok(Value::Bool(
                    matches!(&args[0], Value::Str(s) if &**s == "<SERVICE DEFAULT>"),
                ))
            }
            "str2bool" => match args.first() {
                None => Err(err("str2bool(): Wrong number of arguments given (0 for 1)")),
                Some(Value::Bool(b)) => Ok(Value::Bool(*b)),
                Some(Value::Str(s)) => str2bool_text(s)
                    .map(Value::Bool)
                    .ok_or_else(|| err("str2bool(): Unknown type of boolean given")),
                Some(Value::Undef) => Ok(Value::Bool(false)),
                Some(_) => Err(err("str2bool(): Requires string to work with")),
            },
            "bool2num" => match args.first() {
                Some(Value::Bool(b)) => Ok(Value::Int(i64::from(*b))),
                Some(Value::Str(s)) => match s.to_lowercase().as_str() {
                    "" | "0" | "f" | "n" | "false" | "no" | "undef" | "undefined" => Ok(Value::Int(0)),
                    "1" | "t" | "y" | "true" | "yes" => Ok(Value::Int(1)),
                    _ => Err(err("str2bool(): Unknown type of boolean given")),
                },
                _ => Err(err("bool2num(): Wrong number of arguments given (0 for 1)")),
            },
            "has_key" => match args {
                [Value::Hash(h), k] => Ok(Value::Bool(h.contains_key(k))),
                [other, _] => Err(err(format!(
                    "has_key(): expects the first argument to be a hash, got {} which is of type {}",
                    inspect(other),
                    ruby_class(other)
                ))),
                _ => Err(err(format!(
                    "has_key(): wrong number of arguments ({}; must be 2)",
                    args.len()
                ))),
            },
            "size" => match args.first() {
                Some(Value::Array(a)) => Ok(Value::Int(a.len() as i64)),
                Some(Value::Hash(h)) => Ok(Value::Int(h.len() as i64)),
                Some(Value::Str(s)) => Ok(Value::Int(s.chars().count() as i64)),
                _ => Err(err("size(): Unknown type given")),
            },
            "count" => match args {
                [Value::Array(a)] => Ok(Value::Int(a.iter().filter(|v| !blank(v)).count() as i64)),
                [Value::Array(a), item] => Ok(Value::Int(
                    a.iter().filter(|v| *v == item).count() as i64,
                )),
                _ => Err(err(format!(
                    "count(): Wrong number of arguments given {} for 1 or 2.",
                    args.len()
                ))),
            },
            "member" => match args {
                [Value::Array(a), Value::Array(items)] => Ok(Value::Bool(
                    items.iter().all(|i| a.iter().any(|x| x == i)),
                )),
                [Value::Array(a), item] => Ok(Value::Bool(a.iter().any(|x| x == item))),
                [_, _] => Err(err("member(): Requires array to work with")),
                _ => Err(err(format!(
                    "member(): Wrong number of arguments given ({} for 2)",
                    args.len()
                ))),
            },
            "delete_undef_values" => match args.first() {
                Some(Value::Hash(h)) => Ok(Value::hash(
                    h.iter()
                        .filter(|(_, v)| !blank(v))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                )),
                Some(Value::Array(a)) => Ok(Value::array(
                    a.iter().filter(|v| !blank(v)).cloned().collect(),
                )),
                _ => Err(err("delete_undef_values(): expected an array or hash, got ")),
            },
            "delete" => match args {
                [coll, items] => {
                    let items: Vec<Value> = match items {
                        Value::Array(a) => (**a).clone(),
                        other => vec![other.clone()],
                    };
                    match coll {
                        Value::Array(a) => Ok(Value::array(
                            a.iter().filter(|v| !items.contains(v)).cloned().collect(),
                        )),
                        Value::Hash(h) => Ok(Value::hash(
                            h.iter()
                                .filter(|(k, _)| !items.contains(k))
                                .map(|(k, v)| (k.clone(), v.clone()))
                                .collect(),
                        )),
                        Value::Str(s) => {
                            let mut out = s.to_string();
                            for i in &items {
                                out = out.replace(&i.to_display(), "");
                            }
                            Ok(Value::str(out))
                        }
                        other => Err(err(format!(
                            "delete(): First argument must be an Array, String, or Hash. Given an argument of class {}.",
                            ruby_class(other)
                        ))),
                    }
                }
                _ => Err(err(format!(
                    "delete(): Wrong number of arguments given {} for 2",
                    args.len()
                ))),
            },
            "prefix" | "suffix" => {
                let affix = match args.get(1) {
                    Some(Value::Str(s)) => s.to_string(),
                    Some(v) if blank(v) => String::new(),
                    None => String::new(),
                    Some(_) => return Some(Err(err(format!("{name}(): expected second argument to be a String, got ")))),
                };
                let f = |s: &str| {
                    if name == "prefix" {
                        format!("{affix}{s}")
                    } else {
                        format!("{s}{affix}")
                    }
                };
                match args.first() {
                    Some(Value::Array(a)) => Ok(Value::array(
                        a.iter().map(|v| Value::str(f(&v.to_display()))).collect(),
                    )),
                    Some(Value::Hash(h)) => Ok(Value::hash(
                        h.iter()
                            .map(|(k, v)| (Value::str(f(&k.to_display())), v.clone()))
                            .collect(),
                    )),
                    Some(other) => Err(err(format!(
                        "{name}(): expected first argument to be an Array or a Hash, got {}",
                        inspect(other)
                    ))),
                    None => Err(err(format!("{name}(): Wrong number of arguments given (0 for 1)"))),
                }
            }
            "join_keys_to_values" => match args {
                [Value::Hash(h), Value::Str(sep)] => {
                    let mut out = vec![];
                    for (k, v) in h.iter() {
                        match v {
                            Value::Array(a) => {
                                for x in a.iter() {
                                    out.push(Value::str(format!("{}{sep}{}", k.to_display(), x.to_display())));
                                }
                            }
                            other => out.push(Value::str(format!(
                                "{}{sep}{}",
                                k.to_display(),
                                if other.is_undef() { String::new() } else { other.to_display() }
                            ))),
                        }
                    }
                    Ok(Value::array(out))
                }
                [_, Value::Str(_)] => Err(err("join_keys_to_values(): The first argument must be a hash")),
                [_, _] => Err(err("join_keys_to_values(): The second argument must be a string")),
                _ => Err(err(format!(
                    "join_keys_to_values(): Takes exactly two arguments, but {} given.",
                    args.len()
                ))),
            },
            "downcase" | "upcase" | "strip" | "lstrip" | "rstrip" | "capitalize" => {
                let f = |s: &str| -> String {
                    match name {
                        "downcase" => s.to_lowercase(),
                        "upcase" => s.to_uppercase(),
                        "strip" => s.trim().to_string(),
                        "lstrip" => s.trim_start().to_string(),
                        "rstrip" => s.trim_end().to_string(),
                        _ => {
                            let l = s.to_lowercase();
                            let mut c = l.chars();
                            match c.next() {
                                Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                                None => String::new(),
                            }
                        }
                    }
                };
                match args.first() {
                    Some(Value::Str(s)) => Ok(Value::str(f(s))),
                    Some(Value::Array(a)) => Ok(Value::array(
                        a.iter()
                            .map(|v| match v {
                                Value::Str(s) => Value::str(f(s)),
                                other => other.clone(),
                            })
                            .collect(),
                    )),
                    _ => Err(err(format!("{name}(): Requires either array or string to work with"))),
                }
            }
            "dirname" | "basename" => match args.first() {
                Some(Value::Str(s)) => {
                    let p = std::path::Path::new(&**s);
                    Ok(Value::str(if name == "dirname" {
                        match p.parent() {
                            Some(d) if d.as_os_str().is_empty() => ".".to_string(),
                            Some(d) => d.display().to_string(),
                            None => s.to_string(),
                        }
                    } else {
                        let mut b = p
                            .file_name()
                            .map(|f| f.to_string_lossy().to_string())
                            .unwrap_or_default();
                        if let Some(Value::Str(ext)) = args.get(1) {
                            if let Some(x) = b.strip_suffix(&**ext) {
                                b = x.to_string();
                            }
                        }
                        b
                    }))
                }
                _ => Err(err(format!("{name}(): Requires string as argument"))),
            },
            "is_string" => Ok(Value::Bool(match args.first() {
                Some(Value::Str(s)) => s.parse::<f64>().is_err(),
                _ => false,
            })),
            "is_array" => Ok(Value::Bool(matches!(args.first(), Some(Value::Array(_))))),
            "is_hash" => Ok(Value::Bool(matches!(args.first(), Some(Value::Hash(_))))),
            "is_bool" => Ok(Value::Bool(matches!(args.first(), Some(Value::Bool(_))))),
            "deprecation" => Ok(Value::Undef),
            "assert_private" => self.assert_private(args),
            "validate_legacy" => self.validate_legacy(args, e),
            "validate_string" | "validate_bool" | "validate_hash" | "validate_array"
            | "validate_absolute_path" | "validate_re" | "validate_integer" => {
                validate(name, args).map(|()| Value::Undef)
            }
            "defined_with_params" => {
                let (Some(r), params) = (args.first(), args.get(1)) else {
                    return Some(Err(err("Must specify a reference")));
                };
                self.defined_with_params(r, params).map(Value::Bool)
            }
            "ensure_resource" => {
                let (Some(tn), Some(titles)) = (args.first(), args.get(1)) else {
                    return Some(Err(err("Must specify a type")));
                };
                let params = match args.get(2) {
                    Some(Value::Hash(h)) => (**h).clone(),
                    _ => Map::new(),
                };
                self.ensure_resource(&tn.to_display(), titles, &params, e)
                    .map(|()| Value::Undef)
            }
            "ensure_resources" => {
                let (Some(tn), Some(Value::Hash(titles))) = (args.first(), args.get(1)) else {
                    return Some(Err(err("ensure_resources(): Requires second argument to be a Hash")));
                };
                let defaults = match args.get(2) {
                    Some(Value::Hash(h)) => (**h).clone(),
                    _ => Map::new(),
                };
                let tn = tn.to_display();
                for (title, params) in titles.iter() {
                    let mut p = defaults.clone();
                    if let Value::Hash(h) = params {
                        for (k, v) in h.iter() {
                            p.insert(k.clone(), v.clone());
                        }
                    }
                    if let Err(x) = self.ensure_resource(&tn, title, &p, e) {
                        return Some(Err(x));
                    }
                }
                Ok(Value::Undef)
            }
            "ensure_packages" => {
                let mut defaults = Map::new();
                defaults.insert(Value::str("ensure"), Value::str("installed"));
                if let Some(Value::Hash(d)) = args.get(1) {
                    for (k, v) in d.iter() {
                        defaults.insert(k.clone(), v.clone());
                    }
                    if defaults.get(&Value::str("ensure")) == Some(&Value::str("present")) {
                        defaults.insert(Value::str("ensure"), Value::str("installed"));
                    }
                }
                match args.first() {
                    Some(Value::Hash(h)) => {
                        for (title, params) in h.iter() {
                            let mut p = defaults.clone();
                            if let Value::Hash(x) = params {
                                for (k, v) in x.iter() {
                                    p.insert(k.clone(), v.clone());
                                }
                            }
                            if let Err(x) = self.ensure_resource("package", title, &p, e) {
                                return Some(Err(x));
                            }
                        }
                        Ok(Value::Undef)
                    }
                    Some(v) => {
                        for p in flatten(std::slice::from_ref(v)) {
                            if let Err(x) = self.ensure_resource("package", &p, &defaults, e) {
                                return Some(Err(x));
                            }
                        }
                        Ok(Value::Undef)
                    }
                    None => Err(err("'ensure_packages' expects between 1 and 2 arguments, got none")),
                }
            }
            "fqdn_rotate" => {
                let Some(v) = args.first() else {
                    return Some(Err(err("fqdn_rotate(): Wrong number of arguments given (0 for 1)")));
                };
                let (mut items, is_str): (Vec<Value>, bool) = match v {
                    Value::Array(a) => ((**a).clone(), false),
                    Value::Str(s) => (s.chars().map(|c| Value::str(c.to_string())).collect(), true),
                    _ => return Some(Err(err("fqdn_rotate(): Requires either array or string to work with"))),
                };
                if items.len() > 1 {
                    let rest: Vec<String> = flatten(&args[1..]).iter().map(|v| v.to_display()).collect();
                    let text = format!("{}:{}", self.fact_fqdn(), rest.join(":"));
                    let offset = crate::functions::digest::seeded_rand(&text, items.len() as i64) as usize;
                    let n = items.len();
                    items.rotate_left(offset % n);
                }
                Ok(if is_str {
                    Value::str(items.iter().map(|v| v.to_display()).collect::<String>())
                } else {
                    Value::array(items)
                })
            }
            "base64" => match args {
                [Value::Str(action), Value::Str(s), ..] => match &**action {
                    "encode" => {
                        let method = args.get(2).map(|m| m.to_display()).unwrap_or_default();
                        let enc = crate::model::value::base64_encode(s.as_bytes(), false);
                        Ok(Value::str(if method == "strict" || method == "urlsafe" {
                            if method == "urlsafe" {
                                enc.replace('+', "-").replace('/', "_")
                            } else {
                                enc
                            }
                        } else {
                            // Ruby's Base64.encode64: a newline every 60 characters and at the end.
                            let mut out = String::new();
                            for chunk in enc.as_bytes().chunks(60) {
                                out.push_str(&String::from_utf8_lossy(chunk));
                                out.push('\n');
                            }
                            out
                        }))
                    }
                    "decode" => match crate::model::value::base64_decode(s, false) {
                        Some(b) => Ok(Value::str(String::from_utf8_lossy(&b).to_string())),
                        None => Err(err("base64(): the second argument must be valid base64")),
                    },
                    _ => Err(err("base64(): the first argument must be one of 'encode' or 'decode'")),
                },
                _ => Err(err("base64(): Wrong number of arguments")),
            },
            "normalize_ip_for_uri" => {
                let (list, single) = match args.first() {
                    Some(Value::Array(a)) => ((**a).clone(), a.len() == 1),
                    Some(v) => (vec![v.clone()], true),
                    None => (vec![], false),
                };
                let out: Vec<Value> = list
                    .into_iter()
                    .map(|ip| match &ip {
                        Value::Str(s) => Value::str(bracket_ipv6(s)),
                        _ => ip,
                    })
                    .collect();
                Ok(if single {
                    out.into_iter().next().unwrap_or(Value::Undef)
                } else {
                    Value::array(out)
                })
            }
            // stdlib's `fact('a.b.0')`: a fact by dotted path, undef when absent.
            "fact" => {
                let Some(Value::Str(path)) = args.first() else {
                    return Some(Err(err(format!(
                        "'fact' parameter 'fact_name' expects a String value, got {}",
                        crate::model::types::infer_for_message(args.first().unwrap_or(&Value::Undef))
                    ))));
                };
                Ok(crate::model::value::dig_path(self.input.facts.clone(), Some(path)))
            }
            "delete_at" => match args {
                [Value::Array(a), idx] => {
                    let i = match idx {
                        Value::Int(i) if *i >= 0 => *i as usize,
                        Value::Str(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                            s.parse().unwrap_or(usize::MAX)
                        }
                        Value::Str(_) => {
                            return Some(Err(err(
                                "delete_at(): You must provide non-negative numeric index",
                            )))
                        }
                        _ => 0,
                    };
                    if i >= a.len() {
                        return Some(Err(err(
                            "delete_at(): Given index exceeds size of array given",
                        )));
                    }
                    let mut out = (**a).clone();
                    out.remove(i);
                    Ok(Value::array(out))
                }
                [_, _] => Err(err("delete_at(): Requires array to work with")),
                _ => Err(err(format!(
                    "delete_at(): Wrong number of arguments given ({} for 2)",
                    args.len()
                ))),
            },
            // memcached: the cache size in MB from a size or a percentage of memorysize.
            "memcached::max_memory" => {
                let arg = args.first().cloned().unwrap_or(Value::Undef);
                let text = arg.to_display();
                if !arg.is_undef() && !matches!(arg, Value::Bool(false)) && !text.ends_with('%') {
                    return Some(Ok(Value::Int(ruby_to_i(&text))));
                }
                let pct = if arg.is_undef() { "95%".to_string() } else { text };
                let memsize = match &self.input.facts {
                    Value::Hash(h) => h
                        .get(&Value::str("memorysize"))
                        .map(|v| v.to_display())
                        .unwrap_or_default(),
                    _ => String::new(),
                };
                let num: String = memsize
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | '+' | '-'))
                    .collect();
                let rest = memsize[num.len()..].trim_start();
                let prefix = rest.chars().next().filter(|c| *c != 'b' && *c != 'B');
                let mut value: f64 = ruby_to_f(&num);
                value *= match prefix {
                    None => 1.0,
                    Some('k') => (1u64 << 10) as f64,
                    Some('M') => (1u64 << 20) as f64,
                    Some('G') => (1u64 << 30) as f64,
                    Some('T') => (1u64 << 40) as f64,
                    Some('E') => (1u64 << 50) as f64,
                    Some(p) => {
                        return Some(Err(err(format!(
                            "memcached_max_memory(): Unknown prefix {p}"
                        ))))
                    }
                };
                let value = value as i64;
                let mb = ((value / (1 << 20)) as f64 * (ruby_to_f(&pct) / 100.0)).floor();
                Ok(Value::Int(mb as i64))
            }
            // mysql: the MySQL 4.1+ password hash.
            "mysql::password" | "mysql_password" => {
                let pw = match args.first() {
                    Some(Value::Str(s)) => s.to_string(),
                    Some(Value::Sensitive(v)) => v.to_display(),
                    other => {
                        return Some(Err(err(format!(
                            "'mysql::password' parameter 'password' expects a String value, got {}",
                            crate::model::types::infer_for_message(other.unwrap_or(&Value::Undef))
                        ))))
                    }
                };
                let already = pw.len() >= 41 && {
                    let tail = &pw[pw.len() - 41..];
                    tail.starts_with('*')
                        && tail[1..].bytes().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
                };
                Ok(Value::str(if pw.is_empty() {
                    String::new()
                } else if already {
                    pw
                } else {
                    use sha1::Digest;
                    let inner = sha1::Sha1::digest(pw.as_bytes());
                    format!("*{}", crate::functions::digest::hex("sha1", &inner).to_uppercase())
                }))
            }
            // postgresql: `md5` + MD5(password + username).
            "postgresql::postgresql_password" | "postgresql_password" => {
                let user = args.first().map(|v| v.to_display()).unwrap_or_default();
                let pw = args.get(1).map(|v| v.to_display()).unwrap_or_default();
                Ok(Value::str(format!(
                    "md5{}",
                    crate::functions::digest::hex("md5", format!("{pw}{user}").as_bytes())
                )))
            }
            // postgresql: pg_hba rules from `TYPE DATABASE USER [ADDRESS] METHOD [OPTIONS]` lines.
            "postgresql::postgresql_acls_to_resources_hash" => {
                let (Some(Value::Array(acls)), Some(id), Some(Value::Int(offset))) =
                    (args.first(), args.get(1), args.get(2))
                else {
                    return Some(Err(err(
                        "'postgresql::postgresql_acls_to_resources_hash' expects (Array[String], String[1], Integer[0])",
                    )));
                };
                let id = id.to_display();
                let mut out = Map::new();
                for acl in acls.iter() {
                    // Ruby's `acls.index(acl)`: a repeated line takes its first position.
                    let index = acls.iter().position(|x| x == acl).unwrap_or(0);
                    let text = acl.to_display();
                    let parts: Vec<&str> = text.split_whitespace().collect();
                    if parts.len() < 4 {
                        return Some(Err(err(format!(
                            "postgresql::postgresql_acls_to_resources_hash(): acl line {index} does not have enough parts"
                        ))));
                    }
                    let mut r = Map::new();
                    let put = |r: &mut Map, k: &str, v: String| {
                        r.insert(Value::str(k), Value::str(v));
                    };
                    put(&mut r, "type", parts[0].into());
                    put(&mut r, "database", parts[1].into());
                    put(&mut r, "user", parts[2].into());
                    put(&mut r, "order", format!("{:03}", offset + index as i64));
                    if parts[0] == "local" {
                        put(&mut r, "auth_method", parts[3].into());
                        if parts.len() > 4 {
                            put(&mut r, "auth_option", parts[4..].join(" "));
                        }
                    } else if parts.get(4).is_some_and(|p| p.starts_with(|c: char| c.is_ascii_digit())) {
                        put(&mut r, "address", format!("{} {}", parts[3], parts[4]));
                        if let Some(m) = parts.get(5) {
                            put(&mut r, "auth_method", (*m).into());
                        } else {
                            r.insert(Value::str("auth_method"), Value::Undef);
                        }
                        if parts.len() > 6 {
                            put(&mut r, "auth_option", parts[6..].join(" "));
                        }
                    } else {
                        put(&mut r, "address", parts[3].into());
                        if let Some(m) = parts.get(4) {
                            put(&mut r, "auth_method", (*m).into());
                        } else {
                            r.insert(Value::str("auth_method"), Value::Undef);
                        }
                        if parts.len() > 5 {
                            put(&mut r, "auth_option", parts[5..].join(" "));
                        }
                    }
                    out.insert(
                        Value::str(format!("postgresql class generated rule {id} {index}")),
                        Value::hash(r),
                    );
                }
                Ok(Value::hash(out))
            }
            // saz-ssh: the IPv4 and IPv6 addresses of every interface but loopback (legacy facts).
            "ipaddresses" => {
                let fact = |ev: &mut Self, n: &str| -> Value { ev.lookup_var(n, None).unwrap_or(Value::Undef) };
                let interfaces = fact(self, "interfaces");
                if interfaces.is_undef() {
                    return Some(Ok(Value::Bool(false)));
                }
                let list = interfaces.to_display();
                let mut out = Vec::new();
                for iface in list.split(',') {
                    if iface.contains("lo") {
                        continue;
                    }
                    for f in [format!("ipaddress_{iface}"), format!("ipaddress6_{iface}")] {
                        let v = fact(self, &f);
                        if !v.is_undef() && !matches!(v, Value::Bool(false)) {
                            out.push(v);
                        }
                    }
                }
                Ok(Value::array(out))
            }
            // redis: a variable's value, or '' when it is unknown.
            "getvar_emptystring" => {
                if args.len() != 1 {
                    return Some(Err(err(format!(
                        "getvar_emptystring(): wrong number of arguments ({}; must be 1)",
                        args.len()
                    ))));
                }
                let n = args[0].to_display();
                Ok(match self.lookup_var(n.trim_start_matches("::"), None) {
                    Ok(v) if !v.is_undef() => v,
                    _ => Value::str(""),
                })
            }
            // apache: Apache's On/Off from a boolean.
            "apache::bool2httpd" | "bool2httpd" => {
                let v = args.first().cloned().unwrap_or(Value::Undef);
                let s = v.to_display().to_lowercase();
                Ok(Value::str(match &v {
                    Value::Undef | Value::Bool(false) => "Off".to_string(),
                    Value::Bool(true) => "On".to_string(),
                    Value::Str(_) if s.contains("false") => "Off".to_string(),
                    Value::Str(_) if s.contains("true") => "On".to_string(),
                    Value::Str(x) => x.to_string(),
                    other => other.to_display(),
                }))
            }
            "hash" => match args.first() {
                None => Err(err("hash(): Wrong number of arguments given (0 for 1)")),
                Some(Value::Array(a)) => {
                    let flat = flatten(a);
                    if !flat.len().is_multiple_of(2) {
                        Err(err("hash(): Unable to compute hash from array given"))
                    } else {
                        let mut m = Map::new();
                        for pair in flat.chunks(2) {
                            m.insert(pair[0].clone(), pair[1].clone());
                        }
                        Ok(Value::hash(m))
                    }
                }
                Some(_) => Err(err("hash(): Requires array to work with")),
            },
            "range" => stdlib_range(args),
            "grep" | "reject" => {
                if args.len() != 2 {
                    return Some(Err(err(format!(
                        "{name}(): Wrong number of arguments given {} for 2",
                        args.len()
                    ))));
                }
                let re = match regexp_arg(&args[1]) {
                    Ok(re) => re,
                    Err(e) => return Some(Err(e)),
                };
                let keep = name == "grep";
                match &args[0] {
                    Value::Array(a) => Ok(Value::array(
                        a.iter()
                            .filter(|v| matches!(v, Value::Str(s) if re.is_match(s)) == keep)
                            .cloned()
                            .collect(),
                    )),
                    other => Err(err(format!(
                        "undefined method `{name}' for {}:{}",
                        inspect(other),
                        ruby_class(other)
                    ))),
                }
            }
            "values_at" => stdlib_values_at(args),
            "union" | "difference" | "intersection" => {
                if args.len() < 2 {
                    return Some(Err(err(format!(
                        "{name}(): Wrong number of arguments given ({} for 2)",
                        args.len()
                    ))));
                }
                let mut arrays = Vec::new();
                for a in args {
                    match a {
                        Value::Array(x) => arrays.push(x.clone()),
                        _ if name == "union" => {
                            return Some(Err(err("union(): Every parameter must be an array")))
                        }
                        _ => {
                            return Some(Err(err(format!(
                                "{name}(): Requires 2 arrays"
                            ))))
                        }
                    }
                }
                let mut out: Vec<Value> = Vec::new();
                match name {
                    "union" => {
                        for a in &arrays {
                            for v in a.iter() {
                                if !out.contains(v) {
                                    out.push(v.clone());
                                }
                            }
                        }
                    }
                    "difference" => {
                        for v in arrays[0].iter() {
                            if !arrays[1].contains(v) {
                                out.push(v.clone());
                            }
                        }
                    }
                    _ => {
                        for v in arrays[0].iter() {
                            if arrays[1].contains(v) && !out.contains(v) {
                                out.push(v.clone());
                            }
                        }
                    }
                }
                Ok(Value::array(out))
            }
            "bool2str" => {
                if args.len() != 1 && args.len() != 3 {
                    return Some(Err(err(format!(
                        "bool2str(): Wrong number of arguments given ({} for 3)",
                        args.len()
                    ))));
                }
                let pick = |i: usize, d: &str| match args.get(i) {
                    None | Some(Value::Undef) => Some(Value::str(d)),
                    Some(v @ Value::Str(_)) => Some(v.clone()),
                    Some(_) => None,
                };
                match (&args[0], pick(1, "true"), pick(2, "false")) {
                    (Value::Bool(b), Some(t), Some(f)) => Ok(if *b { t } else { f }),
                    (Value::Bool(_), _, _) => Err(err("bool2str(): Requires strings to convert to")),
                    _ => Err(err("bool2str(): Requires a boolean to work with")),
                }
            }
            "num2bool" => match args {
                [v] => num2bool(v),
                _ => Err(err(format!(
                    "num2bool(): Wrong number of arguments given ({} for 1)",
                    args.len()
                ))),
            },
            "any2bool" => match args.first() {
                None => Err(err("any2bool(): Wrong number of arguments given (0 for 1)")),
                Some(Value::Bool(b)) => Ok(Value::Bool(*b)),
                Some(Value::Undef) => Ok(Value::Bool(false)),
                Some(v @ (Value::Int(_) | Value::Float(_))) => num2bool(v),
                Some(Value::Str(s)) => {
                    if ruby_float(s).is_some() {
                        num2bool(&args[0])
                    } else {
                        return self.stdlib_call("str2bool", args, e);
                    }
                }
                Some(_) => Ok(Value::Bool(true)),
            },
            "is_integer" | "is_numeric" | "is_float" => {
                if args.len() != 1 {
                    return Some(Err(err(format!(
                        "{name}(): Wrong number of arguments given {} for 1",
                        args.len()
                    ))));
                }
                let int = |s: &str| {
                    let d = s.strip_prefix('-').unwrap_or(s);
                    !d.is_empty()
                        && d.bytes().all(|b| b.is_ascii_digit())
                        && (d == "0" || !d.starts_with('0'))
                };
                Ok(Value::Bool(match (name, &args[0]) {
                    ("is_integer", Value::Int(_)) => true,
                    ("is_integer", Value::Str(s)) => int(s),
                    ("is_numeric", Value::Int(_) | Value::Float(_)) => true,
                    ("is_numeric", Value::Str(s)) => is_numeric_text(s, int),
                    ("is_float", Value::Float(_)) => true,
                    // Ruby: `value == value.to_f.to_s`.
                    ("is_float", Value::Str(s)) => {
                        crate::model::value::format_float(ruby_to_f(s)) == **s
                    }
                    _ => false,
                }))
            }
            "is_ip_address" | "is_ipv4_address" | "is_ipv6_address" => match args {
                [v] => Ok(Value::Bool(match (name, ruby_ipaddr(v)) {
                    (_, None) => false,
                    ("is_ipv4_address", Some(ip)) => ip.is_ipv4(),
                    ("is_ipv6_address", Some(ip)) => ip.is_ipv6(),
                    _ => true,
                })),
                _ => Err(err(format!(
                    "{name}(): Wrong number of arguments given {} for 1",
                    args.len()
                ))),
            },
            "is_domain_name" => match args {
                [Value::Str(s)] => Ok(Value::Bool(is_domain_name(s))),
                [_] => Ok(Value::Bool(false)),
                _ => Err(err(format!(
                    "is_domain_name(): Wrong number of arguments given {} for 1",
                    args.len()
                ))),
            },
            "enclose_ipv6" => {
                if args.len() != 1 {
                    return Some(Err(err(format!(
                        "enclose_ipv6(): Wrong number of arguments given {} for 1",
                        args.len()
                    ))));
                }
                let input = match &args[0] {
                    Value::Str(_) => vec![args[0].clone()],
                    Value::Array(a) => flatten(a).into_iter().filter(|v| !v.is_undef()).collect(),
                    other => {
                        return Some(Err(err(format!(
                            "enclose_ipv6(): Wrong argument type given {} expected String or Array",
                            ruby_class(other)
                        ))))
                    }
                };
                let mut out: Vec<Value> = Vec::new();
                for v in input {
                    let text = v.to_display();
                    let val = if text == "*" {
                        text
                    } else {
                        match ruby_ipaddr(&v) {
                            Some(ip @ std::net::IpAddr::V6(_)) => format!("[{ip}]"),
                            Some(_) => text,
                            None => {
                                return Some(Err(err(format!(
                                    "enclose_ipv6(): Wrong argument given {text} is not an ip address."
                                ))))
                            }
                        }
                    };
                    let val = Value::str(val);
                    if !out.contains(&val) {
                        out.push(val);
                    }
                }
                Ok(Value::array(out))
            }
            "uriescape" => match args.first() {
                None => Err(err("uriescape(): Wrong number of arguments given (0 for 1)")),
                Some(Value::Str(s)) => Ok(Value::str(uri_escape(s))),
                Some(Value::Array(a)) => Ok(Value::array(
                    a.iter()
                        .map(|v| match v {
                            Value::Str(s) => Value::str(uri_escape(s)),
                            other => other.clone(),
                        })
                        .collect(),
                )),
                Some(_) => Err(err("uriescape(): Requires either array or string to work with")),
            },
            "shell_escape" => match args {
                [v] => Ok(Value::str(shell_escape(&crate::ruby::object::ruby_to_s(v)))),
                _ => Err(err(format!(
                    "'shell_escape' expects 1 argument, got {}",
                    args.len()
                ))),
            },
            "shell_join" => match args {
                [Value::Array(a)] => Ok(Value::str(
                    a.iter()
                        .map(|v| shell_escape(&crate::ruby::object::ruby_to_s(v)))
                        .collect::<Vec<_>>()
                        .join(" "),
                )),
                [other] => Err(err(format!(
                    "First argument is not an Array: {}",
                    inspect(other)
                ))),
                _ => Err(err(format!(
                    "shell_join(): Wrong number of arguments given ({} for 1)",
                    args.len()
                ))),
            },
            "validate_numeric" => validate_numeric(args).map(|()| Value::Undef),
            "getparam" => match args {
                [r, Value::Str(param), ..] => {
                    if param.is_empty() {
                        return Some(Ok(Value::str("")));
                    }
                    let found = match r {
                        Value::Type(t) => match t.resolved() {
                            crate::model::types::Type::Resource(Some(tn), Some(title)) => {
                                self.find_resource(tn, title)
                            }
                            crate::model::types::Type::Class(Some(c)) => self.find_resource("Class", c),
                            _ => None,
                        },
                        Value::Str(s) => crate::lang::build::resources::parse_ref(s)
                            .and_then(|(tn, title)| self.find_resource(&tn, &title)),
                        _ => None,
                    };
                    Ok(found
                        .and_then(|i| self.res[i].params.get(&**param).cloned())
                        .filter(|v| !v.is_undef())
                        .unwrap_or_else(|| Value::str("")))
                }
                [Value::Undef, ..] | [] => Err(err("Must specify a reference")),
                _ => Err(err("Must specify name of a parameter")),
            },
            "get_module_path" => match args {
                [m] => {
                    let m = m.to_display();
                    match self.env.module_dir(&m) {
                        Some(d) => Ok(Value::str(d.to_string_lossy().to_string())),
                        None => Err(err(format!(
                            "Could not find module {m} in environment {}",
                            self.env.name()
                        ))),
                    }
                }
                _ => Err(err("get_module_path(): Wrong number of arguments, expects one")),
            },
            "dig44" => stdlib_dig44(args),
            "fqdn_rand_string" => {
                let len = match args.first() {
                    None => {
                        return Some(Err(err(
                            "fqdn_rand_string(): wrong number of arguments (0 for 1)",
                        )))
                    }
                    Some(Value::Int(n)) if *n > 0 => *n,
                    Some(Value::Str(s))
                        if s.bytes().all(|b| b.is_ascii_digit())
                            && !s.starts_with('0')
                            && !s.is_empty() =>
                    {
                        ruby_to_i(s)
                    }
                    Some(_) => {
                        return Some(Err(err(
                            "fqdn_rand_string(): first argument must be a positive integer",
                        )))
                    }
                };
                let charset: Vec<char> = match args.get(1) {
                    None | Some(Value::Undef) => vec![],
                    Some(Value::Str(s)) => s.chars().collect(),
                    Some(_) => {
                        return Some(Err(err(
                            "fqdn_rand_string(): second argument must be undef or a string",
                        )))
                    }
                };
                let charset = if charset.is_empty() {
                    ('0'..='9').chain('A'..='Z').chain('a'..='z').collect()
                } else {
                    charset
                };
                let seeds: Vec<String> = args.iter().skip(2).map(crate::ruby::object::ruby_to_s).collect();
                let fqdn = self.fact_fqdn();
                if let Err(e) = crate::model::limits::reserve(len as u64 * 4) {
                    return Some(Err(e));
                }
                let mut out = String::new();
                for current in 1..=len {
                    if let Err(e) = crate::model::limits::checkpoint() {
                        return Some(Err(e));
                    }
                    let mut parts = seeds.clone();
                    parts.push(current.to_string());
                    let i = crate::functions::digest::fqdn_rand(&fqdn, charset.len() as i64, Some(&parts.join(":")));
                    out.push(charset[i as usize]);
                }
                Ok(Value::str(out))
            }
            "is_a" => match args {
                [v, Value::Type(t)] => Ok(Value::Bool(t.is_instance(v))),
                [_, other] => Err(err(format!(
                    "'is_a' parameter 'type' expects a Type value, got {}",
                    crate::model::types::infer_for_message(other)
                ))),
                _ => Err(err(format!("'is_a' expects 2 arguments, got {}", args.len()))),
            },
            "to_json" => match args {
                [v] => crate::ruby::dump::ruby_json(v, &crate::ruby::dump::JsonLayout::default())
                    .map(Value::str)
                    .map_err(err),
                _ => Err(err(format!("'to_json' expects 1 argument, got {}", args.len()))),
            },
            "to_json_pretty" => stdlib_to_json_pretty(args),
            "template_body" => crate::functions::templates::template_body_function(self, args),
            "validate_network_vlan_ranges" | "validate_tunnel_id_ranges" | "validate_vni_ranges" => {
                neutron_validate_ranges(name, args.first().unwrap_or(&Value::Undef))
            }
            "validate_vxlan_udp_port" => {
                let v = args.first().unwrap_or(crate::model::value::UNDEF);
                let port = match v {
                    Value::Int(n) => Some(*n),
                    Value::Str(s) => s.trim().parse::<i64>().ok(),
                    _ => None,
                };
                match port {
                    None => Err(err(format!(
                        "invalid value for Integer(): {}",
                        inspect(v)
                    ))),
                    Some(p) if p != 4789 && (p <= 49151 || p > 65535) => {
                        Err(err("vxlan udp port is invalid."))
                    }
                    Some(_) => Ok(Value::Undef),
                }
            }
            // neutron's: `["k:v", ...]` as a JSON object, anything else as JSON.
            "convert_to_json_string" => {
                let v = args.first().cloned().unwrap_or(Value::Undef);
                let v = match &v {
                    Value::Array(a)
                        if a.iter().all(|x| matches!(x, Value::Str(s) if s.contains(':'))) =>
                    {
                        let mut m = Map::new();
                        for x in a.iter() {
                            let t = x.to_display();
                            let mut parts = t.split(':');
                            let k = parts.next().unwrap_or("").to_string();
                            let val = parts.next().map(Value::str).unwrap_or(Value::Undef);
                            m.insert(Value::str(k), val);
                        }
                        Value::hash(m)
                    }
                    _ => v,
                };
                crate::ruby::dump::ruby_json(&v, &crate::ruby::dump::JsonLayout::default())
                    .map(Value::str)
                    .map_err(err)
            }
            "parseyaml" | "parsejson" | "loadyaml" | "loadjson" => self.stdlib_load(name, args),
            // mcollective's: each element's Ruby `to_s`.
            "mco_array_to_string" => match args.first() {
                Some(Value::Array(a)) => Ok(Value::array(
                    a.iter().map(|v| Value::str(crate::ruby::object::ruby_to_s(v))).collect(),
                )),
                other => Err(err(format!(
                    "Expected an array, but got a {}",
                    ruby_class(other.unwrap_or(&Value::Undef))
                ))),
            },
            "to_yaml" => match args {
                [v] => crate::ruby::dump::psych_yaml(v).map(Value::str).map_err(err),
                [v, Value::Hash(o)] if o.is_empty() => {
                    crate::ruby::dump::psych_yaml(v).map(Value::str).map_err(err)
                }
                [_, Value::Hash(_)] => Err(err(
                    "to_yaml: Psych options (line_width, indentation, ...) are not supported",
                )),
                [_, other] => Err(err(format!(
                    "'to_yaml' parameter 'options' expects a Hash value, got {}",
                    crate::model::types::infer_for_message(other)
                ))),
                _ => Err(err(format!(
                    "'to_yaml' expects between 1 and 2 arguments, got {}",
                    args.len()
                ))),
            },
            "os_transport_url" => os_transport_url(args),
            "os_database_connection" => os_database_connection(args),
            "inet6_prefix" => {
                let (list, single) = match args.first() {
                    Some(Value::Array(a)) => ((**a).clone(), a.len() == 1),
                    Some(v) => (vec![v.clone()], args.len() == 1),
                    None => (vec![], false),
                };
                let out: Vec<Value> = list
                    .into_iter()
                    .map(|v| match &v {
                        Value::Str(s) if !s.starts_with("inet6:") => {
                            let parts: Vec<&str> = s
                                .split(|c: char| c.is_whitespace() || c == '[' || c == ']')
                                .filter(|p| !p.is_empty())
                                .collect();
                            match parts.first().and_then(|p| ruby_ipaddr(&Value::str(*p))) {
                                Some(std::net::IpAddr::V6(_)) => Value::str(format!(
                                    "inet6:[{}]{}",
                                    parts[0],
                                    parts[1..].concat()
                                )),
                                _ => v,
                            }
                        }
                        _ => v,
                    })
                    .collect();
                Ok(if single {
                    out.into_iter().next().unwrap_or(Value::Undef)
                } else {
                    Value::array(out)
                })
            }
            _ => return None,
        };
        Some(r)
    }

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
fn ruby_ipaddr(v: &Value) -> Option<std::net::IpAddr> {
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

fn bracket_ipv6(h: &str) -> String {
    if h.parse::<std::net::Ipv6Addr>().is_ok() && !h.starts_with('[') {
        format!("[{h}]")
    } else {
        h.to_string()
    }
}

fn os_transport_url(args: &[Value]) -> EResult<Value> {
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

fn os_database_connection(args: &[Value]) -> EResult<Value> {
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
fn neutron_validate_ranges(name: &str, v: &Value) -> EResult<Value> {
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
