//! Argument checks shared by native functions, with Puppet's messages.

use troupe_syntax::ast::Lambda;
use troupe_values::error::{EResult, EvalError};
use troupe_values::types::Type;
use troupe_values::value::Value;

pub(crate) fn arity(name: &str, args: &[Value], min: usize, max: usize) -> EResult<()> {
    if args.len() < min || args.len() > max {
        let expected = if min == max {
            format!("{min}")
        } else if max == usize::MAX {
            format!("at least {min}")
        } else {
            format!("between {min} and {max}")
        };
        let plural = if min == max && min == 1 { "" } else { "s" };
        return Err(EvalError::new(format!(
            "'{name}' expects {expected} argument{plural}, got {}",
            args.len()
        )));
    }
    Ok(())
}
/// A String argument. `param` is how Puppet names it: its name in quotes (`"'a'"`) for a
/// function with one signature, else its position.
pub(crate) fn str_arg<'a>(
    name: &str,
    v: &'a Value,
    param: impl std::fmt::Display,
) -> EResult<&'a str> {
    match v {
        Value::Str(s) => Ok(s),
        other => Err(EvalError::new(format!(
            "'{name}' parameter {param} expects a String value, got {}",
            troupe_values::types::infer_for_message(other)
        ))),
    }
}
pub(crate) fn need_lambda<'a>(name: &str, l: Option<&'a Lambda>) -> EResult<&'a Lambda> {
    l.ok_or_else(|| EvalError::new(format!("'{name}' expects a block")))
}
/// The pairs an iteration function walks: (index-or-key, value). Integers, Integer ranges
/// and strings are walked lazily, so `Integer[1, 200000000].reduce` never builds an array.
pub(crate) fn iter_pairs(name: &str, v: &Value) -> EResult<(troupe_values::iterate::Pairs, bool)> {
    use troupe_values::iterate::Pairs;
    Ok(match v {
        Value::Array(a) => (Pairs::Array(a.clone(), 0, a.len()), false),
        Value::Hash(h) => (Pairs::Hash(h.clone(), 0, h.len()), true),
        Value::Int(n) => (Pairs::range(0, n.saturating_sub(1)), false),
        Value::Str(s) => (Pairs::chars(s), false),
        Value::Type(t) => match t.resolved() {
            Type::Integer(a, b) if *a != i64::MIN && *b != i64::MAX => {
                (Pairs::range(*a, *b), false)
            }
            // An Enum walks its values, sorted (as Puppet keeps them).
            Type::Enum(vals, _) if !vals.is_empty() => {
                let mut vals = vals.clone();
                vals.sort();
                vals.dedup();
                let vals: Vec<Value> = vals.iter().map(|s| Value::str(s.as_str())).collect();
                let n = vals.len();
                (Pairs::Array(std::rc::Rc::new(vals), 0, n), false)
            }
            _ => {
                return Err(EvalError::new(format!(
                    "'{name}' expects an Iterable value, got Type"
                )))
            }
        },
        other if matches!(name, "each" | "map" | "filter" | "any" | "all") => {
            // These dispatch on Hash and Iterable, with a one- or two-parameter block.
            let got = troupe_values::types::infer_for_message(other);
            let mut msg = format!(
                "The function '{name}' was called with arguments it does not accept. It expects one of:"
            );
            for (sig, param, want) in [
                ("Hash hash", "hash", "a Hash"),
                ("Iterable enumerable", "enumerable", "an Iterable"),
            ] {
                for n in [2, 1] {
                    msg.push_str(&format!(
                        "\n  ({sig}, Callable[{n}, {n}] block)\n    rejected: parameter '{param}' expects {want} value, got {got}"
                    ));
                }
            }
            return Err(EvalError::new(msg));
        }
        other => {
            let param = if matches!(name, "reverse_each" | "step") {
                "iterable"
            } else {
                "enumerable"
            };
            return Err(EvalError::new(format!(
                "'{name}' parameter '{param}' expects an Iterable value, got {}",
                troupe_values::types::infer_for_message(other)
            )));
        }
    })
}

/// How Puppet names a value's type after "expects a value of type A, B, or C, got": a
/// non-empty Array or Hash is inferred as a Tuple or Struct.
pub(crate) fn variant_got(v: &Value) -> String {
    match v {
        Value::Array(a) if !a.is_empty() => "Tuple".into(),
        Value::Hash(h) if !h.is_empty() => "Struct".into(),
        other => troupe_values::types::infer_for_message(other),
    }
}

/// A block that must take `want` arguments: Puppet refuses one whose required parameters are
/// more, or whose parameters (a captured rest counting as many) are fewer.
pub(crate) fn block_arity(name: &str, l: &Lambda, want: usize) -> EResult<()> {
    let required = l
        .params
        .iter()
        .filter(|p| p.default.is_none() && !p.captures_rest)
        .count();
    let most = if l.params.iter().any(|p| p.captures_rest) {
        usize::MAX
    } else {
        l.params.len()
    };
    let got = if required > want {
        required
    } else if most < want {
        most
    } else {
        return Ok(());
    };
    let expected = match want {
        0 => "no arguments".to_string(),
        1 => "1 argument".to_string(),
        n => format!("{n} arguments"),
    };
    let got = if got == 0 {
        "none".to_string()
    } else {
        got.to_string()
    };
    Err(EvalError::new(format!(
        "'{name}' block expects {expected}, got {got}"
    )))
}
