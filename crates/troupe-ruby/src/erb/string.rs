//! Methods on Strings.

use super::parse::Block;
use super::robj::{inspect, str_inspect, to_s};
use super::Ctx;
use std::rc::Rc;
use troupe_values::error::EResult;
use troupe_values::value::{Regexp, Value};

/// Ruby's character-set argument (`tr`, `delete`, `count`, `squeeze`): ranges `a-z`, a
/// leading `^` negates. Returns the characters and whether negated.
pub(super) fn char_set(spec: &str) -> (Vec<char>, bool) {
    let cs: Vec<char> = spec.chars().collect();
    let (neg, start) = if cs.len() > 1 && cs[0] == '^' {
        (true, 1)
    } else {
        (false, 0)
    };
    let mut out = Vec::new();
    let mut i = start;
    while i < cs.len() {
        let c = if cs[i] == '\\' && i + 1 < cs.len() {
            i += 1;
            cs[i]
        } else {
            cs[i]
        };
        if i + 2 < cs.len() && cs[i + 1] == '-' {
            let end = cs[i + 2];
            let (a, b) = (c as u32, end as u32);
            if a <= b {
                out.extend((a..=b).filter_map(char::from_u32));
            }
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    (out, neg)
}

fn in_set(c: char, sets: &[(Vec<char>, bool)]) -> bool {
    sets.iter().all(|(s, neg)| s.contains(&c) != *neg)
}

/// Expands a `sub`/`gsub` replacement text for one match: `\0` `\&` `\1`..`\9` `\k<name>`
/// `` \` `` `\'` `\\`.
fn expand(repl: &str, caps: &regex::Captures<'_>, s: &str) -> String {
    let mut out = String::new();
    let cs: Vec<char> = repl.chars().collect();
    let whole = caps.get(0).map_or(0..0, |m| m.range());
    let mut i = 0;
    while i < cs.len() {
        if cs[i] != '\\' || i + 1 == cs.len() {
            out.push(cs[i]);
            i += 1;
            continue;
        }
        let n = cs[i + 1];
        i += 2;
        match n {
            '0'..='9' => {
                let g = n as usize - '0' as usize;
                out.push_str(caps.get(g).map_or("", |m| m.as_str()));
            }
            '&' => out.push_str(&s[whole.clone()]),
            '`' => out.push_str(&s[..whole.start]),
            '\'' => out.push_str(&s[whole.end..]),
            '\\' => out.push('\\'),
            'k' if cs.get(i) == Some(&'<') => {
                let end = cs[i..].iter().position(|c| *c == '>').map(|p| p + i);
                match end {
                    Some(e) => {
                        let name: String = cs[i + 1..e].iter().collect();
                        out.push_str(caps.name(&name).map_or("", |m| m.as_str()));
                        i = e + 1;
                    }
                    None => out.push_str("\\k"),
                }
            }
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    out
}

/// The groups of one match as `$~` holds them.
pub(super) fn groups(caps: &regex::Captures<'_>) -> Vec<Value> {
    caps.iter()
        .map(|m| m.map_or(Value::Undef, |m| Value::str(m.as_str())))
        .collect()
}

impl Ctx<'_> {
    /// A pattern argument as a Regexp (a String is matched literally).
    pub(super) fn pattern(&self, v: Option<&Value>, what: &str) -> EResult<Rc<Regexp>> {
        match v {
            Some(Value::Regex(re)) => Ok(re.clone()),
            Some(Value::Str(s)) => Regexp::new(&regex::escape(s))
                .map(Rc::new)
                .map_err(|e| self.err(e)),
            _ => Err(self.unsupported(format!("{what} with this pattern"))),
        }
    }

    /// `sub`/`gsub` with a replacement text, a Hash, or a block (which sees `$~`, `$1`...).
    fn substitute(
        &mut self,
        s: &str,
        name: &str,
        args: &[Value],
        blk: Option<&Block>,
    ) -> EResult<Value> {
        let re = self.pattern(args.first(), &format!("String#{name}"))?;
        let plain = re
            .needs_plain(&format!("String#{name}"))
            .map_err(|e| self.unsupported(e))?
            .clone();
        let mut out = String::new();
        let mut last = 0;
        let mut any = false;
        for caps in plain.captures_iter(s) {
            let Some(m) = caps.get(0) else { continue };
            out.push_str(&s[last..m.start()]);
            let piece = match (args.get(1), blk) {
                (Some(Value::Hash(h)), _) => {
                    to_s(h.get(&Value::str(m.as_str())).unwrap_or(&Value::Undef))
                }
                (Some(Value::Str(r)), _) => expand(r, &caps, s),
                (Some(other), _) => {
                    return Err(self.err(format!(
                        "no implicit conversion of {} into String",
                        super::robj::class_of(other)
                    )))
                }
                (None, Some(b)) => {
                    self.last_match = groups(&caps);
                    let v = self.call_block(b, vec![Value::str(m.as_str())])?;
                    to_s(&v)
                }
                (None, None) => {
                    return Err(self.unsupported(format!("String#{name} without a block")))
                }
            };
            out.push_str(&piece);
            last = m.end();
            any = true;
            if name == "sub" {
                break;
            }
        }
        if !any && args.len() == 1 && blk.is_none() {
            return Err(self.unsupported(format!("String#{name} without a block")));
        }
        out.push_str(&s[last..]);
        Ok(Value::str(out))
    }

    pub(super) fn str_method(
        &mut self,
        r: &Value,
        s: &str,
        name: &str,
        args: Vec<Value>,
        blk: Option<&Block>,
    ) -> EResult<Value> {
        let a0 = args.first().map(to_s).unwrap_or_default();
        let int_arg = |i: usize| match args.get(i) {
            Some(Value::Int(n)) => Some(*n),
            _ => None,
        };
        Ok(match (name, args.len()) {
            ("upcase", 0) => Value::str(s.to_uppercase()),
            ("downcase", 0) => Value::str(s.to_lowercase()),
            ("swapcase", 0) => Value::str(
                s.chars()
                    .flat_map(|c| {
                        if c.is_uppercase() {
                            c.to_lowercase().collect::<Vec<_>>()
                        } else {
                            c.to_uppercase().collect::<Vec<_>>()
                        }
                    })
                    .collect::<String>(),
            ),
            ("capitalize", 0) => {
                let mut c = s.chars();
                Value::str(
                    c.next()
                        .map(|f| f.to_uppercase().collect::<String>() + &c.as_str().to_lowercase())
                        .unwrap_or_default(),
                )
            }
            ("length" | "size", 0) => Value::Int(s.chars().count() as i64),
            ("bytesize", 0) => Value::Int(s.len() as i64),
            ("strip", 0) => {
                Value::str(s.trim_matches(|c: char| c.is_ascii_whitespace() || c == '\0'))
            }
            ("lstrip", 0) => Value::str(s.trim_start_matches(|c: char| c.is_ascii_whitespace())),
            ("rstrip", 0) => {
                Value::str(s.trim_end_matches(|c: char| c.is_ascii_whitespace() || c == '\0'))
            }
            ("chomp", 0) => Value::str(
                s.strip_suffix("\r\n")
                    .or_else(|| s.strip_suffix('\n'))
                    .or_else(|| s.strip_suffix('\r'))
                    .unwrap_or(s),
            ),
            ("chomp", 1) => Value::str(s.strip_suffix(a0.as_str()).unwrap_or(s)),
            ("chop", 0) => {
                let t = s.strip_suffix("\r\n").unwrap_or_else(|| {
                    let mut c = s.chars();
                    c.next_back();
                    c.as_str()
                });
                Value::str(t)
            }
            ("empty?", 0) => Value::Bool(s.is_empty()),
            ("include?", 1) => match &args[0] {
                Value::Str(x) => Value::Bool(s.contains(&**x)),
                o => {
                    return Err(self.err(format!(
                        "no implicit conversion of {} into String",
                        super::robj::class_of(o)
                    )))
                }
            },
            ("start_with?", _) => Value::Bool(args.iter().any(|a| match a {
                Value::Regex(re) => re.captures(s).is_some_and(|(st, _)| st == 0),
                a => s.starts_with(to_s(a).as_str()),
            })),
            ("end_with?", _) => Value::Bool(args.iter().any(|a| s.ends_with(to_s(a).as_str()))),
            ("index" | "rindex", 1) if matches!(args[0], Value::Str(_)) => {
                let found = if name == "index" {
                    s.find(a0.as_str())
                } else {
                    s.rfind(a0.as_str())
                };
                found.map_or(Value::Undef, |b| Value::Int(s[..b].chars().count() as i64))
            }
            ("split", 0..=2) => self.split(s, &args)?,
            ("gsub" | "sub", 1 | 2) => self.substitute(s, name, &args, blk)?,
            ("tr", 2) => {
                let (from, neg) = char_set(&a0);
                let (to, _) = char_set(&to_s(&args[1]));
                let mut out = String::new();
                for c in s.chars() {
                    let pos = from.iter().position(|f| *f == c);
                    let hit = pos.is_some() != neg;
                    if !hit {
                        out.push(c);
                    } else if let Some(t) = to.last() {
                        let i = if neg { to.len() - 1 } else { pos.unwrap_or(0) };
                        out.push(*to.get(i).unwrap_or(t));
                    }
                }
                Value::str(out)
            }
            ("delete", 1..) => {
                let sets: Vec<_> = args.iter().map(|a| char_set(&to_s(a))).collect();
                Value::str(s.chars().filter(|c| !in_set(*c, &sets)).collect::<String>())
            }
            ("count", 1..) => {
                let sets: Vec<_> = args.iter().map(|a| char_set(&to_s(a))).collect();
                Value::Int(s.chars().filter(|c| in_set(*c, &sets)).count() as i64)
            }
            ("squeeze", _) => {
                let sets: Vec<_> = args.iter().map(|a| char_set(&to_s(a))).collect();
                let mut out = String::new();
                for c in s.chars() {
                    if !(out.ends_with(c) && in_set(c, &sets)) {
                        out.push(c);
                    }
                }
                Value::str(out)
            }
            ("ljust" | "rjust" | "center", 1 | 2) => {
                let w =
                    int_arg(0).ok_or_else(|| self.unsupported(format!("String#{name} width")))?;
                let pad = if args.len() == 2 {
                    to_s(&args[1])
                } else {
                    " ".into()
                };
                if pad.is_empty() {
                    return Err(self.err("zero width padding"));
                }
                let n = s.chars().count();
                let w = w.max(0) as usize;
                if n >= w {
                    r.clone()
                } else {
                    troupe_values::limits::reserve(w as u64)?;
                    let fill = |k: usize| pad.chars().cycle().take(k).collect::<String>();
                    Value::str(match name {
                        "ljust" => format!("{s}{}", fill(w - n)),
                        "rjust" => format!("{}{s}", fill(w - n)),
                        _ => {
                            let left = (w - n) / 2;
                            format!("{}{s}{}", fill(left), fill(w - n - left))
                        }
                    })
                }
            }
            ("reverse", 0) => Value::str(s.chars().rev().collect::<String>()),
            ("chars", 0) => Value::array(s.chars().map(|c| Value::str(c.to_string())).collect()),
            ("bytes", 0) => Value::array(s.bytes().map(|b| Value::Int(b as i64)).collect()),
            ("each_char", 0) if blk.is_some() => {
                let chars: Vec<Value> = s.chars().map(|c| Value::str(c.to_string())).collect();
                return self
                    .array_method(&Value::array(chars.clone()), &chars, "each", args, blk)
                    .map(|_| r.clone());
            }
            ("lines" | "each_line", 0) => {
                let lines: Vec<Value> = s.split_inclusive('\n').map(Value::from).collect();
                match blk {
                    Some(b) if name == "each_line" => {
                        for l in &lines {
                            self.call_block(b, vec![l.clone()])?;
                        }
                        r.clone()
                    }
                    Some(_) => return Err(self.unsupported("String#lines with a block")),
                    None => Value::array(lines),
                }
            }
            ("to_i", 0) => Value::Int(crate::object::ruby_to_i(s)),
            ("to_i", 1) => {
                let base = int_arg(0).unwrap_or(10);
                if !(2..=36).contains(&base) {
                    return Err(self.err(format!("invalid radix {base}")));
                }
                let t = s.trim_start();
                let (neg, t) = match t.strip_prefix('-') {
                    Some(x) => (true, x),
                    None => (false, t),
                };
                let t = if base == 16 {
                    t.trim_start_matches("0x").trim_start_matches("0X")
                } else {
                    t
                };
                let digits: String = t
                    .chars()
                    .take_while(|c| c.is_digit(base as u32) || *c == '_')
                    .filter(|c| *c != '_')
                    .collect();
                let n = i64::from_str_radix(&digits, base as u32).unwrap_or(0);
                Value::Int(if neg { -n } else { n })
            }
            ("hex", 0) => return self.str_method(r, s, "to_i", vec![Value::Int(16)], None),
            ("oct", 0) => return self.str_method(r, s, "to_i", vec![Value::Int(8)], None),
            ("to_f", 0) => Value::Float(crate::object::ruby_to_f(s)),
            ("to_s" | "to_str", 0) => r.clone(),
            ("to_sym" | "intern", 0) => super::robj::symbol(s),
            ("inspect", 0) => Value::str(str_inspect(s)),
            ("eql?", 1) => Value::Bool(args[0] == *r),
            ("casecmp", 1) => {
                Value::Int(match s.to_ascii_lowercase().cmp(&a0.to_ascii_lowercase()) {
                    std::cmp::Ordering::Less => -1,
                    std::cmp::Ordering::Equal => 0,
                    std::cmp::Ordering::Greater => 1,
                })
            }
            ("casecmp?", 1) => Value::Bool(s.to_lowercase() == a0.to_lowercase()),
            ("succ" | "next", 0) => Value::str(crate::object::ruby_succ(s)),
            ("ord", 0) => match s.chars().next() {
                Some(c) => Value::Int(c as i64),
                None => return Err(self.err("empty string")),
            },
            ("slice", 1 | 2) => return self.index(r, &args),
            ("partition" | "rpartition", 1) if matches!(args[0], Value::Str(_)) => {
                let at = if name == "partition" {
                    s.find(a0.as_str())
                } else {
                    s.rfind(a0.as_str())
                };
                let parts = match at {
                    Some(i) => [&s[..i], a0.as_str(), &s[i + a0.len()..]],
                    None if name == "partition" => [s, "", ""],
                    None => ["", "", s],
                };
                Value::array(parts.iter().map(|p| Value::str(*p)).collect())
            }
            ("scan", 1) => {
                let re = self.pattern(args.first(), "String#scan")?;
                let plain = re
                    .needs_plain("String#scan")
                    .map_err(|e| self.unsupported(e))?
                    .clone();
                let mut found = Vec::new();
                for caps in plain.captures_iter(s) {
                    let g = groups(&caps);
                    let item = if g.len() > 1 {
                        Value::array(g[1..].to_vec())
                    } else {
                        g[0].clone()
                    };
                    if let Some(b) = blk {
                        self.last_match = g;
                        self.call_block(b, vec![item])?;
                    } else {
                        found.push(item);
                    }
                }
                if blk.is_some() {
                    r.clone()
                } else {
                    Value::array(found)
                }
            }
            ("match" | "match?" | "=~", 1) => {
                let re = match &args[0] {
                    Value::Regex(re) => re.clone(),
                    Value::Str(p) if name != "=~" => {
                        Rc::new(Regexp::new(p).map_err(|e| self.err(e))?)
                    }
                    _ => return Err(self.unsupported(format!("String#{name} with this argument"))),
                };
                return self.regex_match(&re, s, name);
            }
            ("force_encoding" | "encode" | "unicode_normalize" | "scrub" | "b", _)
                if args.len() <= 1 =>
            {
                if s.is_ascii() || name != "b" {
                    r.clone()
                } else {
                    return Err(self.unsupported("String#b"));
                }
            }
            ("%", 1) => match &args[0] {
                Value::Array(a) => Value::str(self.sprintf(s, a)?),
                Value::Hash(_) => Value::str(self.sprintf(s, &args)?),
                x => Value::str(self.sprintf(s, std::slice::from_ref(x))?),
            },
            ("+", 1) => match &args[0] {
                Value::Str(b) => Value::str(format!("{s}{b}")),
                o => {
                    return Err(self.err(format!(
                        "no implicit conversion of {} into String",
                        super::robj::class_of(o)
                    )))
                }
            },
            ("*", 1) => return self.binop("*", r.clone(), args[0].clone()),
            ("between?", 2) => Value::Bool(a0.as_str() <= s && s <= to_s(&args[1]).as_str()),
            ("to_json", 0) => return self.json_method(r, "to_json", &args),
            _ => {
                return Err(self.unsupported(format!(
                    "String#{name} ({} argument{}) on {}",
                    args.len(),
                    if args.len() == 1 { "" } else { "s" },
                    inspect(r)
                )))
            }
        })
    }

    fn split(&mut self, s: &str, args: &[Value]) -> EResult<Value> {
        let limit = match args.get(1) {
            Some(Value::Int(n)) => *n,
            None => 0,
            Some(_) => return Err(self.unsupported("String#split limit")),
        };
        let mut parts: Vec<String> = match args.first() {
            None | Some(Value::Undef) => {
                let t = s.trim_start_matches(|c: char| c.is_ascii_whitespace());
                if limit > 0 {
                    let mut v: Vec<String> = Vec::new();
                    let mut rest = t;
                    while (v.len() as i64) < limit - 1 && !rest.is_empty() {
                        match rest.find(|c: char| c.is_ascii_whitespace()) {
                            Some(i) => {
                                v.push(rest[..i].to_string());
                                rest =
                                    rest[i..].trim_start_matches(|c: char| c.is_ascii_whitespace());
                            }
                            None => break,
                        }
                    }
                    v.push(rest.to_string());
                    v
                } else {
                    t.split(|c: char| c.is_ascii_whitespace())
                        .filter(|p| !p.is_empty())
                        .map(String::from)
                        .collect::<Vec<_>>()
                        .into_iter()
                        .chain(
                            (limit < 0 && t.ends_with(|c: char| c.is_ascii_whitespace()))
                                .then(String::new),
                        )
                        .collect()
                }
            }
            Some(Value::Str(sep)) if sep.is_empty() => s.chars().map(|c| c.to_string()).collect(),
            Some(Value::Str(sep)) if &**sep == " " => {
                return self.split(
                    s,
                    &[Value::Undef, args.get(1).cloned().unwrap_or(Value::Int(0))],
                )
            }
            Some(Value::Str(sep)) => {
                if limit > 0 {
                    s.splitn(limit as usize, &**sep).map(String::from).collect()
                } else {
                    s.split(&**sep).map(String::from).collect()
                }
            }
            Some(Value::Regex(re)) => {
                let plain = re
                    .needs_plain("String#split")
                    .map_err(|e| self.unsupported(e))?;
                if re.source.is_empty() {
                    s.chars().map(|c| c.to_string()).collect()
                } else if limit > 0 {
                    plain.splitn(s, limit as usize).map(String::from).collect()
                } else {
                    plain.split(s).map(String::from).collect()
                }
            }
            Some(_) => return Err(self.unsupported("String#split with this separator")),
        };
        if s.is_empty() {
            parts.clear();
        }
        if limit == 0 {
            while parts.last().is_some_and(|p| p.is_empty()) {
                parts.pop();
            }
        }
        Ok(Value::array(parts.into_iter().map(Value::str).collect()))
    }
}
