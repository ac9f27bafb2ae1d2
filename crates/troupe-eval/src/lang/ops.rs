//! Operators: arithmetic (also on time values), comparison, `=~`, `in`.

use crate::lang::eval::Evaluator;
use troupe_syntax::ast::{BinOp, Expr};
use troupe_values::error::EResult;
use troupe_values::number::as_f64;
use troupe_values::number::to_n;
use troupe_values::value::a_value;
use troupe_values::value::Value;
impl<'e> Evaluator<'e> {
    pub fn to_number(&self, v: &Value, e: &Expr) -> EResult<Value> {
        match v {
            Value::Int(_) | Value::Float(_) => Ok(v.clone()),
            Value::Str(s) => match to_n(s) {
                Some(n) => Ok(n),
                None => self.err(
                    format!("The value '{s}' cannot be converted to Numeric."),
                    e,
                ),
            },
            _ => self.err(
                format!(
                    "The value '{}' cannot be converted to Numeric.",
                    v.to_display()
                ),
                e,
            ),
        }
    }

    pub(crate) fn binary(&mut self, op: BinOp, lhs: &Expr, rhs: &Expr, e: &Expr) -> EResult<Value> {
        match op {
            BinOp::And => {
                let l = self.eval(lhs)?;
                if !l.truthy() {
                    return Ok(Value::Bool(false));
                }
                return Ok(Value::Bool(self.eval(rhs)?.truthy()));
            }
            BinOp::Or => {
                let l = self.eval(lhs)?;
                if l.truthy() {
                    return Ok(Value::Bool(true));
                }
                return Ok(Value::Bool(self.eval(rhs)?.truthy()));
            }
            _ => {}
        }
        let l = self.eval(lhs)?;
        let r = self.eval(rhs)?;
        self.binop_values(op, l, r, lhs, rhs, e)
    }

    pub fn binop_values(
        &mut self,
        op: BinOp,
        l: Value,
        r: Value,
        lhs: &Expr,
        rhs: &Expr,
        e: &Expr,
    ) -> EResult<Value> {
        match op {
            BinOp::Eq => Ok(Value::Bool(l.puppet_eq(&r))),
            BinOp::Ne => Ok(Value::Bool(!l.puppet_eq(&r))),
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => self.compare(op, &l, &r, e),
            BinOp::Match | BinOp::NotMatch => {
                let m = self.do_match(&l, &r, (lhs, rhs), e)?;
                Ok(Value::Bool(if op == BinOp::Match { m } else { !m }))
            }
            BinOp::In => Ok(Value::Bool(self.in_op(&l, &r)?)),
            BinOp::Add | BinOp::Sub | BinOp::Shl => match self.collection_op(op, &l, &r, lhs, e) {
                Some(out) => out,
                None => self.arith(op, &l, &r, lhs, rhs, e),
            },
            _ => self.arith(op, &l, &r, lhs, rhs, e),
        }
    }

    pub(crate) fn arith(
        &self,
        op: BinOp,
        l: &Value,
        r: &Value,
        lhs: &Expr,
        rhs: &Expr,
        e: &Expr,
    ) -> EResult<Value> {
        if let (Value::Binary(a), BinOp::Add) = (l, op) {
            if let Value::Binary(b) = r {
                return Ok(Value::Binary([&a[..], &b[..]].concat().into()));
            }
        }
        let ln = match l {
            Value::Timestamp(_) | Value::Timespan(_) => l.clone(),
            _ => self.to_number(l, lhs)?,
        };
        let rn = match r {
            Value::Timestamp(_) | Value::Timespan(_) => r.clone(),
            _ => self.to_number(r, rhs)?,
        };
        if matches!(ln, Value::Timestamp(_) | Value::Timespan(_))
            || matches!(rn, Value::Timestamp(_) | Value::Timespan(_))
        {
            return self.time_arith(op, ln, rn, lhs, rhs, e);
        }
        let overflow = |v: i128| -> EResult<Value> {
            if v > i64::MAX as i128 || v < i64::MIN as i128 {
                let s = if v < 0 {
                    format!("-{:#x}", -v)
                } else {
                    format!("+{v:#x}")
                };
                let side = if v < 0 { "min" } else { "max" };
                self.err(format!("A '{}' expression resulted in a value outside of Puppet Integer {side} range, got '{s}'", op.as_str()), e)
            } else {
                Ok(Value::Int(v as i64))
            }
        };
        match (ln, rn) {
            (Value::Int(a), Value::Int(b)) => {
                let (a, b) = (a as i128, b as i128);
                match op {
                    BinOp::Add => overflow(a + b),
                    BinOp::Sub => overflow(a - b),
                    BinOp::Mul => overflow(a.saturating_mul(b)),
                    BinOp::Div => {
                        if b == 0 {
                            return self.err("Division by 0", rhs);
                        }
                        overflow(
                            a.div_euclid(b) - if a.rem_euclid(b) != 0 && b < 0 { 1 } else { 0 },
                        )
                        .and_then(|_| {
                            // Ruby integer division floors.
                            let q = (a as f64 / b as f64).floor() as i128;
                            overflow(q)
                        })
                    }
                    BinOp::Mod => {
                        if b == 0 {
                            return self.err("Division by 0", rhs);
                        }
                        overflow(
                            a.rem_euclid(b) + if b < 0 && a.rem_euclid(b) != 0 { b } else { 0 },
                        )
                    }
                    BinOp::Shl => overflow(if b >= 0 {
                        a.checked_shl(b as u32).unwrap_or(i128::MAX)
                    } else {
                        a >> (-b)
                    }),
                    BinOp::Shr => overflow(if b >= 0 { a >> b.min(127) } else { a << (-b) }),
                    _ => self.err("unsupported operator", e),
                }
            }
            (a, b) => {
                let fa = as_f64(&a);
                let fb = as_f64(&b);
                let v = match op {
                    BinOp::Add => fa + fb,
                    BinOp::Sub => fa - fb,
                    BinOp::Mul => fa * fb,
                    BinOp::Div => {
                        if fb == 0.0 {
                            return self.err("Division by 0", rhs);
                        }
                        fa / fb
                    }
                    BinOp::Mod if matches!(a, Value::Float(_)) => {
                        return self.err("Operator '%' is not applicable to a Float.", lhs)
                    }
                    BinOp::Mod => {
                        return self.err(
                            format!(
                                "Operator '%' is not applicable to {} when right side is {}.",
                                a_value(&a),
                                a_value(&b)
                            ),
                            lhs,
                        )
                    }
                    _ => {
                        return self.err(
                            format!("Operator '{}' is not applicable to a Float.", op.as_str()),
                            lhs,
                        )
                    }
                };
                if v.is_infinite() {
                    return self.err(
                        format!("The result of the {} expression is Infinity", op.as_str()),
                        lhs,
                    );
                }
                Ok(Value::Float(v))
            }
        }
    }

    /// Arithmetic on `Timestamp` and `Timespan` (nanoseconds), after numeric coercion, with
    /// the operand order, errors and locations of Puppet's `calculate`.
    pub(crate) fn time_arith(
        &self,
        op: BinOp,
        mut l: Value,
        mut r: Value,
        lhs: &Expr,
        rhs: &Expr,
        e: &Expr,
    ) -> EResult<Value> {
        use troupe_values::time::{secs_to_nsecs, NS_PER_SEC};
        let is_time = |v: &Value| matches!(v, Value::Timestamp(_) | Value::Timespan(_));
        let not_when = |l: &Value, r: &Value| {
            self.err(
                format!(
                    "Operator '{}' is not applicable to {} when right side is {}.",
                    op.as_str(),
                    a_value(l),
                    a_value(r)
                ),
                lhs,
            )
        };
        if op == BinOp::Mod && (matches!(l, Value::Float(_)) || matches!(r, Value::Float(_))) {
            return not_when(&l, &r);
        }
        if is_time(&r) && !is_time(&l) {
            match (op, &r) {
                (BinOp::Add, _) | (BinOp::Mul, Value::Timespan(_)) => {
                    std::mem::swap(&mut l, &mut r)
                }
                (BinOp::Sub, Value::Timespan(_)) => {
                    l = Value::Timespan(match l {
                        Value::Int(i) => i.saturating_mul(NS_PER_SEC as i64),
                        Value::Float(f) => secs_to_nsecs(f) as i64,
                        _ => 0,
                    })
                }
                _ => return not_when(&l, &r),
            }
        }
        let secs = |v: &Value| -> Option<i128> {
            match v {
                Value::Int(i) => Some(*i as i128 * NS_PER_SEC),
                Value::Float(f) => Some(secs_to_nsecs(*f)),
                _ => None,
            }
        };
        let a_an_uc = |v: &Value| {
            let mut s = a_value(v);
            if let Some(c) = s.get_mut(0..1) {
                c.make_ascii_uppercase();
            }
            s
        };
        // Ruby's ArgumentError from the time classes, reported at the operator.
        let arg_error = |msg: String| {
            self.err(
                format!(
                    "Error while evaluating a '{}' expression, {msg}",
                    op.as_str()
                ),
                e,
            )
        };
        let n_a = || {
            self.err(
                format!(
                    "Operator '{}' is not applicable to {}.",
                    op.as_str(),
                    a_value(&l)
                ),
                lhs,
            )
        };
        let (result, stamp): (i128, bool) = match (&l, op) {
            (Value::Timestamp(a), BinOp::Add) => match &r {
                Value::Timespan(b) => (*a as i128 + *b as i128, true),
                n if secs(n).is_some() => (*a as i128 + secs(n).unwrap_or(0), true),
                _ => return arg_error(format!("{} cannot be added to a Timestamp", a_an_uc(&r))),
            },
            (Value::Timestamp(a), BinOp::Sub) => match &r {
                Value::Timestamp(b) => (*a as i128 - *b as i128, false),
                Value::Timespan(b) => (*a as i128 - *b as i128, true),
                n if secs(n).is_some() => (*a as i128 - secs(n).unwrap_or(0), true),
                _ => {
                    return arg_error(format!(
                        "{} cannot be subtracted from a Timestamp",
                        a_an_uc(&r)
                    ))
                }
            },
            (Value::Timestamp(_), _) => return n_a(),
            (Value::Timespan(a), BinOp::Add) => match &r {
                Value::Timestamp(b) => (*a as i128 + *b as i128, true),
                Value::Timespan(b) => (*a as i128 + *b as i128, false),
                n if secs(n).is_some() => (*a as i128 + secs(n).unwrap_or(0), false),
                _ => return arg_error(format!("{} cannot be added to a Timespan", a_an_uc(&r))),
            },
            (Value::Timespan(a), BinOp::Sub) => match &r {
                Value::Timespan(b) => (*a as i128 - *b as i128, false),
                n if secs(n).is_some() => (*a as i128 - secs(n).unwrap_or(0), false),
                _ => {
                    return arg_error(format!(
                        "{} cannot be subtracted from a Timespan",
                        a_an_uc(&r)
                    ))
                }
            },
            (Value::Timespan(a), BinOp::Mul) => match &r {
                Value::Int(n) => (*a as i128 * *n as i128, false),
                Value::Float(f) => ((*a as f64 * f) as i128, false),
                _ => {
                    return arg_error(format!(
                        "A Timestamp cannot be multiplied by {}",
                        a_value(&r)
                    ))
                }
            },
            (Value::Timespan(a), BinOp::Div) => match &r {
                Value::Timespan(b) => return Ok(Value::Float(*a as f64 / *b as f64)),
                Value::Int(0) => return self.err("Division by 0", rhs),
                Value::Float(f) if *f == 0.0 => return self.err("Division by 0", rhs),
                Value::Int(n) => ((*a as i128).div_euclid(*n as i128), false),
                Value::Float(f) => ((*a as f64 / f).floor() as i128, false),
                _ => return arg_error(format!("A Timespan cannot be divided by {}", a_value(&r))),
            },
            (Value::Timespan(a), BinOp::Mod) => match &r {
                Value::Int(0) => return self.err("Division by 0", rhs),
                Value::Int(n) => {
                    return Ok(Value::Int(a.div_euclid(NS_PER_SEC as i64).rem_euclid(*n)))
                }
                _ => {
                    return arg_error(format!(
                        "Can not do modulus on a Timespan using {}",
                        a_value(&r)
                    ))
                }
            },
            _ => return n_a(),
        };
        match i64::try_from(result) {
            Ok(n) if stamp => Ok(Value::Timestamp(n)),
            Ok(n) => Ok(Value::Timespan(n)),
            Err(_) => self.err(
                format!(
                    "The result of the {} expression is out of range",
                    op.as_str()
                ),
                e,
            ),
        }
    }

    pub(crate) fn compare(&self, op: BinOp, l: &Value, r: &Value, e: &Expr) -> EResult<Value> {
        use std::cmp::Ordering;
        let ord: Ordering = match (l, r) {
            (Value::Timestamp(a), Value::Timestamp(b))
            | (Value::Timespan(a), Value::Timespan(b)) => a.cmp(b),
            (Value::Timestamp(a) | Value::Timespan(a), Value::Int(_) | Value::Float(_)) => {
                (*a as f64 / troupe_values::time::NS_PER_SEC as f64)
                    .partial_cmp(&as_f64(r))
                    .unwrap_or(Ordering::Equal)
            }
            // A number compares with a time value by seconds, as the time value would.
            (Value::Int(_) | Value::Float(_), Value::Timestamp(b) | Value::Timespan(b)) => {
                as_f64(l)
                    .partial_cmp(&(*b as f64 / troupe_values::time::NS_PER_SEC as f64))
                    .unwrap_or(Ordering::Equal)
            }
            (Value::SemVer(a), Value::SemVer(b)) => a.precedence(b),
            (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
                if let (Value::Int(a), Value::Int(b)) = (l, r) {
                    a.cmp(b)
                } else {
                    as_f64(l).partial_cmp(&as_f64(r)).unwrap_or(Ordering::Equal)
                }
            }
            (Value::Str(a), Value::Str(b)) => a.to_lowercase().cmp(&b.to_lowercase()),
            (Value::Type(a), Value::Type(b)) => {
                let r = match op {
                    BinOp::Lt => b.is_assignable(a) && !a.is_assignable(b),
                    BinOp::Le => b.is_assignable(a),
                    BinOp::Gt => a.is_assignable(b) && !b.is_assignable(a),
                    _ => a.is_assignable(b),
                };
                return Ok(Value::Bool(r));
            }
            _ => {
                // Puppet's CompareOperator: the left operand's kind picks the reason.
                let detail = match l {
                    Value::Str(_) => "A String is not comparable to a non String",
                    Value::Int(_) | Value::Float(_) => "A Numeric is not comparable to non Numeric",
                    Value::Timespan(_) => {
                        "Timespans are only comparable to Timespans, Integers, and Floats"
                    }
                    Value::Timestamp(_) => {
                        "Timestamps are only comparable to Timestamps, Integers, and Floats"
                    }
                    Value::SemVer(_) => "Versions not comparable to non Versions",
                    Value::Default => "Symbol not comparable to non Symbol",
                    _ => {
                        "Only Strings, Numbers, Timespans, Timestamps, and Versions are comparable"
                    }
                };
                return self.err(
                    format!(
                        "Comparison of: {} {} {}, is not possible. Caused by '{}'.",
                        troupe_values::label::label(l),
                        op.as_str(),
                        troupe_values::label::label(r),
                        detail
                    ),
                    e,
                );
            }
        };
        Ok(Value::Bool(match op {
            BinOp::Lt => ord == Ordering::Less,
            BinOp::Le => ord != Ordering::Greater,
            BinOp::Gt => ord == Ordering::Greater,
            _ => ord != Ordering::Less,
        }))
    }

    pub(crate) fn do_match(
        &mut self,
        l: &Value,
        r: &Value,
        (lhs, rhs): (&Expr, &Expr),
        e: &Expr,
    ) -> EResult<bool> {
        let re = match r {
            Value::Regex(re) => re.clone(),
            Value::Str(s) => self.regex(s, rhs)?,
            Value::Type(t) => return Ok(t.is_instance(l)),
            Value::SemVerRange(range) => {
                return match l {
                    Value::SemVer(v) => Ok(range.includes(v)),
                    Value::Str(s) => Ok(troupe_values::semver::SemVer::parse(s)
                        .map(|v| range.includes(&v))
                        .unwrap_or(false)),
                    _ => self.err(format!("Left match operand must result in a String or SemVer value when right operand is a SemVerRange. Got {}.", a_value(l)), e),
                }
            }
            _ => return self.err(format!("Can not convert right match operand to a regular expression. Caused by 'Unable to create a regular expression from {}'.", a_value(r)), e),
        };
        let s = match l {
            Value::Str(s) => s.clone(),
            _ => {
                return self.err(
                    format!(
                        "Left match operand must result in a String value. Got {} {}.",
                        troupe_values::types::article(&troupe_values::label::label(l)),
                        troupe_values::label::label(l)
                    ),
                    lhs,
                )
            }
        };
        match re.captures(&s) {
            Some((_, caps)) => {
                self.set_matches(caps);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// `l in r`. A regexp that matches a String (or an Array's or a Hash key's first String
    /// it matches) sets the match variables, as `=~` does.
    pub(crate) fn in_op(&mut self, l: &Value, r: &Value) -> EResult<bool> {
        let mut keys: Box<dyn Iterator<Item = &Value>> = match r {
            Value::Str(hay) => {
                return Ok(match l {
                    Value::Str(n) => hay.to_lowercase().contains(&n.to_lowercase()),
                    Value::Regex(re) => self.match_setting(re, hay),
                    _ => false,
                })
            }
            Value::Array(items) => Box::new(items.iter()),
            Value::Hash(h) => Box::new(h.keys()),
            Value::SemVerRange(range) => {
                return Ok(match l {
                    Value::SemVer(v) => range.includes(v),
                    Value::Str(s) => {
                        troupe_values::semver::SemVer::parse(s).is_ok_and(|v| range.includes(&v))
                    }
                    _ => false,
                })
            }
            _ => return Ok(false),
        };
        // A String or a SemVer is matched by each element as a case option would match it
        // (a regexp, a version range, a type...), as Puppet's include_Array does.
        if matches!(l, Value::Str(_) | Value::SemVer(_)) {
            for x in keys {
                if !matches!(x, Value::Default) && self.option_matches(l, x)? {
                    return Ok(true);
                }
            }
            return Ok(false);
        }
        Ok(match l {
            Value::Regex(re) => {
                keys.any(|x| matches!(x, Value::Str(s) if self.match_setting(re, s)))
            }
            Value::Type(t) => keys.any(|x| t.is_instance(x)),
            _ => keys.any(|x| l.puppet_eq(x)),
        })
    }

    /// Whether `re` matches `s`; a match sets the match variables.
    fn match_setting(&mut self, re: &troupe_values::value::Regexp, s: &str) -> bool {
        match re.captures(s) {
            Some((_, caps)) => {
                self.set_matches(caps);
                true
            }
            None => false,
        }
    }
}
