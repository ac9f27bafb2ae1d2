//! `new`: creating a value of a type (`Integer.new`, `Timestamp.new`, `SemVer.new`, `Binary.new`, ...).

use crate::functions::host::Host;
use std::rc::Rc;
use troupe_values::error::EResult;
use troupe_values::error::EvalError;
use troupe_values::types::Type;
use troupe_values::value::Map;
use troupe_values::value::Value;
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
        .map(troupe_values::types::infer_for_message)
        .collect();
    EvalError::new(format!(
        "'new_{t}' had no matching signature for arguments ({})",
        got.join(", ")
    ))
}
fn new_timestamp(args: &[Value]) -> EResult<Value> {
    use troupe_values::time::*;
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
    use troupe_values::time::*;
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
    use troupe_values::semver::SemVer;
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
    use troupe_values::semver::SemVerRange;
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
fn new_binary(args: &[Value]) -> EResult<Value> {
    let from_str = |s: &str, f: Option<&str>| -> EResult<Vec<u8>> {
        let bad = || EvalError::new("invalid base64");
        match f.unwrap_or("%B") {
            // Ruby's decode64 skips what is not in the standard alphabet (URL-safe `-` and
            // `_` too); strict_decode64 refuses it; urlsafe_decode64 takes both.
            "%b" => {
                let std: String = s.chars().filter(|c| !matches!(c, '-' | '_')).collect();
                troupe_values::value::base64_decode(&std, false).ok_or_else(bad)
            }
            "%B" if s.contains(['-', '_']) => Err(bad()),
            "%u" | "%B" => troupe_values::value::base64_decode(s, true).ok_or_else(bad),
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

/// `Type(args)` / `Type.new(args)`: the new value, or the error as Puppet reports it.
pub fn call_type_new(ev: &mut dyn Host, t: &Type, args: Vec<Value>) -> EResult<Value> {
    use crate::functions::core::new_convert as nc;
    if let Type::Obj(o) = t.resolved() {
        if let [v @ Value::Object(_)] = args.as_slice() {
            if t.is_instance(v) {
                return Ok(v.clone());
            }
        }
        return crate::functions::core::new_object::new_object(o, &args);
    }
    if let Type::InitOf(target, init_args) = t.resolved() {
        return init_new(ev, t, target, init_args, args);
    }
    // A single argument that already is an instance is the result.
    if args.len() == 1 && !matches!(t.resolved(), Type::Init) && t.is_instance(&args[0]) {
        return Ok(args[0].clone());
    }
    let v = args.first().cloned().unwrap_or(Value::Undef);
    // The type whose conversion applies: Optional and NotUndef delegate to their content.
    let conv = match t.resolved() {
        Type::Optional(Some(i)) | Type::NotUndef(Some(i)) => i.resolved().clone(),
        other => other.clone(),
    };
    // Puppet names the function in its own conversion errors; the time, version and binary
    // types raise theirs unprefixed.
    let prefixed = |r: EResult<Value>| {
        r.map_err(|e| EvalError {
            msg: format!("'new' {}", e.msg),
            ..e
        })
    };
    let r = match &conv {
        Type::Integer(..) => nc::new_integer(&args),
        Type::Float(..) => nc::new_float_or_numeric(&args, true),
        Type::Numeric => nc::new_float_or_numeric(&args, false),
        Type::Boolean => nc::new_boolean(&args),
        Type::Array(..) | Type::Tuple(..) => nc::new_array(&args),
        Type::Hash(..) | Type::Struct(_) => nc::new_hash(&args),
        Type::NotUndef(None) => Ok(v.clone()),
        Type::Timestamp(..) => new_timestamp(&args),
        Type::Timespan(..) => new_timespan(&args),
        Type::SemVer => new_semver(&args),
        Type::SemVerRange => new_semver_range(&args),
        Type::Binary => new_binary(&args),
        Type::String(..) => crate::functions::core::strconv::string_new(&args),
        // Text parsed by Puppet's TypeParser, whose errors are not prefixed.
        Type::Type(_) if matches!(&v, Value::Str(_)) => match &v {
            Value::Str(s) if s.is_empty() => Err(EvalError::new(
                "'new_type' parameter 'type_string' expects a String[1] value, got String",
            )),
            Value::Str(s) => ev.parse_type(s).map(Value::ty),
            _ => Ok(v.clone()),
        },
        _ => prefixed(other_new(ev, &conv, &v, &args)),
    }?;
    if !t.is_instance(&r) && !matches!(t.resolved(), Type::Sensitive(_) | Type::Deferred) {
        return Err(EvalError::new(troupe_values::describe::mismatch(
            &format!("Converted value from {t}.new() has wrong type,"),
            t,
            &r,
        )));
    }
    Ok(r)
}

/// The other types' conversions; errors are prefixed with the function's name by the caller.
fn other_new(ev: &mut dyn Host, t: &Type, v: &Value, args: &[Value]) -> EResult<Value> {
    let v = v.clone();
    match t {
        Type::Sensitive(_) => Ok(Value::Sensitive(Rc::new(v))),
        Type::Deferred => {
            // Positional (name, arguments) or Puppet's init hash {name => .., arguments => ..}.
            let (n, given) = match &v {
                Value::Str(s) => (s.to_string(), args.get(1).cloned()),
                Value::Hash(h) => match h.get(&Value::str("name")) {
                    Some(Value::Str(s)) => {
                        (s.to_string(), h.get(&Value::str("arguments")).cloned())
                    }
                    _ => return Err(EvalError::new("Deferred expects a function name")),
                },
                _ => return Err(EvalError::new("Deferred expects a function name")),
            };
            let fargs = match &given {
                Some(Value::Array(a)) => (**a).clone(),
                _ => vec![],
            };
            Ok(Value::Deferred(Rc::new((n, fargs))))
        }
        Type::Regexp(_) => match &v {
            // `Regexp(text, true)` matches the text literally (Ruby's Regexp.escape).
            Value::Str(s) if matches!(args.get(1), Some(Value::Bool(true))) => {
                Ok(Value::Regex(Rc::new(
                    troupe_values::value::Regexp::new(&ruby_escape(s)).map_err(EvalError::new)?,
                )))
            }
            Value::Str(s) => Ok(Value::Regex(Rc::new(
                troupe_values::value::Regexp::new(s).map_err(EvalError::new)?,
            ))),
            _ => Ok(v.clone()),
        },
        Type::Type(_) => match &v {
            Value::Str(s) => Ok(Value::ty(ev.parse_type(s)?)),
            _ => Ok(v.clone()),
        },
        Type::Optional(_) | Type::Variant(_) | Type::Any => Ok(v.clone()),
        _ => Err(EvalError::new(format!(
            "Creation of new instance of type '{t}' is not supported"
        ))),
    }
}

/// Ruby's `Regexp.escape`: the text as a pattern that matches it literally.
fn ruby_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for c in s.chars() {
        match c {
            '.' | '*' | '?' | '+' | '^' | '$' | '|' | '(' | ')' | '[' | ']' | '{' | '}' | '\\'
            | '-' | '#' => {
                out.push('\\');
                out.push(c);
            }
            ' ' => out.push_str("\\ "),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c => out.push(c),
        }
    }
    out
}

/// `Init[T, init_args...](value)`: `T.new(value, init_args...)`; without init arguments an
/// array that is no instance of `T` is spread into `T.new`'s arguments.
fn init_new(
    ev: &mut dyn Host,
    t: &Type,
    target: &Type,
    init_args: &[Value],
    args: Vec<Value>,
) -> EResult<Value> {
    if troupe_values::init::not_creatable(target) {
        return Err(EvalError::new(format!(
            "Creation of new instance of type '{target}' is not supported"
        )));
    }
    if matches!(target.resolved(), Type::String(..))
        && init_args
            .iter()
            .any(|a| !matches!(a, Value::Default | Value::Str(_) | Value::Hash(_)))
    {
        return Err(EvalError::new(format!(
            "The type '{t}' does not represent a valid set of parameters for String.new()"
        )));
    }
    let [v] = args.as_slice() else {
        return Err(EvalError::new(format!(
            "'new_Init' expects 1 argument, got {}",
            args.len()
        )));
    };
    let new_args = match v {
        Value::Array(xs) if init_args.is_empty() && !target.is_instance(v) => (**xs).clone(),
        _ => std::iter::once(v.clone())
            .chain(init_args.iter().cloned())
            .collect(),
    };
    call_type_new(ev, target, new_args)
}
