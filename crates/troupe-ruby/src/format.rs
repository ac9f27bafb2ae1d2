//! Ruby's `Kernel#format` (Puppet's `sprintf` function and ERB's `%` on strings): flags,
//! widths and precisions (also given by `*`), positional (`%1$s`) and named (`%<name>s`,
//! `%{name}`) references into a hash, and Ruby's errors.

use crate::object::{inspect, ruby_to_s};
use troupe_values::error::{EResult, EvalError};
use troupe_values::value::Value;

pub fn take_digits(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> String {
    let mut out = String::new();
    while let Some(&d) = chars.peek().filter(|c| c.is_ascii_digit()) {
        out.push(d);
        chars.next();
    }
    out
}

fn err(msg: impl Into<String>) -> EvalError {
    EvalError::new(msg)
}

/// One directive's flags, width and precision.
#[derive(Default)]
struct Spec {
    minus: bool,
    plus: bool,
    space: bool,
    zero: bool,
    sharp: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// Where the arguments come from.
struct Args<'a> {
    list: &'a [Value],
    next: usize,
}
impl Args<'_> {
    fn seq(&mut self) -> EResult<Value> {
        let v = self
            .list
            .get(self.next)
            .cloned()
            .ok_or_else(|| err("too few arguments"))?;
        self.next += 1;
        Ok(v)
    }
    fn nth(&self, n: usize) -> EResult<Value> {
        if n == 0 {
            return Err(err("invalid index - 0$"));
        }
        self.list
            .get(n - 1)
            .cloned()
            .ok_or_else(|| err("too few arguments"))
    }
    fn named(&self, name: &str, open: char, close: char) -> EResult<Value> {
        let h = match self.list {
            [Value::Hash(h)] => h,
            _ => return Err(err("one hash required")),
        };
        h.get(&Value::str(name))
            .cloned()
            .ok_or_else(|| err(format!("key{open}{name}{close} not found")))
    }
}

fn c_int(digits: &str, what: &str) -> EResult<usize> {
    let n = digits
        .parse::<i32>()
        .map_err(|_| err(format!("{what} too big")))?;
    if what == "width" {
        reserve_text(n as usize)?;
    }
    Ok(n as usize)
}

/// Ruby allocates whatever width or numeric precision fits a C int (a gigabyte of
/// padding or zeros); here the text and the copy the caller keeps are first asked of the
/// compile's memory limit.
fn reserve_text(n: usize) -> EResult<()> {
    troupe_values::limits::reserve((n as u64).saturating_mul(2))
}

fn int_arg(v: &Value) -> EResult<i64> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Float(f) if f.is_finite() => Ok(f.trunc() as i64),
        Value::Float(f) => Err(err(troupe_values::value::format_float(*f).to_string())),
        Value::Str(s) => ruby_integer(s)
            .ok_or_else(|| err(format!("invalid value for Integer(): {}", inspect(v)))),
        Value::Bool(_) | Value::Undef => Err(err(format!(
            "can't convert {} into Integer",
            nil_or_class(v)
        ))),
        other => Err(err(format!(
            "can't convert {} into Integer",
            crate::object::ruby_class(other)
        ))),
    }
}
fn float_arg(v: &Value) -> EResult<f64> {
    match v {
        Value::Int(i) => Ok(*i as f64),
        Value::Float(f) => Ok(*f),
        Value::Str(s) => {
            ruby_float(s).ok_or_else(|| err(format!("invalid value for Float(): {}", inspect(v))))
        }
        Value::Bool(_) | Value::Undef => {
            Err(err(format!("can't convert {} into Float", nil_or_class(v))))
        }
        other => Err(err(format!(
            "can't convert {} into Float",
            crate::object::ruby_class(other)
        ))),
    }
}
fn nil_or_class(v: &Value) -> &'static str {
    match v {
        Value::Undef => "nil",
        Value::Bool(true) => "true",
        _ => "false",
    }
}

/// Ruby's strict `Integer("...")`: sign, then decimal, `0x`, `0b`, `0o` or leading-0 octal,
/// underscores between digits, blanks around.
fn ruby_integer(s: &str) -> Option<i64> {
    let t = s.trim();
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let lower = body.to_ascii_lowercase();
    let (digits, radix) = if let Some(h) = lower.strip_prefix("0x") {
        (h, 16)
    } else if let Some(b) = lower.strip_prefix("0b") {
        (b, 2)
    } else if let Some(o) = lower.strip_prefix("0o") {
        (o, 8)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (&lower[1..], 8)
    } else {
        (lower.as_str(), 10)
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    let v = i64::from_str_radix(&clean, radix).ok()?;
    Some(if neg { -v } else { v })
}
/// Ruby's strict `Float("...")`.
fn ruby_float(s: &str) -> Option<f64> {
    let t = s.trim();
    if let Some(i) = ruby_integer(t).filter(|_| t.to_ascii_lowercase().contains("0x")) {
        return Some(i as f64);
    }
    let ok = !t.is_empty()
        && t.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+' | '_'))
        && !t.ends_with('.')
        && !t.starts_with('.');
    if !ok {
        return None;
    }
    t.replace('_', "").parse::<f64>().ok()
}

/// Digits of a negative number as Ruby shows them without a sign flag: the two's complement
/// with its infinite leading run of the highest digit cut to one (`..f01` for -255 in hex).
fn twos_complement(i: i64, radix: u32) -> String {
    let bits = match radix {
        16 => 4,
        8 => 3,
        _ => 1,
    };
    let top = std::char::from_digit(radix - 1, radix).unwrap_or('1');
    let mut digits = Vec::new();
    let mut n = i as i128;
    // Enough digits to cover 64 bits plus the sign.
    for _ in 0..(66 / bits + 1) {
        let d = (n & ((1 << bits) - 1)) as u32;
        digits.push(std::char::from_digit(d, radix).unwrap_or('0'));
        n >>= bits;
    }
    let s: String = digits.iter().rev().collect();
    let trimmed = s.trim_start_matches(top);
    format!("{top}{trimmed}")
}

fn sign_of(neg: bool, spec: &Spec) -> &'static str {
    if neg {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    }
}

/// Pads `prefix` (sign, radix marker) and `body` to the width: left-justified, zero-filled
/// between prefix and body, or right-justified.
fn pad(spec: &Spec, prefix: &str, body: &str, zero_ok: bool) -> String {
    let len = prefix.chars().count() + body.chars().count();
    let w = spec.width.unwrap_or(0);
    if len >= w {
        return format!("{prefix}{body}");
    }
    let fill = w - len;
    // One allocation of the padded size: widths come from the manifest.
    let mut out = String::with_capacity(prefix.len() + body.len() + fill);
    let repeat = |out: &mut String, c: char| out.extend(std::iter::repeat_n(c, fill));
    if spec.minus {
        out.push_str(prefix);
        out.push_str(body);
        repeat(&mut out, ' ');
    } else if spec.zero && zero_ok {
        out.push_str(prefix);
        repeat(&mut out, '0');
        out.push_str(body);
    } else {
        repeat(&mut out, ' ');
        out.push_str(prefix);
        out.push_str(body);
    }
    out
}

fn format_int(conv: char, i: i64, spec: &Spec) -> String {
    let radix = match conv {
        'x' | 'X' => 16,
        'o' => 8,
        'b' | 'B' => 2,
        _ => 10,
    };
    let signed = spec.plus || spec.space || radix == 10;
    let (neg, mut digits) = if i < 0 && !signed {
        (false, format!("..{}", twos_complement(i, radix)))
    } else {
        let m = i.unsigned_abs();
        let d = match radix {
            16 => format!("{m:x}"),
            8 => format!("{m:o}"),
            2 => format!("{m:b}"),
            _ => m.to_string(),
        };
        (i < 0, d)
    };
    if conv == 'X' {
        digits = digits.to_uppercase();
    }
    if let Some(p) = spec.prec {
        let n = digits.chars().count();
        if n < p {
            digits = format!("{}{digits}", "0".repeat(p - n));
        }
    }
    let marker = if spec.sharp && i != 0 {
        match conv {
            'x' => "0x",
            'X' => "0X",
            'b' => "0b",
            'B' => "0B",
            'o' if !digits.starts_with('0') => "0",
            _ => "",
        }
    } else {
        ""
    };
    let prefix = format!("{}{marker}", sign_of(neg, spec));
    pad(spec, &prefix, &digits, spec.prec.is_none())
}

/// `%e` digits: mantissa with `p` decimals, exponent signed with at least two digits.
fn exp_form(x: f64, p: usize, upper: bool) -> String {
    let s = format!("{x:.p$e}");
    let (m, ex) = s.split_once('e').unwrap_or((&s, "0"));
    let exn: i32 = ex.parse().unwrap_or(0);
    let e = if upper { 'E' } else { 'e' };
    format!("{m}{e}{}{:02}", if exn < 0 { '-' } else { '+' }, exn.abs())
}

fn format_float(conv: char, x: f64, spec: &Spec) -> String {
    let neg = x.is_sign_negative() && x != 0.0 || (x == 0.0 && x.is_sign_negative());
    let a = x.abs();
    if !a.is_finite() {
        let body = if a.is_nan() { "NaN" } else { "Inf" };
        return pad(spec, sign_of(neg, spec), body, false);
    }
    let p = spec.prec.unwrap_or(6);
    let body = match conv {
        'f' => {
            let s = format!("{a:.p$}");
            if spec.sharp && p == 0 {
                format!("{s}.")
            } else {
                s
            }
        }
        'e' | 'E' => exp_form(a, p, conv == 'E'),
        'a' | 'A' => {
            // The `0x` goes with the sign: zero padding comes after it.
            let body = hex_float(a, spec.prec, spec.sharp);
            let (marker, body) = if conv == 'A' {
                ("0X", body.to_uppercase())
            } else {
                ("0x", body)
            };
            let prefix = format!("{}{marker}", sign_of(neg, spec));
            return pad(spec, &prefix, &body, true);
        }
        _ => {
            // %g: %e when the exponent is below -4 or not below the precision, else %f;
            // trailing zeros go unless `#`.
            let p = if p == 0 { 1 } else { p };
            let e_s = exp_form(a, p - 1, conv == 'G');
            let exp: i32 = e_s
                .rsplit(['e', 'E'])
                .next()
                .and_then(|x| x.parse().ok())
                .unwrap_or(0);
            let s = if exp < -4 || exp >= p as i32 {
                e_s
            } else {
                let d = (p as i32 - 1 - exp).max(0) as usize;
                format!("{a:.d$}")
            };
            if spec.sharp {
                s
            } else {
                strip_zeros(&s)
            }
        }
    };
    pad(spec, sign_of(neg, spec), &body, true)
}
fn strip_zeros(s: &str) -> String {
    let (m, e) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    };
    let m = if m.contains('.') {
        m.trim_end_matches('0').trim_end_matches('.')
    } else {
        m
    };
    format!("{m}{e}")
}
/// `%a` after its `0x`: the mantissa in hex (normalized, subnormals too), rounded half to
/// even to `prec` hex digits when given, and the binary exponent.
fn hex_float(a: f64, prec: Option<usize>, sharp: bool) -> String {
    let point = |digits: &str| {
        if digits.is_empty() && !sharp {
            String::new()
        } else {
            format!(".{digits}")
        }
    };
    if a == 0.0 {
        let zeros = "0".repeat(prec.unwrap_or(0));
        return format!("0{}p+0", point(&zeros));
    }
    let bits = a.to_bits();
    let mut exp = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut frac = bits & ((1u64 << 52) - 1);
    if exp == -1023 {
        // Subnormal: shift the first set bit up to the implicit one.
        let shift = frac.leading_zeros() as i64 - 11;
        frac = (frac << shift) & ((1u64 << 52) - 1);
        exp = -1022 - shift;
    }
    let digits = match prec {
        None => {
            let mut f = format!("{frac:013x}");
            while f.ends_with('0') {
                f.pop();
            }
            f
        }
        Some(p) if p >= 13 => format!("{frac:013x}{}", "0".repeat(p - 13)),
        Some(p) => {
            let shift = (13 - p) * 4;
            let full = (1u64 << 52) | frac;
            let mut q = full >> shift;
            let rem = full & ((1u64 << shift) - 1);
            let half = 1u64 << (shift - 1);
            if rem > half || (rem == half && q & 1 == 1) {
                q += 1;
            }
            if q >> (p * 4) >= 2 {
                // Rounded up to 2.000: renormalized to 1.000 with the next exponent.
                q >>= 1;
                exp += 1;
            }
            let low = q & ((1u64 << (p * 4)) - 1);
            if p == 0 {
                String::new()
            } else {
                format!("{low:0p$x}")
            }
        }
    };
    format!(
        "1{}p{}{}",
        point(&digits),
        if exp < 0 { '-' } else { '+' },
        exp.abs()
    )
}

/// `format(f, *args)` as Ruby does it.
pub fn sprintf(f: &str, args: &[Value]) -> EResult<String> {
    let mut out = String::new();
    let mut chars = f.chars().peekable();
    let mut a = Args {
        list: args,
        next: 0,
    };
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        let mut arg: Option<Value> = None;
        let conv = loop {
            let Some(p) = chars.next() else {
                return Err(err(
                    "incomplete format specifier; use %% (double %) instead",
                ));
            };
            match p {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                ' ' => spec.space = true,
                '0' => spec.zero = true,
                '#' => spec.sharp = true,
                '1'..='9' => {
                    let mut d = p.to_string();
                    d.push_str(&take_digits(&mut chars));
                    if chars.peek() == Some(&'$') {
                        chars.next();
                        arg = Some(a.nth(c_int(&d, "width")?)?);
                    } else {
                        spec.width = Some(c_int(&d, "width")?);
                    }
                }
                '<' | '{' => {
                    let close = if p == '<' { '>' } else { '}' };
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some(x) if x == close => break,
                            Some(x) => name.push(x),
                            None => {
                                return Err(err(
                                    "malformed name - unmatched parenthesis".to_string()
                                ))
                            }
                        }
                    }
                    let v = a.named(&name, p, close)?;
                    if p == '{' {
                        break ('s', Some(Value::str(ruby_to_s(&v))));
                    }
                    arg = Some(v);
                }
                '*' => {
                    let w = int_arg(&a.seq()?)?;
                    if w < 0 {
                        spec.minus = true;
                    }
                    spec.width = Some(c_int(&w.unsigned_abs().to_string(), "width")?);
                }
                '.' => {
                    if chars.peek() == Some(&'*') {
                        chars.next();
                        let pr = int_arg(&a.seq()?)?;
                        spec.prec = (pr >= 0).then_some(pr as usize);
                    } else {
                        let d = take_digits(&mut chars);
                        spec.prec = Some(if d.is_empty() {
                            0
                        } else {
                            c_int(&d, "precision")?
                        });
                    }
                }
                '%' => break ('%', None),
                other => break (other, arg.take()),
            }
        };
        let (conv, given) = conv;
        if conv == '%' {
            out.push('%');
            continue;
        }
        if !"csp dixXobBuaAeEfgG".contains(conv) || conv == ' ' {
            return Err(err(format!("malformed format string - %{conv}")));
        }
        let v = match given {
            Some(v) => v,
            None => a.seq()?,
        };
        if let Some(p) = spec.prec.filter(|_| !matches!(conv, 's' | 'p' | 'c')) {
            // Zeros as many as the precision: integer digits, float decimals.
            reserve_text(p)?;
        }
        let piece = match conv {
            's' | 'p' => {
                let s = if conv == 's' {
                    ruby_to_s(&v)
                } else {
                    inspect(&v)
                };
                let s = match spec.prec {
                    Some(p) => s.chars().take(p).collect(),
                    None => s,
                };
                pad(&spec, "", &s, false)
            }
            'c' => {
                let s = match &v {
                    Value::Str(s) => s.chars().next().map(String::from).unwrap_or_default(),
                    other => {
                        let i = int_arg(other)?;
                        u32::try_from(i)
                            .ok()
                            .and_then(char::from_u32)
                            .map(String::from)
                            .ok_or_else(|| err("invalid character".to_string()))?
                    }
                };
                pad(&spec, "", &s, false)
            }
            'd' | 'i' | 'u' | 'x' | 'X' | 'o' | 'b' | 'B' => format_int(conv, int_arg(&v)?, &spec),
            _ => format_float(conv, float_arg(&v)?, &spec),
        };
        out.push_str(&piece);
    }
    Ok(out)
}
