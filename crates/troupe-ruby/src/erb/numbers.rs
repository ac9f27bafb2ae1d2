//! Methods on Integers and Floats.

use super::parse::Block;
use super::robj::to_s;
use super::Ctx;
use troupe_values::error::EResult;
use troupe_values::value::Value;

/// Ruby's `Float#round(n)`: half away from zero.
fn round_to(f: f64, digits: i64) -> f64 {
    let m = 10f64.powi(digits.clamp(0, 300) as i32);
    (f * m).round() / m
}

impl Ctx<'_> {
    pub(super) fn num_method(
        &mut self,
        r: &Value,
        name: &str,
        args: Vec<Value>,
        blk: Option<&Block>,
    ) -> EResult<Value> {
        let int = |v: Option<&Value>| match v {
            Some(Value::Int(i)) => Some(*i),
            _ => None,
        };
        if let Value::Int(i) = r {
            let i = *i;
            let v = match (name, args.as_slice()) {
                ("to_i" | "to_int" | "floor" | "ceil" | "round" | "truncate" | "ord", []) => {
                    Some(r.clone())
                }
                ("to_s" | "inspect", []) => Some(Value::str(i.to_string())),
                ("to_s", [Value::Int(b)]) if (2..=36).contains(b) => {
                    let mut n = i.unsigned_abs();
                    let mut digits = Vec::new();
                    loop {
                        digits.push(
                            std::char::from_digit((n % *b as u64) as u32, *b as u32).unwrap_or('0'),
                        );
                        n /= *b as u64;
                        if n == 0 {
                            break;
                        }
                    }
                    if i < 0 {
                        digits.push('-');
                    }
                    Some(Value::str(digits.iter().rev().collect::<String>()))
                }
                ("to_f", []) => Some(Value::Float(i as f64)),
                ("abs" | "magnitude", []) => Some(Value::Int(i.wrapping_abs())),
                ("zero?", []) => Some(Value::Bool(i == 0)),
                ("positive?", []) => Some(Value::Bool(i > 0)),
                ("negative?", []) => Some(Value::Bool(i < 0)),
                ("even?", []) => Some(Value::Bool(i % 2 == 0)),
                ("odd?", []) => Some(Value::Bool(i % 2 != 0)),
                ("integer?", []) => Some(Value::Bool(true)),
                ("succ" | "next", []) => Some(Value::Int(i.wrapping_add(1))),
                ("pred", []) => Some(Value::Int(i.wrapping_sub(1))),
                ("chr", []) if (0..128).contains(&i) => {
                    Some(Value::str((i as u8 as char).to_string()))
                }
                ("digits", []) if i >= 0 => Some(Value::array(
                    i.to_string()
                        .chars()
                        .rev()
                        .map(|c| Value::Int(c as i64 - '0' as i64))
                        .collect(),
                )),
                ("times", []) => {
                    let Some(b) = blk else {
                        return Err(self.unsupported("Integer#times without a block"));
                    };
                    for k in 0..i {
                        self.call_block(b, vec![Value::Int(k)])?;
                    }
                    Some(r.clone())
                }
                ("upto" | "downto", [Value::Int(e)]) => {
                    let Some(b) = blk else {
                        return Err(self.unsupported(format!("Integer#{name} without a block")));
                    };
                    if name == "upto" {
                        for k in i..=*e {
                            self.call_block(b, vec![Value::Int(k)])?;
                        }
                    } else {
                        let mut k = i;
                        while k >= *e {
                            self.call_block(b, vec![Value::Int(k)])?;
                            k -= 1;
                        }
                    }
                    Some(r.clone())
                }
                ("step", [Value::Int(e), Value::Int(st)]) if *st > 0 => {
                    let Some(b) = blk else {
                        return Err(self.unsupported("Integer#step without a block"));
                    };
                    let mut k = i;
                    while k <= *e {
                        self.call_block(b, vec![Value::Int(k)])?;
                        k += st;
                    }
                    Some(r.clone())
                }
                ("divmod", [Value::Int(d)]) if *d != 0 => Some(Value::array(vec![
                    Value::Int(
                        i.div_euclid(*d)
                            - if (i.rem_euclid(*d) != 0) && (*d < 0) {
                                1
                            } else {
                                0
                            },
                    ),
                    Value::Int(
                        i - d
                            * (i.div_euclid(*d)
                                - if (i.rem_euclid(*d) != 0) && (*d < 0) {
                                    1
                                } else {
                                    0
                                }),
                    ),
                ])),
                _ => None,
            };
            if let Some(v) = v {
                return Ok(v);
            }
        }
        if let Value::Float(f) = r {
            let f = *f;
            let v = match (name, args.as_slice()) {
                ("to_i" | "to_int" | "truncate", []) if f.is_finite() => {
                    Some(Value::Int(f.trunc() as i64))
                }
                ("floor", []) if f.is_finite() => Some(Value::Int(f.floor() as i64)),
                ("ceil", []) if f.is_finite() => Some(Value::Int(f.ceil() as i64)),
                ("round", []) if f.is_finite() => Some(Value::Int(f.round() as i64)),
                ("round", [Value::Int(d)]) if f.is_finite() && *d > 0 => {
                    Some(Value::Float(round_to(f, *d)))
                }
                ("to_f", []) => Some(r.clone()),
                ("to_s" | "inspect", []) => Some(Value::str(to_s(r))),
                ("abs" | "magnitude", []) => Some(Value::Float(f.abs())),
                ("nan?", []) => Some(Value::Bool(f.is_nan())),
                ("infinite?", []) => Some(if f.is_infinite() {
                    Value::Int(if f > 0.0 { 1 } else { -1 })
                } else {
                    Value::Undef
                }),
                ("finite?", []) => Some(Value::Bool(f.is_finite())),
                ("zero?", []) => Some(Value::Bool(f == 0.0)),
                ("positive?", []) => Some(Value::Bool(f > 0.0)),
                ("negative?", []) => Some(Value::Bool(f < 0.0)),
                ("integer?", []) => Some(Value::Bool(false)),
                _ => None,
            };
            if let Some(v) = v {
                return Ok(v);
            }
        }
        match (name, args.as_slice()) {
            ("between?", [a, b]) => {
                let lo = self.binop(">=", r.clone(), a.clone())?;
                let hi = self.binop("<=", r.clone(), b.clone())?;
                Ok(Value::Bool(
                    lo == Value::Bool(true) && hi == Value::Bool(true),
                ))
            }
            ("clamp", [a, b]) => {
                if self.binop("<", r.clone(), a.clone())? == Value::Bool(true) {
                    Ok(a.clone())
                } else if self.binop(">", r.clone(), b.clone())? == Value::Bool(true) {
                    Ok(b.clone())
                } else {
                    Ok(r.clone())
                }
            }
            ("+" | "-" | "*" | "/" | "%" | "**" | "<" | ">" | "<=" | ">=" | "<=>" | "==", [o]) => {
                self.binop(name, r.clone(), o.clone())
            }
            ("to_json", []) => self.json_method(r, "to_json", &args),
            _ => {
                let _ = int(args.first());
                Err(self.unsupported(format!(
                    "{}#{name} ({} arguments)",
                    super::robj::class_of(r),
                    args.len()
                )))
            }
        }
    }
}
