//! puppetlabs-stdlib's functions: convert.

use crate::functions::host::Host;
use crate::functions::stdlib::blank;
use crate::functions::stdlib::err;
use troupe_ruby::object::inspect;
use troupe_ruby::object::ruby_to_i;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::EResult;
use troupe_values::value::Value;

/// `any2array`.
pub(crate) fn any2array(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    Ok(match args {
        [] => Value::array(vec![]),
        [Value::Array(a)] => Value::Array(a.clone()),
        [v] if blank(v) => Value::array(vec![]),
        [Value::Hash(h)] => {
            Value::array(h.iter().flat_map(|(k, v)| [k.clone(), v.clone()]).collect())
        }
        _ => Value::array(args.to_vec()),
    })
}

/// `str2bool`.
pub(crate) fn str2bool(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    match args.first() {
        None => Err(err("str2bool(): Wrong number of arguments given (0 for 1)")),
        Some(Value::Bool(b)) => Ok(Value::Bool(*b)),
        Some(Value::Str(s)) => str2bool_text(s)
            .map(Value::Bool)
            .ok_or_else(|| err("str2bool(): Unknown type of boolean given")),
        Some(Value::Undef) => Ok(Value::Bool(false)),
        Some(_) => Err(err("str2bool(): Requires string to work with")),
    }
}

/// `bool2num`.
pub(crate) fn bool2num(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    match args.first() {
        Some(Value::Bool(b)) => Ok(Value::Int(i64::from(*b))),
        Some(Value::Str(s)) => match s.to_lowercase().as_str() {
            "" | "0" | "f" | "n" | "false" | "no" | "undef" | "undefined" => Ok(Value::Int(0)),
            "1" | "t" | "y" | "true" | "yes" => Ok(Value::Int(1)),
            _ => Err(err("str2bool(): Unknown type of boolean given")),
        },
        _ => Err(err("bool2num(): Wrong number of arguments given (0 for 1)")),
    }
}

/// `base64`.
pub(crate) fn base64(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    match args {
        [Value::Str(action), Value::Str(s), ..] => match &**action {
            "encode" => {
                let method = args.get(2).map(|m| m.to_display()).unwrap_or_default();
                let enc = troupe_values::value::base64_encode(s.as_bytes(), false);
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
            "decode" => match troupe_values::value::base64_decode(s, false) {
                Some(b) => Ok(Value::str(String::from_utf8_lossy(&b).to_string())),
                None => Err(err("base64(): the second argument must be valid base64")),
            },
            _ => Err(err(
                "base64(): the first argument must be one of 'encode' or 'decode'",
            )),
        },
        _ => Err(err("base64(): Wrong number of arguments")),
    }
}

/// `bool2str`.
pub(crate) fn bool2str(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    if args.len() != 1 && args.len() != 3 {
        return Err(err(format!(
            "bool2str(): Wrong number of arguments given ({} for 3)",
            args.len()
        )));
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

/// `num2bool`.
pub(crate) fn num2bool_fn(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    match args {
        [v] => num2bool(v),
        _ => Err(err(format!(
            "num2bool(): Wrong number of arguments given ({} for 1)",
            args.len()
        ))),
    }
}

/// `any2bool`.
pub(crate) fn any2bool(
    ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    match args.first() {
        None => Err(err("any2bool(): Wrong number of arguments given (0 for 1)")),
        Some(Value::Bool(b)) => Ok(Value::Bool(*b)),
        Some(Value::Undef) => Ok(Value::Bool(false)),
        Some(v @ (Value::Int(_) | Value::Float(_))) => num2bool(v),
        Some(Value::Str(s)) => {
            if ruby_float(s).is_some() {
                num2bool(&args[0])
            } else {
                str2bool(ev, "str2bool", args.to_vec(), None, e)
            }
        }
        Some(_) => Ok(Value::Bool(true)),
    }
}

/// `to_json`.
pub(crate) fn to_json(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    match args {
        [v] => troupe_ruby::json::ruby_json(v, &troupe_ruby::json::JsonLayout::default())
            .map(Value::str)
            .map_err(err),
        _ => Err(err(format!(
            "'to_json' expects 1 argument, got {}",
            args.len()
        ))),
    }
}

/// `to_json_pretty`.
pub(crate) fn to_json_pretty(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    stdlib_to_json_pretty(args)
}

/// `parseyaml`, `parsejson`, `loadyaml`, `loadjson`.
pub(crate) fn parseyaml(
    ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    load_data(ev, name, args)
}

/// `to_yaml`.
pub(crate) fn to_yaml(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    match args {
        [v] => troupe_ruby::yaml::psych_yaml(v)
            .map(Value::str)
            .map_err(err),
        [v, Value::Hash(o)] if o.is_empty() => troupe_ruby::yaml::psych_yaml(v)
            .map(Value::str)
            .map_err(err),
        [_, Value::Hash(_)] => Err(err(
            "to_yaml: Psych options (line_width, indentation, ...) are not supported",
        )),
        [_, other] => Err(err(format!(
            "'to_yaml' parameter 'options' expects a Hash value, got {}",
            troupe_values::types::infer_for_message(other)
        ))),
        _ => Err(err(format!(
            "'to_yaml' expects between 1 and 2 arguments, got {}",
            args.len()
        ))),
    }
}

/// stdlib's `parseyaml`/`parsejson` (text) and `loadyaml`/`loadjson` (a file): the data,
/// or the default (second argument) when the data is empty, false or unreadable.
fn load_data(ev: &mut dyn Host, name: &str, args: &[Value]) -> EResult<Value> {
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
    let text = troupe_ruby::object::ruby_to_s(first);
    let parsed: Result<serde_json::Value, String> = if name.starts_with("parse") {
        ev.env().parse_data(&text, format)
    } else if text.starts_with("http://") || text.starts_with("https://") {
        Err(format!(
            "{name}(): troupe does not fetch URLs while compiling ({text})"
        ))
    } else {
        match ev.env().data(std::path::Path::new(&text), format) {
            Some(r) => r.map(|v| (*v).clone()),
            None => {
                ev.warn(format!("Can't load '{text}' File does not exist!"));
                return Ok(default.unwrap_or(Value::Undef));
            }
        }
    };
    match parsed {
        Ok(serde_json::Value::Null | serde_json::Value::Bool(false)) => {
            Ok(default.unwrap_or(Value::Undef))
        }
        Ok(v) => Ok(troupe_values::value::from_json(&v)),
        Err(_) if default.is_some() => Ok(default.unwrap_or(Value::Undef)),
        Err(e) => Err(err(format!("{name}(): {e}"))),
    }
}
/// Ruby's `Float(s)` for a String: the whole text must be a number.
pub(crate) fn ruby_float(s: &str) -> Option<f64> {
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
        other => ruby_to_i(&troupe_ruby::object::ruby_to_s(other)),
    };
    Ok(Value::Bool(n > 0))
}
fn stdlib_to_json_pretty(args: &[Value]) -> EResult<Value> {
    let data = match args.first() {
        Some(v @ (Value::Hash(_) | Value::Array(_))) => v,
        Some(other) => {
            return Err(err(format!(
                "'to_json_pretty' parameter 'data' expects a value of type Hash or Array, got {}",
                troupe_values::types::infer_for_message(other)
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
    let mut layout = troupe_ruby::json::JsonLayout::pretty();
    if let Some(Value::Hash(opts)) = args.get(2) {
        for (k, v) in opts.iter() {
            let s = troupe_ruby::object::ruby_to_s(v);
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
    let mut text = troupe_ruby::json::ruby_json(&data, &layout).map_err(err)?;
    text.push('\n');
    Ok(Value::str(text))
}
/// stdlib's `str2bool` table (openstacklib keeps a copy): `None` for an unknown word.
pub(crate) fn str2bool_text(s: &str) -> Option<bool> {
    match s.to_lowercase().as_str() {
        "" | "0" | "f" | "n" | "false" | "no" => Some(false),
        "1" | "t" | "y" | "true" | "yes" => Some(true),
        _ if s == "undef" || s == "undefined" => Some(false),
        _ => None,
    }
}
