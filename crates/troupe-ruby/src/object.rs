//! Ruby's view of a Puppet value: its class, `to_s`, `inspect`, truthiness, `<=>` as `sort`
//! uses it, and the String conversions (`to_i`, `to_f`, `succ`, `upto`) that Ruby functions and
//! ERB templates rely on.

use troupe_values::value::{format_float, Value};

/// Ruby's `to_s` of a Puppet value as Ruby functions see it.
pub fn ruby_to_s(v: &Value) -> String {
    match v {
        Value::Undef => String::new(),
        Value::Float(f) => format_float(*f),
        Value::Sensitive(_) => "Sensitive [value redacted]".into(),
        Value::Default => "default".into(),
        Value::Array(_) | Value::Hash(_) => inspect(v),
        other => other.to_display(),
    }
}
pub fn ruby_class(v: &Value) -> &'static str {
    match v {
        Value::Undef => "NilClass",
        Value::Bool(true) => "TrueClass",
        Value::Bool(false) => "FalseClass",
        Value::Int(_) => "Integer",
        Value::Float(_) => "Float",
        Value::Str(_) => "String",
        Value::Array(_) => "Array",
        Value::Hash(_) => "Hash",
        Value::Regex(_) => "Regexp",
        // Puppet's `default` is Ruby's `:default`.
        Value::Default => "Symbol",
        _ => "Object",
    }
}
/// Ruby's `inspect` (also what stdlib's 3.x functions print in their errors).
pub fn inspect(v: &Value) -> String {
    troupe_values::limits::grow(|| match v {
        Value::Undef => "nil".into(),
        Value::Str(s) => format!("{:?}", &**s),
        Value::Array(a) => format!("[{}]", a.iter().map(inspect).collect::<Vec<_>>().join(", ")),
        Value::Hash(h) => format!(
            "{{{}}}",
            h.iter()
                .map(|(k, v)| format!("{}=>{}", inspect(k), inspect(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => ruby_to_s(other),
    })
}
pub fn truthy(v: &Value) -> bool {
    !matches!(v, Value::Undef | Value::Bool(false))
}
pub fn sort_cmp(a: &Value, b: &Value) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            troupe_values::number::as_f64(a)
                .partial_cmp(&troupe_values::number::as_f64(b))
                .unwrap_or(Ordering::Equal)
        }
        (Value::Str(x), Value::Str(y)) => x.cmp(y),
        (Value::SemVer(x), Value::SemVer(y)) => x.precedence(y),
        (Value::Timestamp(x), Value::Timestamp(y)) | (Value::Timespan(x), Value::Timespan(y)) => {
            x.cmp(y)
        }
        _ => a.to_display().cmp(&b.to_display()),
    }
}
/// Ruby's `String#to_i`: leading digits (with a sign), 0 when none.
pub fn ruby_to_i(s: &str) -> i64 {
    let t = s.trim_start();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let digits: String = t
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '_')
        .filter(|c| *c != '_')
        .collect();
    let n = digits.parse::<i64>().unwrap_or(0);
    if neg {
        -n
    } else {
        n
    }
}
/// Ruby's `String#to_f`: the longest leading float, 0.0 when none.
pub fn ruby_to_f(s: &str) -> f64 {
    let t = s.trim_start();
    let mut end = 0;
    for i in (1..=t.len()).rev() {
        if t.is_char_boundary(i) && t[..i].parse::<f64>().is_ok() {
            end = i;
            break;
        }
    }
    t[..end].parse().unwrap_or(0.0)
}
/// Ruby's `String#upto` (a String range's `each`): `succ` until `stop`, or until the text
/// is longer than `stop`.
pub fn ruby_string_upto(start: &str, stop: &str, exclusive: bool) -> Vec<String> {
    let mut out = Vec::new();
    // One ASCII character each: a character range.
    if start.len() == 1 && stop.len() == 1 && start.is_ascii() && stop.is_ascii() {
        let (a, b) = (start.as_bytes()[0], stop.as_bytes()[0]);
        let end = if exclusive { b.saturating_sub(1) } else { b };
        if a <= b {
            for c in a..=end {
                if exclusive && c == b {
                    break;
                }
                out.push((c as char).to_string());
            }
        }
        return out;
    }
    // Both all digits: numeric, keeping the width.
    if !start.is_empty()
        && !stop.is_empty()
        && start.bytes().all(|b| b.is_ascii_digit())
        && stop.bytes().all(|b| b.is_ascii_digit())
    {
        let (a, b) = (ruby_to_i(start), ruby_to_i(stop));
        let width = start.len();
        let mut i = a;
        while i < b || (!exclusive && i == b) {
            out.push(format!("{i:0width$}"));
            i += 1;
        }
        return out;
    }
    if start > stop && start.len() >= stop.len() {
        return out;
    }
    let mut cur = start.to_string();
    loop {
        if exclusive && cur == stop {
            break;
        }
        out.push(cur.clone());
        if cur == stop || out.len() >= 1_000_000 {
            break;
        }
        cur = ruby_succ(&cur);
        if cur.len() > stop.len() {
            break;
        }
    }
    out
}
/// Ruby's `String#succ` for ASCII text: the rightmost alphanumeric is incremented, with carry
/// (`az` → `ba`, `zz` → `aaa`, `a9` → `b0`); text with no alphanumerics increments its last
/// character.
pub fn ruby_succ(s: &str) -> String {
    let mut b: Vec<u8> = s.as_bytes().to_vec();
    if b.is_empty() {
        return String::new();
    }
    let alnum: Vec<usize> = (0..b.len())
        .filter(|&i| b[i].is_ascii_alphanumeric())
        .collect();
    if alnum.is_empty() {
        let last = b.len() - 1;
        b[last] = b[last].wrapping_add(1);
        return String::from_utf8_lossy(&b).into_owned();
    }
    let mut idx = alnum.len();
    loop {
        idx -= 1;
        let i = alnum[idx];
        let (next, carry, first) = match b[i] {
            b'z' => (b'a', true, b'a'),
            b'Z' => (b'A', true, b'A'),
            b'9' => (b'0', true, b'1'),
            c => (c + 1, false, 0),
        };
        b[i] = next;
        if !carry {
            break;
        }
        // Carry into the next alphanumeric to the left, or grow.
        if idx == 0 {
            b.insert(i, first);
            break;
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

/// Ruby's `==` on plain data: strings compare exactly, integers and floats by value,
/// arrays item by item, hash keys by identity (`eql?`).
pub fn ruby_eq(a: &Value, b: &Value) -> bool {
    troupe_values::limits::grow_if(a.is_container(), || match (a, b) {
        (Value::Int(x), Value::Float(y)) | (Value::Float(y), Value::Int(x)) => *x as f64 == *y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| ruby_eq(p, q))
        }
        (Value::Hash(x), Value::Hash(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| ruby_eq(v, w)))
        }
        _ => a == b,
    })
}
