//! `T.new(...)` / `T(...)` for an Object type: Puppet's generated `new_T` function with its
//! two signatures, an init hash (`Struct[{...}] hash`) and the attributes in order, and the
//! messages Puppet gives when neither accepts the arguments.

use std::rc::Rc;
use troupe_values::describe::mismatch;
use troupe_values::error::{EResult, EvalError};
use troupe_values::object::{Member, ObjType, ObjValue};
use troupe_values::types::Type;
use troupe_values::value::{Map, Value};

/// `expects 1 argument`, `expects between 1 and 2 arguments`, `expects no arguments`.
fn expects(min: usize, max: usize) -> String {
    let plural = |n: usize| if n == 1 { "argument" } else { "arguments" };
    if min == max {
        if min == 0 {
            "expects no arguments".into()
        } else {
            format!("expects {min} {}", plural(min))
        }
    } else {
        format!("expects between {min} and {max} arguments")
    }
}

fn got(n: usize) -> String {
    if n == 0 {
        "got none".into()
    } else {
        format!("got {n}")
    }
}

/// The init hash's type: the init attributes, optional where they have a default.
fn init_struct(attrs: &[Member]) -> Type {
    Type::Struct(
        attrs
            .iter()
            .map(|a| (a.name.clone(), a.value.is_some(), a.ty.clone()))
            .collect(),
    )
}

/// Why the init-hash signature rejects `args`.
fn hash_rejection(st: &Type, attrs: &[Member], args: &[Value]) -> Option<String> {
    if args.len() != 1 {
        return Some(format!("{}, {}", expects(1, 1), got(args.len())));
    }
    let v = &args[0];
    // An empty `Struct` (no init attributes) takes only an empty hash.
    let empty_ok = !matches!(st, Type::Struct(ms) if ms.is_empty())
        || matches!(v, Value::Hash(h) if h.is_empty());
    if empty_ok && st.is_instance(v) {
        return None;
    }
    if let Value::Hash(h) = v {
        let req = attrs.iter().filter(|a| a.value.is_none()).count();
        if h.is_empty() && req > 0 {
            let range = if req == attrs.len() {
                req.to_string()
            } else {
                format!("between {req} and {}", attrs.len())
            };
            return Some(format!(
                "parameter 'hash' expects size to be {range}, got 0"
            ));
        }
    }
    let shown = match st {
        Type::Struct(ms) if ms.is_empty() => {
            // `Struct` alone: any hash value is described as a Struct.
            return Some(if matches!(v, Value::Hash(_)) {
                let keys: Vec<String> = match v {
                    Value::Hash(h) => h.keys().map(|k| k.to_display()).collect(),
                    _ => vec![],
                };
                format!("parameter 'hash' unrecognized key '{}'", keys[0])
            } else {
                format!(
                    "parameter 'hash' expects a Struct value, got {}",
                    troupe_values::types::infer_for_message(v)
                )
            });
        }
        t => t,
    };
    Some(struct_word(mismatch("parameter 'hash'", shown, v), v))
}

/// Puppet infers a non-empty hash as a Struct when it names the actual type.
fn struct_word(msg: String, v: &Value) -> String {
    match v {
        Value::Hash(h) if !h.is_empty() && msg.ends_with("got Hash") => {
            format!("{}Struct", &msg[..msg.len() - 4])
        }
        _ => msg,
    }
}

/// Why the positional signature rejects `args`.
fn positional_rejection(attrs: &[Member], args: &[Value]) -> Option<String> {
    let min = attrs.iter().filter(|a| a.value.is_none()).count();
    if args.len() < min || args.len() > attrs.len() {
        return Some(format!(
            "{}, {}",
            expects(min, attrs.len()),
            got(args.len())
        ));
    }
    for (a, v) in attrs.iter().zip(args) {
        if !a.ty.is_instance(v) {
            return Some(struct_word(
                mismatch(&format!("parameter '{}'", a.name), &a.ty, v),
                v,
            ));
        }
    }
    None
}

fn make(
    t: &Rc<ObjType>,
    attrs: &[Member],
    given: impl Fn(usize, &Member) -> Option<Value>,
) -> Value {
    let vals = attrs
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let v = given(i, a)
                .or_else(|| a.value.clone())
                .unwrap_or(Value::Undef);
            (a.name.clone(), v)
        })
        .collect();
    Value::Object(Rc::new(ObjValue {
        ty: t.clone(),
        vals,
    }))
}

/// A new instance of `t` from `args`, or Puppet's rejection of them.
pub fn new_object(t: &Rc<ObjType>, args: &[Value]) -> EResult<Value> {
    let attrs = t.init_attrs();
    let st = init_struct(&attrs);
    let by_hash = hash_rejection(&st, &attrs, args);
    if by_hash.is_none() {
        let Value::Hash(h) = &args[0] else {
            unreachable!("the hash signature takes a hash")
        };
        let h: &Map = h;
        return Ok(make(t, &attrs, |_, a| {
            h.get(&Value::str(a.name.as_str())).cloned()
        }));
    }
    let by_pos = positional_rejection(&attrs, args);
    if by_pos.is_none() {
        return Ok(make(t, &attrs, |i, _| args.get(i).cloned()));
    }
    let name = format!("new_{}", t.label());
    let min = attrs.iter().filter(|a| a.value.is_none()).count();
    let (lo, hi) = (min.min(1), attrs.len().max(1));
    let counts_fail = (args.len() != 1) && (args.len() < min || args.len() > attrs.len());
    if counts_fail {
        return Err(EvalError::new(format!(
            "'{name}' {}, {}",
            expects(lo, hi),
            got(args.len())
        )));
    }
    let hash_sig = match &st {
        Type::Struct(ms) if ms.is_empty() => "Struct hash".to_string(),
        st => format!("{st} hash"),
    };
    let pos_sig: Vec<String> = attrs
        .iter()
        .map(|a| format!("{} {}", a.ty, a.name))
        .collect();
    Err(EvalError::new(format!(
        "The function '{name}' was called with arguments it does not accept. It expects one of:\n  ({hash_sig})\n    rejected: {}\n  ({})\n    rejected: {}",
        by_hash.unwrap_or_default(),
        pos_sig.join(", "),
        by_pos.unwrap_or_default()
    )))
}
