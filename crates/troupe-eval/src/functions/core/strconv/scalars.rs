//! Scalars under a format: undef, default, booleans, integers, floats, strings, regexps,
//! types, and the values Puppet formats with Ruby's `Kernel#format` directly.

use super::quote::{puppet_quote, regexp_inspect};
use super::spec::{format_error, Fmt};
use troupe_ruby::format::sprintf;
use troupe_values::error::{EResult, EvalError};
use troupe_values::value::{format_float, Value};

/// Ruby's `Kernel.format(fmt, arg)`.
pub fn kformat(fmt: &str, arg: Value) -> EResult<String> {
    sprintf(fmt, &[arg])
}

/// `apply_string_flags`: the width, precision and left-justification of `f` applied to an
/// already converted text.
pub fn apply_string_flags(f: &Fmt, s: String) -> EResult<String> {
    if !f.left && f.width.is_none() && f.prec.is_none() {
        return Ok(s);
    }
    let mut fmt = String::from("%");
    if f.left {
        fmt.push('-');
    }
    if let Some(w) = &f.width {
        fmt.push_str(w);
    }
    if let Some(p) = &f.prec {
        fmt.push('.');
        fmt.push_str(p);
    }
    fmt.push('s');
    kformat(&fmt, Value::str(s))
}

pub fn undef(f: &Fmt) -> EResult<String> {
    let s = match f.conv {
        'n' => pick(f.alt, "null", "nil"),
        'u' => pick(f.alt, "undefined", "undef"),
        'd' | 'x' | 'X' | 'o' | 'b' | 'B' | 'e' | 'E' | 'f' | 'g' | 'G' | 'a' | 'A' => "NaN",
        'v' => "n/a",
        'V' => "N/A",
        's' => pick(f.alt, "\"\"", ""),
        'p' => pick(f.alt, "\"undef\"", "undef"),
        c => return Err(format_error("Undef", c, "nudxXobBeEfgGaAvVsp")),
    };
    apply_string_flags(f, s.to_string())
}

fn pick(alt: bool, yes: &'static str, no: &'static str) -> &'static str {
    if alt {
        yes
    } else {
        no
    }
}

pub fn default(f: &Fmt) -> EResult<String> {
    let s = match f.conv {
        'd' | 's' | 'p' => pick(f.alt, "\"default\"", "default"),
        'D' => pick(f.alt, "\"Default\"", "Default"),
        c => return Err(format_error("Default", c, "dDsp")),
    };
    apply_string_flags(f, s.to_string())
}

fn first_or_all(f: &Fmt, s: &str) -> EResult<String> {
    let s = if f.alt { &s[..1] } else { s };
    apply_string_flags(f, s.to_string())
}

pub fn boolean(f: &Fmt, b: bool) -> EResult<String> {
    match f.conv {
        't' => first_or_all(f, if b { "true" } else { "false" }),
        'T' => first_or_all(f, if b { "True" } else { "False" }),
        'y' => first_or_all(f, if b { "yes" } else { "no" }),
        'Y' => first_or_all(f, if b { "Yes" } else { "No" }),
        'd' | 'x' | 'X' | 'o' | 'b' | 'B' => integer(f, i64::from(b)),
        'e' | 'E' | 'f' | 'g' | 'G' | 'a' | 'A' => float(f, if b { 1.0 } else { 0.0 }),
        's' | 'p' => apply_string_flags(f, b.to_string()),
        c => Err(format_error("Boolean", c, "tTyYdxXobBeEfgGaAsp")),
    }
}

pub fn integer(f: &Fmt, i: i64) -> EResult<String> {
    match f.conv {
        'd' | 'x' | 'X' | 'o' | 'b' | 'B' | 'p' => kformat(&f.orig, Value::Int(i)),
        'e' | 'E' | 'f' | 'g' | 'G' | 'a' | 'A' => kformat(&f.orig, Value::Float(i as f64)),
        'c' => {
            let c = u32::try_from(i)
                .ok()
                .and_then(char::from_u32)
                .ok_or_else(|| EvalError::new("pack(U): value out of range"))?;
            let s = if f.alt {
                format!("\"{c}\"")
            } else {
                c.to_string()
            };
            kformat(&f.orig_with('c', 's'), Value::str(s))
        }
        's' => {
            let to = if f.alt { 'p' } else { 's' };
            kformat(&f.orig_with('s', to), Value::str(i.to_string()))
        }
        c => Err(format_error("Integer", c, "dxXobBeEfgGaAspc")),
    }
}

pub fn float(f: &Fmt, x: f64) -> EResult<String> {
    match f.conv {
        'd' | 'x' | 'X' | 'o' | 'b' | 'B' => {
            if !x.is_finite() {
                return Err(EvalError::new(format_float(x)));
            }
            kformat(&f.orig, Value::Int(x.trunc() as i64))
        }
        'e' | 'E' | 'f' | 'g' | 'G' | 'a' | 'A' | 'p' => kformat(&f.orig, Value::Float(x)),
        's' => {
            let s = format_float(x);
            let s = if f.alt { format!("\"{s}\"") } else { s };
            kformat(&f.orig, Value::str(s))
        }
        c => Err(format_error("Float", c, "dxXobBeEfgGaAsp")),
    }
}

/// Ruby's `String#capitalize`: the first character upcased, the rest downcased.
fn capitalize(s: &str) -> String {
    let mut cs = s.chars();
    match cs.next() {
        Some(c) => c
            .to_uppercase()
            .chain(cs.as_str().to_lowercase().chars())
            .collect(),
        None => String::new(),
    }
}

/// Ruby's `String#strip`: ASCII whitespace and NUL at both ends.
fn strip(s: &str) -> &str {
    s.trim_matches(super::RUBY_SPACE)
}

pub fn string(f: &Fmt, s: &str) -> EResult<String> {
    let changed = match f.conv {
        's' => return kformat(&f.orig, Value::str(s)),
        'p' => return apply_string_flags(f, puppet_quote(s, f.alt)),
        'c' => capitalize(s),
        'C' => {
            // Ruby's `split('::')` drops trailing empty segments.
            let mut parts: Vec<&str> = s.split("::").collect();
            while parts.last().is_some_and(|p| p.is_empty()) {
                parts.pop();
            }
            parts
                .iter()
                .map(|p| capitalize(p))
                .collect::<Vec<_>>()
                .join("::")
        }
        'u' => s.to_uppercase(),
        'd' => s.to_lowercase(),
        't' => strip(s).to_string(),
        c => return Err(format_error("String", c, "cCudspt")),
    };
    if f.alt {
        apply_string_flags(f, puppet_quote(&changed, false))
    } else {
        kformat(&f.orig_with(f.conv, 's'), Value::str(changed))
    }
}

pub fn regexp(f: &Fmt, source: &str) -> EResult<String> {
    match f.conv {
        'p' => {
            let s = regexp_inspect(source);
            if f.orig == "%p" {
                Ok(s)
            } else {
                kformat(&f.orig_with('p', 's'), Value::str(s))
            }
        }
        's' => {
            let s = if f.alt {
                puppet_quote(source, false)
            } else {
                source.to_string()
            };
            if f.orig == "%s" {
                Ok(s)
            } else {
                kformat(&f.orig, Value::str(s))
            }
        }
        c => Err(format_error("Regexp", c, "sp")),
    }
}

/// A type value; `text` is its string form.
pub fn type_value(f: &Fmt, text: String) -> EResult<String> {
    match f.conv {
        's' => {
            let s = if f.alt { format!("\"{text}\"") } else { text };
            kformat(&f.orig, Value::str(s))
        }
        'p' => kformat(&f.orig_with('p', 's'), Value::str(text)),
        c => Err(format_error("Type", c, "sp")),
    }
}

/// The values Puppet hands to `Kernel#format` as they are (time, versions, sensitive,
/// deferred): their string form under the format, `%p` and `%s` alike.
pub fn other(f: &Fmt, v: &Value) -> EResult<String> {
    let text = match v {
        Value::Sensitive(_) if f.conv == 'p' => "#<Sensitive [value redacted]>".to_string(),
        other => other.to_display(),
    };
    if f.orig == "%s" || f.orig == "%p" {
        return Ok(text);
    }
    let fmt = if f.conv == 'p' {
        f.orig_with('p', 's')
    } else {
        f.orig.clone()
    };
    kformat(&fmt, Value::str(text))
}
