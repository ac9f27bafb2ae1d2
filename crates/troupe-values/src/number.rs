//! Numbers as Puppet reads them: a value's float, and the numeric conversion of strings.

use crate::value::Value;

pub fn as_f64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        _ => 0.0,
    }
}
/// The number a string stands for in arithmetic (Puppet's `Utils.to_n`): optional blanks and
/// sign, then a hex integer (`0x1F`), an integer (octal when it starts with `0`, so `'089'` is
/// not a number), or a decimal float (`1.5`, `012.5`, `1e3`, `2.5e-1`; the exponent has no `+`).
pub fn to_n(s: &str) -> Option<Value> {
    let blank = |c: char| c == ' ' || c == '\t';
    let t = s.trim_matches(blank);
    let (neg, body) = match t.strip_prefix(['-', '+']) {
        Some(b) => (t.starts_with('-'), b.trim_start_matches(blank)),
        None => (false, t),
    };
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|c| c.is_ascii_digit());
    let int = |x: &str| -> Option<i128> {
        if x.len() > 1 && x.starts_with('0') {
            i128::from_str_radix(&x[1..], 8).ok()
        } else {
            x.parse::<i128>().ok()
        }
    };
    let sign =
        |i: i128| -> Option<Value> { i64::try_from(if neg { -i } else { i }).ok().map(Value::Int) };
    if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        if !h.is_empty() && h.bytes().all(|c| c.is_ascii_hexdigit()) {
            return sign(i128::from_str_radix(h, 16).ok()?);
        }
        return None;
    }
    let split = body.find(['.', 'e', 'E']).unwrap_or(body.len());
    let (ip, fp) = body.split_at(split);
    if !digits(ip) {
        return None;
    }
    if fp.is_empty() {
        return sign(int(ip)?);
    }
    let (frac, exp) = match fp.find(['e', 'E']) {
        Some(i) => (&fp[..i], Some(&fp[i + 1..])),
        None => (fp, None),
    };
    if !(frac.is_empty() || frac.strip_prefix('.').is_some_and(digits)) {
        return None;
    }
    if let Some(x) = exp {
        if !digits(x.strip_prefix('-').unwrap_or(x)) {
            return None;
        }
    }
    // The integer part must itself convert (so '089.5' is not a number), and zero raised to
    // a power is refused as Puppet does.
    let whole = int(ip)?;
    if whole == 0 && exp.is_some() && frac.trim_start_matches('.').bytes().all(|c| c == b'0') {
        return None;
    }
    let f: f64 = body.parse().ok()?;
    if f.is_infinite() {
        return None;
    }
    Some(Value::Float(if neg { -f } else { f }))
}

/// Puppet's numeric conversion of strings (`'1'`, `'0x10'`, `'1.5'`, `'1e3'`).
pub fn parse_number(s: &str) -> Option<Value> {
    let t = s.trim();
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let int = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()
    } else if body.len() > 1 && body.starts_with('0') && body.chars().all(|c| c.is_ascii_digit()) {
        i64::from_str_radix(&body[1..], 8).ok()
    } else if !body.is_empty() && body.chars().all(|c| c.is_ascii_digit()) {
        body.parse::<i64>().ok()
    } else {
        None
    };
    if let Some(i) = int {
        return Some(Value::Int(if neg { -i } else { i }));
    }
    if body.chars().next().is_some_and(|c| c.is_ascii_digit())
        && body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
    {
        if let Ok(f) = body.parse::<f64>() {
            return Some(Value::Float(if neg { -f } else { f }));
        }
    }
    None
}
