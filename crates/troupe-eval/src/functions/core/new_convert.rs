//! `new` for the numeric, boolean and collection types (`Integer.new('0x1f', 16)`,
//! `Hash.new($pairs, tree)`, ...), with Puppet's dispatch and error texts: a value its
//! signature refuses is reported with the conversion function's name (`'new'`, `'new_float'`,
//! ...), a string Ruby's own parser refuses with Ruby's message, unprefixed.

use troupe_values::error::EResult;
use troupe_values::error::EvalError;
use troupe_values::infer::generalize;
use troupe_values::value::Map;
use troupe_values::value::Value;

fn err(msg: impl Into<String>) -> EvalError {
    EvalError::new(msg)
}

/// "Value of type T cannot be converted to X" / "The string 's' cannot be converted to X".
fn cannot(func: Option<&str>, v: &Value, to: &str) -> EvalError {
    let what = match v {
        Value::Str(s) => format!("The string '{s}'"),
        other => format!("Value of type {}", generalize(other)),
    };
    let pfx = func.map(|f| format!("'{f}' ")).unwrap_or_default();
    err(format!("{pfx}{what} cannot be converted to {to}"))
}

/// `[+-]?\s*` then `body`, the sign and the rest.
fn split_sign(s: &str) -> (bool, &str, &str) {
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    (neg, rest.trim_start(), rest)
}

fn all(s: &str, f: impl Fn(char) -> bool) -> bool {
    !s.is_empty() && s.chars().all(f)
}
fn strip_prefix2<'a>(s: &'a str, a: &str, b: &str) -> Option<&'a str> {
    s.strip_prefix(a).or_else(|| s.strip_prefix(b))
}

/// Puppet's lenient integer pattern: a sign, blanks, then decimal digits (octal when they
/// start with 0), `0x` hex or `0b` binary.
fn integer_pattern(s: &str) -> bool {
    let (_, body, _) = split_sign(s);
    if let Some(h) = strip_prefix2(body, "0x", "0X") {
        return all(h, |c| c.is_ascii_hexdigit());
    }
    if let Some(b) = strip_prefix2(body, "0b", "0B") {
        return all(b, |c| c == '0' || c == '1');
    }
    all(body, |c| c.is_ascii_digit())
}

/// Puppet's float pattern: a sign, blanks, then a decimal (fraction, exponent), hex, octal
/// or binary number.
fn float_pattern(s: &str) -> bool {
    let (_, body, _) = split_sign(s);
    if integer_pattern(body) && !body.starts_with(['+', '-']) {
        let digits_only = all(body, |c| c.is_ascii_digit());
        // Decimal digits must not start with 0 unless they are octal.
        return !digits_only
            || body == "0"
            || !body.starts_with('0')
            || all(&body[1..], |c| ('0'..='7').contains(&c));
    }
    let (mant, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    if let Some(x) = exp {
        if !all(x.strip_prefix('-').unwrap_or(x), |c| c.is_ascii_digit()) {
            return false;
        }
    }
    let (int, frac) = match mant.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mant, None),
    };
    let int_ok = int == "0" || (all(int, |c| c.is_ascii_digit()) && !int.starts_with('0'));
    int_ok && frac.is_none_or(|f| all(f, |c| c.is_ascii_digit()))
}

/// Ruby's `Integer(s)` / `Integer(s, radix)` on a string that passed the pattern: no blank
/// after the sign, an optional prefix matching the radix.
fn ruby_integer(s: &str, radix: Option<u32>) -> Option<i64> {
    let (neg, _, body) = split_sign(s);
    let lower = body.to_ascii_lowercase();
    let (digits, r) = match radix {
        None => {
            if let Some(h) = lower.strip_prefix("0x") {
                (h.to_string(), 16)
            } else if let Some(b) = lower.strip_prefix("0b") {
                (b.to_string(), 2)
            } else if let Some(o) = lower.strip_prefix("0o") {
                (o.to_string(), 8)
            } else if let Some(d) = lower.strip_prefix("0d") {
                (d.to_string(), 10)
            } else if lower.len() > 1 && lower.starts_with('0') {
                (lower[1..].to_string(), 8)
            } else {
                (lower.clone(), 10)
            }
        }
        Some(r) => {
            let pfx = match r {
                16 => "0x",
                2 => "0b",
                8 => "0o",
                _ => "0d",
            };
            (lower.strip_prefix(pfx).unwrap_or(&lower).to_string(), r)
        }
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(r)) {
        return None;
    }
    let v = i64::from_str_radix(&digits, r).ok()?;
    Some(if neg { -v } else { v })
}

/// Tries `s`, then (Ruby's retry) `s` without the blanks between sign and number; the error
/// is the one for `s`.
fn with_sign_retry<T>(s: &str, f: impl Fn(&str) -> Option<T>, msg: String) -> EResult<T> {
    if let Some(v) = f(s) {
        return Ok(v);
    }
    let (_, body, rest) = split_sign(s);
    if rest.len() != body.len() && rest.starts_with([' ', '\t']) {
        if let Some(v) = f(&format!("{}{body}", &s[..1])) {
            return Ok(v);
        }
    }
    Err(err(msg))
}

fn check_radix(r: &Value) -> EResult<Option<u32>> {
    match r {
        Value::Default => Ok(None),
        Value::Int(n @ (2 | 8 | 10 | 16)) => Ok(Some(*n as u32)),
        other => Err(err(format!(
            "Illegal radix: {}, expected 2, 8, 10, 16, or default",
            other.to_display()
        ))),
    }
}

fn abs_int(v: i64, abs: bool) -> Value {
    Value::Int(if abs { v.wrapping_abs() } else { v })
}
fn abs_num(v: Value, abs: bool) -> Value {
    match v {
        Value::Int(i) => abs_int(i, abs),
        Value::Float(f) if abs => Value::Float(f.abs()),
        other => other,
    }
}

/// `Integer.new(from, radix = default, abs = false)` or `Integer.new({from, radix, abs})`.
pub(crate) fn new_integer(args: &[Value]) -> EResult<Value> {
    let (from, radix, abs) = match args {
        [Value::Hash(h)] => {
            let g = |k: &str| h.get(&Value::str(k)).cloned();
            (
                g("from").unwrap_or(Value::Undef),
                g("radix").unwrap_or(Value::Default),
                g("abs").unwrap_or(Value::Bool(false)),
            )
        }
        [f, rest @ ..] if rest.len() <= 2 => (
            f.clone(),
            rest.first().cloned().unwrap_or(Value::Default),
            rest.get(1).cloned().unwrap_or(Value::Bool(false)),
        ),
        _ => return Err(err("'new' expects between 1 and 3 arguments")),
    };
    let convertible = match &from {
        Value::Str(s) => integer_pattern(s),
        Value::Int(_) | Value::Float(_) | Value::Bool(_) | Value::Timestamp(_) => true,
        Value::Timespan(_) => true,
        _ => false,
    };
    let radix_ok = matches!(radix, Value::Default | Value::Int(2 | 8 | 10 | 16));
    if !convertible || !radix_ok || !matches!(abs, Value::Bool(_)) {
        // The long form names a bad value before a bad radix, the short form the other way.
        if !convertible && matches!(args, [Value::Hash(_)]) {
            return Err(cannot(Some("new"), &from, "Integer"));
        }
        check_radix(&radix)?;
        return Err(cannot(Some("new"), &from, "Integer"));
    }
    let abs = abs.truthy();
    let radix = check_radix(&radix)?;
    Ok(match &from {
        Value::Int(i) => abs_int(*i, abs),
        Value::Float(f) => abs_int(*f as i64, abs),
        Value::Bool(b) => Value::Int(*b as i64),
        Value::Timestamp(n) | Value::Timespan(n) => {
            abs_int(n.div_euclid(troupe_values::time::NS_PER_SEC as i64), abs)
        }
        Value::Str(s) => {
            let msg = format!("invalid value for Integer(): \"{s}\"");
            abs_int(with_sign_retry(s, |x| ruby_integer(x, radix), msg)?, abs)
        }
        _ => Value::Undef,
    })
}

/// `Float.new` (`float`) and `Numeric.new`: `(from, abs = false)` or `({from, abs})`.
pub(crate) fn new_float_or_numeric(args: &[Value], float: bool) -> EResult<Value> {
    let (func, to) = if float {
        ("new_float", "Float")
    } else {
        ("new_numeric", "Numeric")
    };
    let (from, abs) = match args {
        [Value::Hash(h)] if h.contains_key(&Value::str("from")) => {
            let g = |k: &str| h.get(&Value::str(k)).cloned();
            (
                g("from").unwrap_or(Value::Undef),
                g("abs").unwrap_or(Value::Bool(false)),
            )
        }
        [f] => (f.clone(), Value::Bool(false)),
        [f, a] => (f.clone(), a.clone()),
        _ => return Err(err(format!("'{func}' expects between 1 and 2 arguments"))),
    };
    let convertible = match &from {
        Value::Str(s) => float_pattern(s),
        Value::Int(_) | Value::Float(_) | Value::Bool(_) => true,
        Value::Timestamp(_) | Value::Timespan(_) => true,
        _ => false,
    };
    if !convertible || !matches!(abs, Value::Bool(_)) {
        return Err(cannot(Some(func), &from, to));
    }
    let abs = abs.truthy();
    let secs = |n: i64| Value::Float(n as f64 / troupe_values::time::NS_PER_SEC as f64);
    let v = match &from {
        Value::Int(i) if float => Value::Float(*i as f64),
        Value::Bool(b) if float => Value::Float(*b as i64 as f64),
        Value::Bool(b) => Value::Int(*b as i64),
        Value::Timestamp(n) | Value::Timespan(n) => secs(*n),
        Value::Str(s) if float => {
            let msg = format!("invalid value for Float(): \"{s}\"");
            with_sign_retry(s, ruby_float, msg)?
        }
        Value::Str(s) => numeric_from_str(s)?,
        other => other.clone(),
    };
    Ok(abs_num(v, abs))
}

/// Ruby's `Float(s)` on a string that passed the float pattern (binary goes through Integer).
fn ruby_float(s: &str) -> Option<Value> {
    let (neg, _, body) = split_sign(s);
    if s.starts_with('0') && s[1..].starts_with(['b', 'B']) {
        return ruby_integer(s, None).map(|i| Value::Float(i as f64));
    }
    let f = if let Some(h) = strip_prefix2(body, "0x", "0X") {
        i64::from_str_radix(h, 16).ok()? as f64
    } else if body.starts_with(|c: char| c.is_ascii_digit()) {
        body.parse::<f64>().ok()?
    } else {
        return None;
    };
    Some(Value::Float(if neg { -f } else { f }))
}

/// `Numeric.new(string)`: `0x`/`0b` by Ruby's Integer, else Puppet's number parser.
fn numeric_from_str(s: &str) -> EResult<Value> {
    let lower = s.to_ascii_lowercase();
    if lower.starts_with("0x") || lower.starts_with("0b") {
        return ruby_integer(s, None)
            .map(Value::Int)
            .ok_or_else(|| err(format!("invalid value for Integer(): \"{s}\"")));
    }
    let (neg, body, _) = split_sign(s);
    let n = troupe_values::number::parse_number(body)
        .ok_or_else(|| cannot(Some("new_numeric"), &Value::str(s), "Numeric"))?;
    Ok(match n {
        Value::Int(i) if neg => Value::Int(-i),
        Value::Float(f) if neg => Value::Float(-f),
        other => other,
    })
}

/// `Boolean.new(from)`.
pub(crate) fn new_boolean(args: &[Value]) -> EResult<Value> {
    let from = match args {
        [f] => f,
        _ => return Err(err("'new_boolean' expects 1 argument")),
    };
    match from {
        Value::Bool(_) => Ok(from.clone()),
        Value::Int(i) => Ok(Value::Bool(*i != 0)),
        Value::Float(f) => Ok(Value::Bool(*f != 0.0)),
        Value::Str(s) => match s.to_lowercase().as_str() {
            "true" | "yes" | "y" => Ok(Value::Bool(true)),
            "false" | "no" | "n" => Ok(Value::Bool(false)),
            _ => Err(cannot(Some("new_boolean"), from, "Boolean")),
        },
        other => Err(cannot(Some("new_boolean"), other, "Boolean")),
    }
}

/// The values an Iterable yields, or None when `v` is not one.
fn iterable_values(v: &Value) -> EResult<Option<Vec<Value>>> {
    let Ok((pairs, is_hash)) = crate::functions::args::iter_pairs("new", v) else {
        return Ok(None);
    };
    if matches!(v, Value::Int(i) if *i < 0) {
        return Ok(None);
    }
    troupe_values::limits::reserve_items(pairs.len() as u64, std::mem::size_of::<Value>())?;
    Ok(Some(
        pairs
            .map(|(k, x)| if is_hash { Value::array(vec![k, x]) } else { x })
            .collect(),
    ))
}

/// `Array.new(from, wrap = false)` (also for Tuple).
pub(crate) fn new_array(args: &[Value]) -> EResult<Value> {
    let (from, wrap) = match args {
        [f] => (f, false),
        [f, Value::Bool(w)] => (f, *w),
        _ => return Err(err("'new_array' expects between 1 and 2 arguments")),
    };
    if wrap {
        return Ok(match from {
            Value::Array(_) => from.clone(),
            other => Value::array(vec![other.clone()]),
        });
    }
    match from {
        Value::Array(_) => Ok(from.clone()),
        Value::Hash(h) => Ok(Value::array(
            h.iter()
                .map(|(k, x)| Value::array(vec![k.clone(), x.clone()]))
                .collect(),
        )),
        Value::Binary(b) => Ok(Value::array(
            b.iter().map(|x| Value::Int(*x as i64)).collect(),
        )),
        other => match iterable_values(other)? {
            Some(vs) => Ok(Value::array(vs)),
            None => Err(cannot(Some("new_array"), other, "Array")),
        },
    }
}

fn pairs_to_hash(items: &[Value]) -> EResult<Value> {
    if !items.len().is_multiple_of(2) {
        return Err(err("odd number of arguments for Hash"));
    }
    let mut m = Map::default();
    for c in items.chunks(2) {
        m.insert(c[0].clone(), c[1].clone());
    }
    Ok(Value::hash(m))
}

fn as_pair(v: &Value) -> Option<(&Value, &Value)> {
    match v {
        Value::Array(p) if p.len() == 2 => Some((&p[0], &p[1])),
        _ => None,
    }
}

/// Puppet's `array_as_hash`: arrays (nested too) become hashes keyed by index.
fn array_as_hash(v: &Value) -> Value {
    match v {
        Value::Array(a) => Value::hash(
            a.iter()
                .enumerate()
                .map(|(i, x)| (Value::Int(i as i64), array_as_hash(x)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Sets `path` in `node` (a Hash or an Array) to `value`, making hashes for missing levels.
fn set_path(node: Value, path: &[Value], value: Value) -> Value {
    let Some((first, rest)) = path.split_first() else {
        return value;
    };
    match &node {
        Value::Array(a) => {
            let mut a = (**a).clone();
            let i = match first {
                Value::Int(i) if *i >= 0 => *i as usize,
                _ => return Value::array(a),
            };
            if a.len() <= i {
                a.resize(i + 1, Value::Undef);
            }
            let child = std::mem::replace(&mut a[i], Value::Undef);
            let child = if rest.is_empty() {
                child
            } else {
                child_or_hash(child)
            };
            a[i] = set_path(child, rest, value);
            Value::array(a)
        }
        Value::Hash(h) => {
            let mut h = (**h).clone();
            let child = h.get(first).cloned().unwrap_or(Value::Undef);
            let child = if rest.is_empty() {
                child
            } else {
                child_or_hash(child)
            };
            h.insert(first.clone(), set_path(child, rest, value));
            Value::hash(h)
        }
        _ => node,
    }
}
fn child_or_hash(v: Value) -> Value {
    match v {
        Value::Array(_) | Value::Hash(_) => v,
        _ => Value::hash(Map::default()),
    }
}

fn from_tree(entries: &[Value], all_hashes: bool) -> Value {
    let mut result = Value::hash(Map::default());
    for e in entries {
        let Some((Value::Array(path), value)) = as_pair(e) else {
            continue;
        };
        if path.is_empty() {
            let merged: Vec<(Value, Value)> = match value {
                Value::Array(a) => a
                    .iter()
                    .enumerate()
                    .map(|(i, x)| (Value::Int(i as i64), x.clone()))
                    .collect(),
                Value::Hash(h) => h.iter().map(|(k, x)| (k.clone(), x.clone())).collect(),
                _ => vec![],
            };
            for (k, x) in merged {
                result = set_path(result, &[k], x);
            }
            continue;
        }
        let v = if all_hashes {
            array_as_hash(value)
        } else {
            value.clone()
        };
        result = set_path(result, path, v);
    }
    result
}

/// `Hash.new(from)`, `Hash.new(tree_entries, tree | hash_tree)` (also for Struct).
pub(crate) fn new_hash(args: &[Value]) -> EResult<Value> {
    let from = args.first().cloned().unwrap_or(Value::Undef);
    let tree_opt = match args.get(1) {
        Some(Value::Str(s)) if &**s == "tree" || &**s == "hash_tree" => Some(&**s == "hash_tree"),
        _ => None,
    };
    if let Value::Array(a) = &from {
        let tree = !a.is_empty()
            && a.iter()
                .all(|x| matches!(as_pair(x), Some((Value::Array(_), _))));
        if tree {
            if let Some(all_hashes) = tree_opt {
                return Ok(from_tree(a, all_hashes));
            }
        }
        if !a.is_empty() && a.iter().all(|x| as_pair(x).is_some()) {
            let mut m = Map::default();
            for x in a.iter() {
                if let Some((k, v)) = as_pair(x) {
                    m.insert(k.clone(), v.clone());
                }
            }
            return Ok(Value::hash(m));
        }
        return pairs_to_hash(a);
    }
    match &from {
        Value::Hash(_) => Ok(from.clone()),
        other => match iterable_values(other)? {
            Some(vs) => pairs_to_hash(&vs),
            None => Err(cannot(None, other, "Hash")),
        },
    }
}
