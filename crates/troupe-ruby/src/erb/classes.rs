//! Class methods of the constants templates use: `IPAddr.new`, `Hash.new`, `Array.new`,
//! `String.new`, `Regexp.escape`/`new`/`union`, `File.join`/`basename`/`dirname`/`extname`
//! and `JSON.*`.

use super::parse::Block;
use super::robj::to_s;
use super::Ctx;
use troupe_values::error::EResult;
use troupe_values::value::Map;
use troupe_values::value::Value;

impl Ctx<'_> {
    /// `Const.method(...)` and `Const(...)`-less class methods.
    pub(super) fn class_method(
        &mut self,
        c: &str,
        name: &str,
        args: Vec<Value>,
        _blk: Option<&Block>,
    ) -> EResult<Value> {
        let s = |i: usize| args.get(i).map(to_s).unwrap_or_default();
        match (c, name, args.len()) {
            ("IPAddr", "new", _) => self.ipaddr_new(&args),
            ("Hash", "new", 0) => Ok(Value::hash(Map::default())),
            ("Array", "new", 0) => Ok(Value::array(vec![])),
            ("Array", "new", 1 | 2) => {
                let Some(Value::Int(n)) = args.first() else {
                    return Err(self.unsupported("Array.new with these arguments"));
                };
                let n = (*n).max(0) as u64;
                troupe_values::limits::reserve_items(n, std::mem::size_of::<Value>())?;
                let v = args.get(1).cloned().unwrap_or(Value::Undef);
                Ok(Value::array(vec![v; n as usize]))
            }
            ("String", "new", 0 | 1) => Ok(Value::str(s(0))),
            ("Regexp", "escape" | "quote", 1) => Ok(Value::str(regexp_escape(&s(0)))),
            ("Regexp", "new", 1) => match &args[0] {
                Value::Regex(_) => Ok(args[0].clone()),
                _ => troupe_values::value::Regexp::new(&s(0))
                    .map(|re| Value::Regex(std::rc::Rc::new(re)))
                    .map_err(|e| self.err(e)),
            },
            ("Regexp", "union", _) => {
                let parts: Vec<String> = troupe_values::value::flatten(&args)
                    .iter()
                    .map(|a| match a {
                        Value::Regex(re) => re.source.clone(),
                        o => regexp_escape(&to_s(o)),
                    })
                    .collect();
                troupe_values::value::Regexp::new(&parts.join("|"))
                    .map(|re| Value::Regex(std::rc::Rc::new(re)))
                    .map_err(|e| self.err(e))
            }
            ("File", "join", _) => Ok(Value::str(file_join(&args))),
            ("File", "basename", 1 | 2) => Ok(Value::str(file_basename(
                &s(0),
                args.get(1).map(to_s).as_deref(),
            ))),
            ("File", "dirname", 1) => Ok(Value::str(file_dirname(&s(0)))),
            ("File", "extname", 1) => Ok(Value::str(file_extname(&s(0)))),
            ("JSON", _, _) => self.json_class_method(name, &args),
            _ => Err(self.unsupported(format!("{c}.{name}"))),
        }
    }
}

/// Ruby's `Regexp.escape`.
pub(super) fn regexp_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '.' | '*' | '?' | '+' | '^' | '$' | '|' | '(' | ')' | '[' | ']' | '{' | '}' | '\\'
            | '/' | '-' => {
                out.push('\\');
                out.push(c)
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

fn file_join(args: &[Value]) -> String {
    let parts: Vec<String> = troupe_values::value::flatten(args)
        .iter()
        .map(to_s)
        .collect();
    let mut out = String::new();
    for (i, p) in parts.iter().enumerate() {
        if i == 0 {
            out.push_str(p);
            continue;
        }
        match (out.ends_with('/'), p.starts_with('/')) {
            (true, true) => out.push_str(&p[1..]),
            (false, false) => {
                out.push('/');
                out.push_str(p)
            }
            _ => out.push_str(p),
        }
    }
    out
}

fn file_basename(p: &str, suffix: Option<&str>) -> String {
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return if p.is_empty() {
            String::new()
        } else {
            "/".into()
        };
    }
    let base = t.rsplit('/').next().unwrap_or(t).to_string();
    match suffix {
        Some(".*") => match base.rfind('.') {
            Some(i) if i > 0 => base[..i].to_string(),
            _ => base,
        },
        Some(sfx) if !sfx.is_empty() && base.ends_with(sfx) && base != sfx => {
            base[..base.len() - sfx.len()].to_string()
        }
        _ => base,
    }
}

fn file_dirname(p: &str) -> String {
    let t = p.trim_end_matches('/');
    match t.rfind('/') {
        None if p.starts_with('/') => "/".into(),
        None => ".".into(),
        Some(i) => {
            let d = t[..i].trim_end_matches('/');
            if d.is_empty() {
                "/".into()
            } else {
                d.into()
            }
        }
    }
}

fn file_extname(p: &str) -> String {
    let base = file_basename(p, None);
    match base.rfind('.') {
        Some(i) if i > 0 && i + 1 < base.len() => base[i..].to_string(),
        _ => String::new(),
    }
}
