//! puppetlabs-stdlib's functions: validate.

use crate::functions::host::Host;
use crate::functions::stdlib::blank;
use crate::functions::stdlib::convert::ruby_float;
use crate::functions::stdlib::err;
use troupe_ruby::object::inspect;
use troupe_ruby::object::ruby_class;
use troupe_ruby::object::ruby_to_f;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::EResult;
use troupe_values::value::Value;

/// `is_string`.
pub(crate) fn is_string(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    Ok(Value::Bool(match args.first() {
        Some(Value::Str(s)) => s.parse::<f64>().is_err(),
        _ => false,
    }))
}

/// `is_array`.
pub(crate) fn is_array(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    Ok(Value::Bool(matches!(args.first(), Some(Value::Array(_)))))
}

/// `is_hash`.
pub(crate) fn is_hash(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    Ok(Value::Bool(matches!(args.first(), Some(Value::Hash(_)))))
}

/// `is_bool`.
pub(crate) fn is_bool(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    Ok(Value::Bool(matches!(args.first(), Some(Value::Bool(_)))))
}

/// `deprecation`.
pub(crate) fn deprecation(
    _ev: &mut dyn Host,
    _name: &str,
    _args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    Ok(Value::Undef)
}

/// `assert_private`.
pub(crate) fn assert_private(
    ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    check_private(ev, args)
}

/// `validate_legacy`.
pub(crate) fn validate_legacy(
    ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    check_legacy(ev, args, e)
}

/// `validate_string`, `validate_bool`, `validate_hash`, `validate_array`, `validate_absolute_path`, `validate_re`, `validate_integer`.
pub(crate) fn validate_string(
    _ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    validate(name, args).map(|()| Value::Undef)
}

/// `is_integer`, `is_numeric`, `is_float`.
pub(crate) fn is_integer(
    _ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    if args.len() != 1 {
        return Err(err(format!(
            "{name}(): Wrong number of arguments given {} for 1",
            args.len()
        )));
    }
    let int = |s: &str| {
        let d = s.strip_prefix('-').unwrap_or(s);
        !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()) && (d == "0" || !d.starts_with('0'))
    };
    Ok(Value::Bool(match (name, &args[0]) {
        ("is_integer", Value::Int(_)) => true,
        ("is_integer", Value::Str(s)) => int(s),
        ("is_numeric", Value::Int(_) | Value::Float(_)) => true,
        ("is_numeric", Value::Str(s)) => is_numeric_text(s, int),
        ("is_float", Value::Float(_)) => true,
        // Ruby: `value == value.to_f.to_s`.
        ("is_float", Value::Str(s)) => troupe_values::value::format_float(ruby_to_f(s)) == **s,
        _ => false,
    }))
}

/// `validate_numeric`.
pub(crate) fn validate_numeric_fn(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    validate_numeric(args).map(|()| Value::Undef)
}

/// `is_a`.
pub(crate) fn is_a(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    match args {
        [v, Value::Type(t)] => Ok(Value::Bool(t.is_instance(v))),
        [_, other] => Err(err(format!(
            "'is_a' parameter 'type' expects a Type value, got {}",
            troupe_values::types::infer_for_message(other)
        ))),
        _ => Err(err(format!(
            "'is_a' expects 2 arguments, got {}",
            args.len()
        ))),
    }
}

fn check_private(ev: &mut dyn Host, args: &[Value]) -> EResult<Value> {
    if args.len() > 1 {
        return Err(err(format!(
            "assert_private(): Wrong number of arguments given ({}}}) for 0 or 1)",
            args.len()
        )));
    }
    let module = ev.lookup_var("module_name")?.to_display();
    let caller = ev.lookup_var("caller_module_name")?.to_display();
    if module != caller {
        let msg = match args.first() {
            Some(Value::Str(s)) => s.to_string(),
            _ => {
                let (kind, name) = match ev.enclosing_resource() {
                    Some(r) if ev.resource(r).type_name == "Class" => {
                        ("Class", ev.resource(r).title.to_lowercase())
                    }
                    Some(r) => ("Definition", ev.resource(r).type_name.to_lowercase()),
                    None => ("Class", String::new()),
                };
                format!("{kind} {name} is private")
            }
        };
        return Err(err(msg));
    }
    Ok(Value::Undef)
}

fn check_legacy(ev: &mut dyn Host, args: &[Value], _e: &Expr) -> EResult<Value> {
    if args.len() < 3 {
        return Err(err(format!(
            "'validate_legacy' expects at least 3 arguments, got {}",
            args.len()
        )));
    }
    let t = match &args[0] {
        Value::Type(t) => t.clone(),
        Value::Str(s) => std::rc::Rc::new(ev.resolve_type_name(s)?),
        other => {
            return Err(err(format!(
                "'validate_legacy' parameter 'target_type' expects a Type value, got {}",
                troupe_values::types::infer_for_message(other)
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
    let msg = troupe_values::describe::mismatch(&format!("validate_legacy({function})"), &t, value);
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
                troupe_values::value::Regexp::new(&src).is_ok_and(|re| re.is_match(&s))
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
fn validate_numeric(args: &[Value]) -> EResult<()> {
    if args.is_empty() || args.len() > 3 {
        return Err(err(format!(
            "validate_numeric(): Wrong number of arguments; must be 1, 2 or 3, got {}",
            args.len()
        )));
    }
    let text = troupe_ruby::object::ruby_to_s;
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
    let show = |f: f64| troupe_values::value::format_float(f);
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
