//! Ruby's `Kernel#sprintf` (`sprintf`, `format`, `String#%`) for templates: flags `-+ 0#`,
//! width and precision (also `*`), `%<name>…` and `%{name}` with a Hash, and the
//! conversions `s p d i u f e E g G x X o b B c %`.

use super::robj::{class_of, inspect, to_s};
use super::Ctx;
use troupe_values::error::EResult;
use troupe_values::value::Value;

/// C's `%g` with precision `p`.
fn fmt_g(x: f64, p: usize, alt: bool, upper: bool) -> String {
    let p = p.max(1);
    if x == 0.0 {
        return "0".into();
    }
    let exp = x.abs().log10().floor() as i32;
    let e_form = format!("{:.*e}", p - 1, x);
    let (mant, ex) = e_form.split_once('e').unwrap_or((&e_form, "0"));
    let ex: i32 = ex.parse().unwrap_or(exp);
    let mut s = if ex < -4 || ex >= p as i32 {
        let mant = if alt {
            mant.to_string()
        } else {
            trim_zeros(mant)
        };
        format!("{mant}e{}{:02}", if ex < 0 { '-' } else { '+' }, ex.abs())
    } else {
        let decimals = (p as i32 - 1 - ex).max(0) as usize;
        let f = format!("{x:.decimals$}");
        if alt {
            f
        } else {
            trim_zeros(&f)
        }
    };
    if upper {
        s = s.to_uppercase();
    }
    s
}

fn trim_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

fn fmt_e(x: f64, p: usize, upper: bool) -> String {
    let s = format!("{x:.p$e}");
    let (m, ex) = s.split_once('e').unwrap_or((&s, "0"));
    let exn: i32 = ex.parse().unwrap_or(0);
    let r = format!("{m}e{}{:02}", if exn < 0 { '-' } else { '+' }, exn.abs());
    if upper {
        r.to_uppercase()
    } else {
        r
    }
}

impl Ctx<'_> {
    fn int_arg(&self, v: &Value) -> EResult<i64> {
        match v {
            Value::Int(i) => Ok(*i),
            Value::Float(f) if f.is_finite() => Ok(f.floor() as i64),
            Value::Str(s) => {
                let t = s.trim().replace('_', "");
                let n = match t.strip_prefix("0x").or(t.strip_prefix("0X")) {
                    Some(h) => i64::from_str_radix(h, 16).ok(),
                    None => t.parse::<i64>().ok(),
                };
                n.ok_or_else(|| self.err(format!("invalid value for Integer(): {}", inspect(v))))
            }
            Value::Undef => Err(self.err("can't convert nil into Integer")),
            o => Err(self.err(format!("can't convert {} into Integer", class_of(o)))),
        }
    }

    fn float_arg(&self, v: &Value) -> EResult<f64> {
        match v {
            Value::Int(i) => Ok(*i as f64),
            Value::Float(f) => Ok(*f),
            Value::Str(s) => s
                .trim()
                .replace('_', "")
                .parse::<f64>()
                .map_err(|_| self.err(format!("invalid value for Float(): {}", inspect(v)))),
            Value::Undef => Err(self.err("can't convert nil into Float")),
            o => Err(self.err(format!("can't convert {} into Float", class_of(o)))),
        }
    }

    pub(super) fn sprintf(&mut self, f: &str, args: &[Value]) -> EResult<String> {
        let cs: Vec<char> = f.chars().collect();
        let mut out = String::new();
        let mut ai = 0;
        let mut i = 0;
        let hash = match args {
            [Value::Hash(h)] => Some(h.clone()),
            _ => None,
        };
        let too_few = |s: &Self| s.err(format!("{}too few arguments", super::RUBY_ERROR));
        while i < cs.len() {
            if cs[i] != '%' {
                out.push(cs[i]);
                i += 1;
                continue;
            }
            i += 1;
            let mut flags = String::new();
            let mut width: Option<usize> = None;
            let mut prec: Option<usize> = None;
            let mut named: Option<Value> = None;
            loop {
                match cs.get(i) {
                    Some(c @ ('-' | '+' | ' ' | '0' | '#')) => {
                        flags.push(*c);
                        i += 1;
                    }
                    Some('<') | Some('{') => {
                        let close = if cs[i] == '<' { '>' } else { '}' };
                        let end = cs[i..].iter().position(|c| *c == close).map(|p| p + i);
                        let Some(end) = end else {
                            return Err(self.err("malformed name - unmatched parenthesis"));
                        };
                        let key: String = cs[i + 1..end].iter().collect();
                        let Some(h) = &hash else {
                            return Err(self.err("one hash required"));
                        };
                        let v = h
                            .get(&super::robj::symbol(&key))
                            .or_else(|| h.get(&Value::str(key.as_str())))
                            .cloned()
                            .ok_or_else(|| self.err(format!("key<{key}> not found")))?;
                        i = end + 1;
                        if close == '}' {
                            out.push_str(&to_s(&v));
                            named = None;
                            flags.push('}');
                            break;
                        }
                        named = Some(v);
                    }
                    _ => break,
                }
            }
            if flags.ends_with('}') {
                continue;
            }
            if cs.get(i) == Some(&'*') {
                i += 1;
                let w = self.int_arg(args.get(ai).ok_or_else(|| too_few(self))?)?;
                ai += 1;
                if w < 0 {
                    flags.push('-');
                }
                width = Some(w.unsigned_abs() as usize);
            } else {
                let s = i;
                while i < cs.len() && cs[i].is_ascii_digit() {
                    i += 1;
                }
                if i > s {
                    let w: String = cs[s..i].iter().collect();
                    width = Some(w.parse().map_err(|_| self.err("width too big"))?);
                }
            }
            if cs.get(i) == Some(&'.') {
                i += 1;
                let s = i;
                while i < cs.len() && cs[i].is_ascii_digit() {
                    i += 1;
                }
                let p: String = cs[s..i].iter().collect();
                prec = Some(p.parse().unwrap_or(0));
            }
            let Some(&conv) = cs.get(i) else {
                return Err(self.err("incomplete format specifier; use %% (double %) instead"));
            };
            i += 1;
            if conv == '%' {
                out.push('%');
                continue;
            }
            troupe_values::limits::reserve(width.unwrap_or(0) as u64 + prec.unwrap_or(0) as u64)?;
            let arg = match named.take() {
                Some(v) => v,
                None if hash.is_some()
                    && "sdifgeExXobBcp".contains(conv)
                    && args.len() == 1
                    && ai == 0 =>
                {
                    ai += 1;
                    args[0].clone()
                }
                None => {
                    let v = args.get(ai).cloned().ok_or_else(|| too_few(self))?;
                    ai += 1;
                    v
                }
            };
            let plus = flags.contains('+');
            let space = flags.contains(' ');
            let sign = |neg: bool| {
                if neg {
                    "-"
                } else if plus {
                    "+"
                } else if space {
                    " "
                } else {
                    ""
                }
            };
            let (prefix, body, numeric) =
                match conv {
                    's' => {
                        let s = to_s(&arg);
                        (
                            String::new(),
                            match prec {
                                Some(p) => s.chars().take(p).collect(),
                                None => s,
                            },
                            false,
                        )
                    }
                    'p' => {
                        let s = inspect(&arg);
                        (
                            String::new(),
                            match prec {
                                Some(p) => s.chars().take(p).collect(),
                                None => s,
                            },
                            false,
                        )
                    }
                    'c' => {
                        let c = match &arg {
                            Value::Int(n) => char::from_u32(*n as u32)
                                .map(String::from)
                                .unwrap_or_default(),
                            Value::Str(t) if t.chars().count() == 1 => t.to_string(),
                            _ => {
                                return Err(self
                                    .err(format!("{}%c requires a character", super::RUBY_ERROR)))
                            }
                        };
                        (String::new(), c, false)
                    }
                    'd' | 'i' | 'u' => {
                        let n = self.int_arg(&arg)?;
                        let mut digits = n.unsigned_abs().to_string();
                        if let Some(p) = prec {
                            while digits.len() < p {
                                digits.insert(0, '0');
                            }
                        }
                        (sign(n < 0).to_string(), digits, true)
                    }
                    'x' | 'X' | 'o' | 'b' | 'B' => {
                        let n = self.int_arg(&arg)?;
                        if n < 0 && !plus && !space {
                            return Err(self
                                .unsupported("sprintf of a negative number in two's complement"));
                        }
                        let m = n.unsigned_abs();
                        let digits = match conv {
                            'x' => format!("{m:x}"),
                            'X' => format!("{m:X}"),
                            'o' => format!("{m:o}"),
                            _ => format!("{m:b}"),
                        };
                        let alt = if flags.contains('#') && m != 0 {
                            match conv {
                                'x' => "0x",
                                'X' => "0X",
                                'o' => "0",
                                'b' => "0b",
                                _ => "0B",
                            }
                        } else {
                            ""
                        };
                        (format!("{}{alt}", sign(n < 0)), digits, true)
                    }
                    'f' | 'e' | 'E' | 'g' | 'G' => {
                        let x = self.float_arg(&arg)?;
                        if !x.is_finite() {
                            let t = if x.is_nan() { "NaN" } else { "Inf" };
                            (sign(x < 0.0).to_string(), t.to_string(), false)
                        } else {
                            let p = prec.unwrap_or(6);
                            let body = match conv {
                                'f' => format!("{:.p$}", x.abs()),
                                'e' | 'E' => fmt_e(x.abs(), p, conv == 'E'),
                                _ => fmt_g(x.abs(), p, flags.contains('#'), conv == 'G'),
                            };
                            (
                                sign(
                                    x.is_sign_negative() && x != 0.0
                                        || (x == 0.0 && x.is_sign_negative()),
                                )
                                .to_string(),
                                body,
                                true,
                            )
                        }
                    }
                    other => {
                        return Err(self.err(format!("malformed format string - %{other}")));
                    }
                };
            let len = prefix.chars().count() + body.chars().count();
            let w = width.unwrap_or(0);
            if len >= w {
                out.push_str(&prefix);
                out.push_str(&body);
            } else if flags.contains('-') {
                out.push_str(&prefix);
                out.push_str(&body);
                out.push_str(&" ".repeat(w - len));
            } else if flags.contains('0') && numeric && !(prec.is_some() && "diu".contains(conv)) {
                out.push_str(&prefix);
                out.push_str(&"0".repeat(w - len));
                out.push_str(&body);
            } else {
                out.push_str(&" ".repeat(w - len));
                out.push_str(&prefix);
                out.push_str(&body);
            }
        }
        Ok(out)
    }
}
