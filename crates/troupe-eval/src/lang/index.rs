//! Indexing a String, an Array or a Binary with `[]`: one index (negative counts from the
//! end) or a start and a count (a negative count is an end index, inclusive). Keys given in
//! an array are flattened first; another number of keys is an error naming the kind of value
//! (a Binary is reported as a String, as Puppet does).

use crate::lang::eval::Evaluator;
use troupe_syntax::ast::Expr;
use troupe_values::error::EResult;
use troupe_values::value::{a_value, flatten, Value};

enum Pick {
    /// One element (None: out of range).
    One(Option<usize>),
    /// A slice `start..end` (None: the start is out of range).
    Range(Option<(usize, usize)>),
}

fn pick(n: i64, args: &[Value]) -> Option<Pick> {
    match args {
        [Value::Int(i)] => {
            let i = if *i < 0 { n + i } else { *i };
            Some(Pick::One((0..n).contains(&i).then_some(i as usize)))
        }
        [Value::Int(i), Value::Int(c)] => {
            let start = if *i < 0 { n + i } else { *i };
            if start < 0 || start > n {
                return Some(Pick::Range(None));
            }
            let end = if *c < 0 {
                n + c + 1
            } else {
                start.saturating_add(*c).min(n)
            };
            Some(Pick::Range(Some((
                start as usize,
                end.clamp(start, n) as usize,
            ))))
        }
        _ => None,
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
        let out = match base {
            Value::Array(a) => match pick(a.len() as i64, &keys) {
                Some(Pick::One(i)) => Ok(i.map_or(Value::Undef, |i| a[i].clone())),
                Some(Pick::Range(r)) => {
                    Ok(Value::array(r.map_or(vec![], |(s, t)| a[s..t].to_vec())))
                }
                None => self.err(
                    format!(
                        "Array[] cannot use {} where Integer is expected",
                        a_value(
                            keys.iter()
                                .find(|k| !matches!(k, Value::Int(_)))
                                .unwrap_or(&keys[0])
                        )
                    ),
                    e,
                ),
            },
            Value::Str(s) => {
                let chars: Vec<char> = s.chars().collect();
                match pick(chars.len() as i64, &keys) {
                    Some(Pick::One(i)) => Ok(Value::str(
                        i.map_or(String::new(), |i| chars[i].to_string()),
                    )),
                    Some(Pick::Range(r)) => Ok(Value::str(r.map_or(String::new(), |(s, t)| {
                        chars[s..t].iter().collect::<String>()
                    }))),
                    None => self.err("String[] cannot use these arguments", e),
                }
            }
            Value::Binary(b) => match pick(b.len() as i64, &keys) {
                Some(Pick::One(i)) => Ok(Value::Binary(i.map_or(vec![], |i| vec![b[i]]).into())),
                Some(Pick::Range(r)) => Ok(Value::Binary(
                    r.map_or(vec![], |(s, t)| b[s..t].to_vec()).into(),
                )),
                None => self.err("String[] cannot use these arguments", e),
            },
            _ => return None,
        };
        Some(out)
    }
}
