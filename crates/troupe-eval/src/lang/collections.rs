//! The collection operators `+`, `-` and `<<` when the left side is an Array or a Hash
//! (Puppet's `concatenate` and `delete`).
//!
//! `+` on an Array appends the elements of an Array, the `[key, value]` pairs of a Hash, or
//! any other value as one element; on a Hash it merges a Hash, or an Array read as pairs
//! (`[[k, v], ...]` when every element is an Array, else a flat `[k, v, k, v]`). `-` removes
//! every element equal (Ruby's `==`: strings are case-sensitive, `1 == 1.0`) to one of the
//! right side's; from a Hash it removes keys. `<<` appends one element to an Array.

use crate::lang::eval::Evaluator;
use troupe_ruby::object::ruby_eq;
use troupe_syntax::ast::{BinOp, Expr};
use troupe_values::error::EResult;
use troupe_values::value::{Map, Value, UNDEF};

/// The elements an Array operand stands for: an Array's own, a Hash's `[key, value]` pairs,
/// or the value itself.
fn as_elements(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(b) => (**b).clone(),
        Value::Hash(h) => h
            .iter()
            .map(|(k, x)| Value::array(vec![k.clone(), x.clone()]))
            .collect(),
        other => vec![other.clone()],
    }
}

impl<'e> Evaluator<'e> {
    /// `l op r` when `l` is an Array or a Hash and `op` is `+`, `-` or `<<`; None otherwise.
    pub(crate) fn collection_op(
        &self,
        op: BinOp,
        l: &Value,
        r: &Value,
        lhs: &Expr,
        e: &Expr,
    ) -> Option<EResult<Value>> {
        let out = match (op, l) {
            (BinOp::Add, Value::Array(a)) => {
                let mut v = (**a).clone();
                v.extend(as_elements(r));
                Ok(Value::array(v))
            }
            (BinOp::Add, Value::Hash(a)) => self.hash_merge(a, r, e),
            (BinOp::Sub, Value::Array(a)) => {
                let rem = as_elements(r);
                Ok(Value::array(
                    a.iter()
                        .filter(|x| !rem.iter().any(|y| ruby_eq(x, y)))
                        .cloned()
                        .collect(),
                ))
            }
            (BinOp::Sub, Value::Hash(a)) => {
                let keys: Vec<Value> = match r {
                    Value::Array(b) => (**b).clone(),
                    Value::Hash(h) => h.keys().cloned().collect(),
                    other => vec![other.clone()],
                };
                let mut m = (**a).clone();
                for k in &keys {
                    m.shift_remove(k);
                }
                Ok(Value::hash(m))
            }
            (BinOp::Shl, Value::Array(a)) => {
                let mut v = (**a).clone();
                v.push(r.clone());
                Ok(Value::array(v))
            }
            (BinOp::Shl, Value::Hash(_)) => {
                self.err("Operator '<<' is not applicable to a Hash.", lhs)
            }
            _ => return None,
        };
        Some(out)
    }

    /// `{..} + r`: a Hash merged over, or an Array read as pairs.
    fn hash_merge(&self, a: &Map, r: &Value, e: &Expr) -> EResult<Value> {
        let fail = |detail: String| {
            self.err(
                format!("Error while evaluating a '+' expression, {detail}"),
                e,
            )
        };
        let mut m = a.clone();
        match r {
            Value::Hash(b) => {
                for (k, x) in b.iter() {
                    m.insert(k.clone(), x.clone());
                }
            }
            Value::Array(b) if !b.is_empty() && b.iter().all(|x| matches!(x, Value::Array(_))) => {
                for pair in b.iter() {
                    let Value::Array(p) = pair else { continue };
                    match p.len() {
                        1 | 2 => {
                            m.insert(p[0].clone(), p.get(1).unwrap_or(UNDEF).clone());
                        }
                        n => return fail(format!("invalid number of elements ({n} for 1..2)")),
                    }
                }
            }
            Value::Array(b) => {
                if b.len() % 2 != 0 {
                    return fail("odd number of arguments for Hash".into());
                }
                for kv in b.chunks(2) {
                    m.insert(kv[0].clone(), kv[1].clone());
                }
            }
            _ => return fail("Can only append Array or Hash to a Hash".into()),
        }
        Ok(Value::hash(m))
    }
}
