//! Indexing a String, an Array or a Binary with `[]`, as Puppet's access operator does: one
//! index (negative counts from the end) or a start and a count (a negative count is an end
//! index, inclusive; a start before the first element is clipped to it and shortens the
//! count). Keys given in an array are flattened first.
//!
//! An Array's keys are converted to numbers as arithmetic does ("The value 'a' cannot be
//! converted to Numeric."), and must then be Integers; a String's or a Binary's keys must be
//! Integers or numeric Strings ("A substring operation does not accept ..."). Errors point at
//! the key that is wrong.

use crate::lang::eval::Evaluator;
use crate::lang::type_keys::key_expr;
use troupe_syntax::ast::Expr;
use troupe_values::error::EResult;
use troupe_values::infer::generalize;
use troupe_values::label::label;
use troupe_values::number::to_n;
use troupe_values::value::{flatten, Value};

/// Ruby's `o[k]` on a sequence of `len` items: the item's position, None when outside.
fn one(len: i64, k: i64) -> Option<usize> {
    let k = if k < 0 { len + k } else { k };
    (0..len).contains(&k).then_some(k as usize)
}

/// Puppet's slice `[from, count]` on a sequence of `len` items, as a range (empty when
/// nothing is selected).
fn slice(len: i64, from: i64, count: i64) -> (usize, usize) {
    let mut k1 = if from < 0 {
        len.saturating_add(from)
    } else {
        from
    };
    let mut k2 = if count < 0 {
        len.saturating_sub(k1)
            .saturating_add(count)
            .saturating_add(1)
    } else {
        count
    };
    if k1 < 0 {
        k2 = k2.saturating_add(k1);
        k1 = 0;
    }
    if k1 > len || k2 < 0 {
        return (0, 0);
    }
    (k1 as usize, k1.saturating_add(k2).min(len) as usize)
}

/// The type name Puppet prints for a key of the wrong type (its generalized type).
fn key_type_name(v: &Value) -> String {
    match v {
        Value::Undef => "Undef".into(),
        Value::Default => "Default".into(),
        _ => generalize(v).to_string(),
    }
}

fn article(word: &str) -> &'static str {
    match word.chars().next().map(|c| c.to_ascii_lowercase()) {
        Some('a' | 'e' | 'i' | 'o' | 'u') => "an",
        _ => "a",
    }
}

impl<'e> Evaluator<'e> {
    /// `base[args]` for a String, an Array or a Binary; None for other values.
    pub(crate) fn index_value(
        &self,
        base: &Value,
        args: &[Value],
        e: &Expr,
    ) -> Option<EResult<Value>> {
        let kind = match base {
            Value::Array(_) => "Array",
            Value::Str(_) | Value::Binary(_) => "String",
            _ => return None,
        };
        let keys = flatten(args);
        if keys.is_empty() || keys.len() > 2 {
            return Some(self.err(
                format!(
                    "{kind} supports [] with one or two arguments. Got {}",
                    keys.len()
                ),
                e,
            ));
        }
        Some(match base {
            Value::Array(a) => self.array_keys(base, &keys, e).map(|k| match k[..] {
                [i] => one(a.len() as i64, i).map_or(Value::Undef, |i| a[i].clone()),
                [i, c] => {
                    let (s, t) = slice(a.len() as i64, i, c);
                    Value::array(a[s..t].to_vec())
                }
                _ => Value::Undef,
            }),
            Value::Str(s) => self.string_keys(&keys, e).map(|k| {
                let chars: Vec<char> = s.chars().collect();
                let (s, t) = match k[..] {
                    [i] => one(chars.len() as i64, i).map_or((0, 0), |i| (i, i + 1)),
                    [i, c] => slice(chars.len() as i64, i, c),
                    _ => (0, 0),
                };
                Value::str(chars[s..t].iter().collect::<String>())
            }),
            Value::Binary(b) => self.string_keys(&keys, e).map(|k| {
                let (s, t) = match k[..] {
                    [i] => one(b.len() as i64, i).map_or((0, 0), |i| (i, i + 1)),
                    [i, c] => slice(b.len() as i64, i, c),
                    _ => (0, 0),
                };
                Value::Binary(b[s..t].to_vec().into())
            }),
            _ => return None,
        })
    }

    /// An Array's keys: converted to numbers, then required to be Integers.
    fn array_keys(&self, base: &Value, keys: &[Value], e: &Expr) -> EResult<Vec<i64>> {
        let mut out = vec![];
        for (i, k) in keys.iter().enumerate() {
            let at = key_expr(e, i);
            let n = match k {
                Value::Undef => {
                    return self.err("The value '' cannot be converted to Numeric.", at)
                }
                _ => self.to_number(k, at)?,
            };
            match n {
                Value::Int(n) => out.push(n),
                other => {
                    let l = label(base);
                    let mut uc = article(&l).to_string();
                    uc[..1].make_ascii_uppercase();
                    return self.err(
                        format!(
                            "{uc} {l}[] cannot use {} where Integer is expected",
                            key_type_name(&other)
                        ),
                        at,
                    );
                }
            }
        }
        Ok(out)
    }

    /// A String's (or Binary's) keys: Integers, or Strings that read as Integers.
    fn string_keys(&self, keys: &[Value], e: &Expr) -> EResult<Vec<i64>> {
        let mut out = vec![];
        for (i, k) in keys.iter().enumerate() {
            let n = match k {
                Value::Str(s) => to_n(s),
                Value::Int(_) | Value::Float(_) => Some(k.clone()),
                _ => None,
            };
            match n {
                Some(Value::Int(n)) => out.push(n),
                other => {
                    let name = key_type_name(other.as_ref().unwrap_or(k));
                    return self.err(
                        format!(
                            "A substring operation does not accept {} {name} as a character index. Expected an Integer",
                            article(&name)
                        ),
                        key_expr(e, i),
                    );
                }
            }
        }
        Ok(out)
    }
}
