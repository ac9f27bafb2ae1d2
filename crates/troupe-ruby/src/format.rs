//! Ruby's `Kernel#sprintf` (Puppet's `sprintf` function and ERB's `%` on strings).

use troupe_values::error::{EResult, EvalError};
use troupe_values::number::parse_number;
use troupe_values::value::format_float;
use troupe_values::value::Value;

pub fn take_digits(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> String {
    let mut out = String::new();
    while let Some(&d) = chars.peek().filter(|c| c.is_ascii_digit()) {
        out.push(d);
        chars.next();
    }
    out
}
/// `sprintf` with Ruby's common directives.
pub fn sprintf(f: &str, args: &[Value]) -> EResult<String> {
    let mut out = String::new();
    let mut chars = f.chars().peekable();
    let mut ai = 0;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            out.push('%');
            continue;
        }
        let mut flags = String::new();
        while let Some(&p) = chars.peek() {
            if "-+ 0#".contains(p) {
                flags.push(p);
                chars.next();
            } else {
                break;
            }
        }
        let width = take_digits(&mut chars);
        let mut prec: Option<usize> = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let digits = take_digits(&mut chars);
            // Ruby refuses what does not fit a C int; padding is asked of the budget first.
            prec = Some(match digits.parse::<i32>() {
                Ok(p) => p as usize,
                Err(_) if digits.is_empty() => 0,
                Err(_) => return Err(EvalError::new("precision too big")),
            });
        }
        if !width.is_empty() && width.parse::<i32>().is_err() {
            return Err(EvalError::new("width too big"));
        }
        troupe_values::limits::reserve(
            width.parse::<u64>().unwrap_or(0) + prec.unwrap_or(0) as u64,
        )?;
        let conv = chars.next().unwrap_or('s');
        let arg = args.get(ai).cloned().unwrap_or(Value::Undef);
        ai += 1;
        let num = |v: &Value| -> EResult<Value> {
            match v {
                Value::Int(_) | Value::Float(_) => Ok(v.clone()),
                Value::Str(s) => parse_number(s)
                    .ok_or_else(|| EvalError::new(format!("invalid value for Integer(): \"{s}\""))),
                Value::Undef => Ok(Value::Int(0)),
                _ => Ok(Value::Int(0)),
            }
        };
        let body = match conv {
            's' => {
                let s = arg.to_display();
                match prec {
                    Some(p) => s.chars().take(p).collect(),
                    None => s,
                }
            }
            'p' => arg.to_display_q(),
            'd' | 'i' | 'u' => match num(&arg)? {
                Value::Int(i) => {
                    if flags.contains('+') && i >= 0 {
                        format!("+{i}")
                    } else {
                        i.to_string()
                    }
                }
                Value::Float(f) => (f.floor() as i64).to_string(),
                _ => String::new(),
            },
            'x' | 'X' | 'o' | 'b' | 'B' => {
                let i = match num(&arg)? {
                    Value::Int(i) => i,
                    Value::Float(f) => f as i64,
                    _ => 0,
                };
                let s = match conv {
                    'x' => format!("{i:x}"),
                    'X' => format!("{i:X}"),
                    'o' => format!("{i:o}"),
                    _ => format!("{i:b}"),
                };
                if flags.contains('#') {
                    match conv {
                        'x' => format!("0x{s}"),
                        'X' => format!("0X{s}"),
                        'o' => format!("0{s}"),
                        _ => format!("0b{s}"),
                    }
                } else {
                    s
                }
            }
            'f' | 'e' | 'E' | 'g' | 'G' => {
                let x = troupe_values::number::as_f64(&num(&arg)?);
                let p = prec.unwrap_or(6);
                match conv {
                    'f' => format!("{x:.p$}"),
                    'e' | 'E' => {
                        let s = format!("{x:.p$e}");
                        let (m, ex) = s.split_once('e').unwrap_or((&s, "0"));
                        let exn: i32 = ex.parse().unwrap_or(0);
                        let r = format!("{m}e{}{:02}", if exn < 0 { '-' } else { '+' }, exn.abs());
                        if conv == 'E' {
                            r.to_uppercase()
                        } else {
                            r
                        }
                    }
                    _ => format_float(x),
                }
            }
            'c' => match &arg {
                Value::Int(i) => char::from_u32(*i as u32)
                    .map(|c| c.to_string())
                    .unwrap_or_default(),
                other => other
                    .to_display()
                    .chars()
                    .next()
                    .map(|c| c.to_string())
                    .unwrap_or_default(),
            },
            other => {
                return Err(EvalError::new(format!(
                    "malformed format string - %{other}"
                )))
            }
        };
        let w: usize = width.parse().unwrap_or(0);
        if body.chars().count() < w {
            let pad = w - body.chars().count();
            if flags.contains('-') {
                out.push_str(&body);
                out.push_str(&" ".repeat(pad));
            } else if flags.contains('0') && "dixXobfeE".contains(conv) {
                let (sign, digits) = if body.starts_with('-') || body.starts_with('+') {
                    body.split_at(1)
                } else {
                    ("", body.as_str())
                };
                out.push_str(sign);
                out.push_str(&"0".repeat(pad));
                out.push_str(digits);
            } else {
                out.push_str(&" ".repeat(pad));
                out.push_str(&body);
            }
        } else {
            out.push_str(&body);
        }
    }
    Ok(out)
}
