//! Strings: `split`, case and whitespace functions, `sprintf`, `regsubst`, `match`,
//! `versioncmp`, `shellquote`, `scanf`.

use crate::functions::args::arity;
use crate::functions::args::str_arg;
use crate::functions::host::Host;
use std::rc::Rc;
use troupe_ruby::format::sprintf;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::EResult;
use troupe_values::error::EvalError;
use troupe_values::types::Type;
use troupe_values::value::flatten;
use troupe_values::value::Value;

/// `split`.
pub(crate) fn split(
    _ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    if lambda.is_some() {
        return Err(EvalError::new("'split' does not expect a block"));
    }
    arity(name, &args, 2, 2)?;
    let s = str_arg(name, &args[0], 1)?;
    let parts: Vec<Value> = match &args[1] {
        Value::Str(p) => {
            let re = super::regsubst::compile(p, "")?;
            split_ruby(s, re.needs_plain("split").map_err(EvalError::new)?)
        }
        Value::Regex(r) => split_ruby(s, r.needs_plain("split").map_err(EvalError::new)?),
        Value::Type(t) => match t.resolved() {
            Type::Regexp(Some(r)) => split_ruby(s, r.needs_plain("split").map_err(EvalError::new)?),
            // `Regexp` without a pattern splits between every character.
            Type::Regexp(None) => split_ruby(
                s,
                super::regsubst::compile("", "")?
                    .needs_plain("split")
                    .map_err(EvalError::new)?,
            ),
            _ => {
                return Err(EvalError::new(
                    "'split' expects a String, Regexp or Type[Regexp] pattern",
                ))
            }
        },
        _ => {
            return Err(EvalError::new(
                "'split' expects a String, Regexp or Type[Regexp] pattern",
            ))
        }
    };
    Ok(Value::array(parts))
}

/// `upcase`, `downcase`, `capitalize`, `camelcase`, `strip`, `lstrip`, `rstrip`, `chomp`, `chop`.
pub(crate) fn upcase(
    _ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 1, 1)?;
    if !matches!(name, "upcase" | "downcase") {
        // These take a Numeric, a String or an Iterable of those (no nesting, no Hash).
        let flat = |v: &Value| matches!(v, Value::Str(_) | Value::Int(_) | Value::Float(_));
        let ok = match &args[0] {
            Value::Array(a) => a.iter().all(flat),
            v => flat(v),
        };
        if !ok {
            return Err(EvalError::new(format!(
                "'{name}' parameter 'arg' expects a value of type Numeric, String, or Iterable[Variant[String, Numeric]], got {}",
                crate::functions::args::variant_got(&args[0])
            )));
        }
    }
    Ok(map_strings(&args[0], &|s: &str| string_fn(name, s)))
}

/// `sprintf`.
pub(crate) fn sprintf_fn(
    _ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 1, usize::MAX)?;
    let f = str_arg(name, &args[0], 1)?;
    Ok(Value::str(sprintf(f, &args[1..])?))
}

/// `match`.
pub(crate) fn match_fn(
    _ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 2, 2)?;
    // The regexps to try in turn: a Pattern's, a Variant's members', an alias's target's.
    fn regexps(t: &Type, out: &mut Vec<Rc<troupe_values::value::Regexp>>) -> EResult<()> {
        match t.resolved() {
            Type::Pattern(ps) => out.extend(ps.iter().cloned()),
            Type::Regexp(Some(r)) => out.push(r.clone()),
            Type::Regexp(None) => {
                return Err(EvalError::new(
                    "Given Regexp Type has no regular expression",
                ))
            }
            Type::Variant(ts) => {
                for x in ts {
                    regexps(x, out)?;
                }
            }
            _ => return Err(EvalError::new("'match' expects a pattern")),
        }
        Ok(())
    }
    let mut res = Vec::new();
    match &args[1] {
        Value::Str(p) => res.push(Rc::new(
            troupe_values::value::Regexp::new(p).map_err(EvalError::new)?,
        )),
        Value::Regex(r) => res.push(r.clone()),
        Value::Type(t) => regexps(t, &mut res)?,
        _ => return Err(EvalError::new("'match' expects a pattern")),
    };
    let one = |s: &str| -> Value {
        res.iter()
            .find_map(|re| re.captures(s).map(|(_, caps)| Value::array(caps)))
            .unwrap_or(Value::Undef)
    };
    match &args[0] {
        Value::Str(s) => Ok(one(s)),
        Value::Array(a) => Ok(Value::array(
            a.iter()
                .map(|x| x.as_str().map(one).unwrap_or(Value::Undef))
                .collect(),
        )),
        _ => Err(EvalError::new("'match' expects a String or Array[String]")),
    }
}

/// `versioncmp`.
pub(crate) fn versioncmp_fn(
    _ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 2, 3)?;
    let a = str_arg(name, &args[0], "\'a\'")?;
    let b = str_arg(name, &args[1], "\'b\'")?;
    // `ignore_trailing_zeroes`: Puppet strips `[.0]+` from the end of each version's part
    // before its first `-` (so `20` becomes `2`, as Puppet does).
    if args.get(2).is_some_and(|v| v.truthy()) {
        let norm = |v: &str| -> String {
            let (head, tail) = match v.find('-') {
                Some(i) => (&v[..i], &v[i..]),
                None => (v, ""),
            };
            format!("{}{tail}", head.trim_end_matches(['.', '0']))
        };
        return Ok(Value::Int(versioncmp(&norm(a), &norm(b))));
    }
    Ok(Value::Int(versioncmp(a, b)))
}

/// `scanf`.
pub(crate) fn scanf_fn(
    ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 2, 2)?;
    let data = str_arg(name, &args[0], "\'data\'")?;
    let format = str_arg(name, &args[1], "\'format\'")?;
    let r = Value::array(scanf(data, format));
    match lambda {
        Some(l) => ev.call_lambda(l, &[r], e),
        None => Ok(r),
    }
}

/// `shellquote`.
pub(crate) fn shellquote_fn(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let words: Vec<String> = flatten(&args)
        .iter()
        .map(|v| shellquote(&v.to_display()))
        .collect();
    Ok(Value::str(words.join(" ")))
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
    troupe_values::limits::grow(|| match v {
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
