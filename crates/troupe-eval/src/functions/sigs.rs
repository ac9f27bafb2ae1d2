//! A function's dispatch list (its signatures, as Puppet's `dispatch` blocks declare them) and
//! the message Puppet's TypeMismatchDescriber gives when no signature accepts the arguments:
//! `'f' parameter 'p' expects ...` for one merged reason, else "The function 'f' was called
//! with arguments it does not accept. It expects one of:" and each signature's reason.
//!
//! Types are written as Puppet's dispatch writes them and parsed once per thread.

use crate::functions::host::Host;
use std::collections::HashMap;
use troupe_syntax::ast::Lambda;
use troupe_values::error::{EResult, EvalError};
use troupe_values::types::Type;
use troupe_values::value::Value;

/// One signature: its parameters (type text, name; a name ending in `?` is optional, in `*`
/// repeated) and its block.
pub(crate) struct Sig {
    pub params: &'static [(&'static str, &'static str)],
    pub block: Option<Block>,
}

/// A signature's block: its type's text (`Callable[1, 1]`), how many arguments it passes, and
/// whether it may be left out.
pub(crate) struct Block {
    pub text: &'static str,
    pub min: usize,
    pub max: usize,
    pub optional: bool,
}

/// Why one signature refuses the call.
#[derive(Clone, PartialEq)]
enum Why {
    /// Argument count (path: none) or block parameter count (path: `block`).
    Count {
        block: bool,
        min: usize,
        max: usize,
        got_min: usize,
        got_max: usize,
    },
    MissingBlock,
    UnexpectedBlock,
    /// A parameter's type: the types it expects (several once merged) and the argument.
    Mismatch {
        param: &'static str,
        want: Vec<Type>,
        got: Value,
    },
}

thread_local! {
    static TYPES: std::cell::RefCell<HashMap<&'static str, Type>> = Default::default();
}

fn ty(ev: &mut dyn Host, text: &'static str) -> EResult<Type> {
    if let Some(t) = TYPES.with(|c| c.borrow().get(text).cloned()) {
        return Ok(t);
    }
    let t = ev.parse_type(text)?;
    TYPES.with(|c| c.borrow_mut().insert(text, t.clone()));
    Ok(t)
}

fn range_s(min: usize, max: usize, zero: &str) -> String {
    if min == max {
        if min == 0 {
            zero.to_string()
        } else {
            min.to_string()
        }
    } else if min == 0 {
        if max == usize::MAX {
            "any number of".into()
        } else {
            format!("at most {max}")
        }
    } else if max == usize::MAX {
        format!("at least {min}")
    } else {
        format!("between {min} and {max}")
    }
}

/// Puppet names a Type, Sensitive, Optional or NotUndef member of an expected Variant with
/// its parameter's name (`Type[Regexp]`), where troupe-values' describer says `Type`.
fn contained_names(msg: String, t: &Type) -> String {
    let Type::Variant(ts) = t.resolved() else {
        return msg;
    };
    let mut full: Vec<String> = Vec::new();
    for m in ts {
        if let Type::Type(Some(inner)) = m {
            let s = inner.to_string();
            let short = s.split('[').next().unwrap_or("").to_string();
            if short != "Any" {
                full.push(format!("Type[{short}]"));
            }
        }
    }
    let [one] = full.as_slice() else {
        return msg;
    };
    if msg.contains("Type[") {
        return msg;
    }
    let Some(at) = msg.find(" expects a value of type ") else {
        return msg;
    };
    let Some(end) = msg[at..].find(", got ").map(|e| e + at) else {
        return msg;
    };
    let list = &msg[at..end];
    let fixed = list
        .replace(", Type,", &format!(", {one},"))
        .replace(" Type or ", &format!(" {one} or "))
        .replace(" or Type", &format!(" or {one}"));
    format!("{}{}{}", &msg[..at], fixed, &msg[end..])
}

impl Why {
    /// The reason, after the function's name or "rejected:" (with its leading space).
    fn format(&self) -> String {
        match self {
            Why::Count {
                block,
                min,
                max,
                got_min,
                got_max,
            } => {
                let plural = if (*min == 1 && (*max == 1 || *max == usize::MAX))
                    || (*min == 0 && *max == 1)
                {
                    ""
                } else {
                    "s"
                };
                format!(
                    "{} expects {} argument{plural}, got {}",
                    if *block { " block" } else { "" },
                    range_s(*min, *max, "no"),
                    range_s(*got_min, *got_max, "none")
                )
            }
            Why::MissingBlock => " expects a block".into(),
            Why::UnexpectedBlock => " does not expect a block".into(),
            Why::Mismatch { param, want, got } => {
                let enums: Option<Vec<String>> = want
                    .iter()
                    .map(|t| match t {
                        Type::Enum(v, false) => Some(v.clone()),
                        _ => None,
                    })
                    .collect::<Option<Vec<_>>>()
                    .map(|v| v.concat());
                let t = if want.len() == 1 {
                    want[0].clone()
                } else if let Some(vals) = enums {
                    // Puppet merges Enum expectations into one Enum.
                    Type::Enum(vals, false)
                } else {
                    Type::Variant(want.clone())
                };
                let m = troupe_values::describe::mismatch(&format!("parameter '{param}'"), &t, got);
                format!(" {}", contained_names(m, &t))
            }
        }
    }

    fn same_kind_and_path(&self, o: &Why) -> bool {
        match (self, o) {
            (Why::Count { block: a, .. }, Why::Count { block: b, .. }) => a == b,
            (Why::MissingBlock, Why::MissingBlock) => true,
            (Why::UnexpectedBlock, Why::UnexpectedBlock) => true,
            (Why::Mismatch { param: a, .. }, Why::Mismatch { param: b, .. }) => a == b,
            _ => false,
        }
    }

    fn merge(self, o: &Why) -> Why {
        match (self, o) {
            (
                Why::Count {
                    block,
                    min,
                    max,
                    got_min,
                    got_max,
                },
                Why::Count {
                    min: m2, max: x2, ..
                },
            ) => Why::Count {
                block,
                min: min.min(*m2),
                max: max.max(*x2),
                got_min,
                got_max,
            },
            (
                Why::Mismatch {
                    param,
                    mut want,
                    got,
                },
                Why::Mismatch { want: w2, .. },
            ) => {
                for t in w2 {
                    if !want.contains(t) {
                        want.push(t.clone());
                    }
                }
                Why::Mismatch { param, want, got }
            }
            (s, _) => s,
        }
    }
}

fn param_name(n: &'static str) -> &'static str {
    n.trim_end_matches(['?', '*'])
}

fn arg_count_range(sig: &Sig) -> (usize, usize) {
    let min = sig
        .params
        .iter()
        .filter(|(_, n)| !n.ends_with(['?', '*']))
        .count();
    let max = if sig.params.iter().any(|(_, n)| n.ends_with('*')) {
        usize::MAX
    } else {
        sig.params.len()
    };
    (min, max)
}

fn arg_why(ev: &mut dyn Host, sig: &Sig, args: &[Value]) -> EResult<Option<Why>> {
    let (min, max) = arg_count_range(sig);
    if args.len() < min || args.len() > max {
        return Ok(Some(Why::Count {
            block: false,
            min,
            max,
            got_min: args.len(),
            got_max: args.len(),
        }));
    }
    for (i, a) in args.iter().enumerate() {
        let Some(&(text, name)) = sig.params.get(i).or(sig.params.last()) else {
            break;
        };
        let t = ty(ev, text)?;
        if !instance(&t, a) {
            return Ok(Some(Why::Mismatch {
                param: param_name(name),
                want: vec![t],
                got: a.clone(),
            }));
        }
    }
    Ok(None)
}

/// `t.is_instance(v)`, with `Type[Regexp]` accepting every Regexp type (troupe-values'
/// `Regexp` is not assignable from `Regexp[/x/]` yet).
fn instance(t: &Type, v: &Value) -> bool {
    match (t, v) {
        (Type::Type(Some(inner)), Value::Type(x))
            if matches!(**inner, Type::Regexp(None)) && matches!(x.resolved(), Type::Regexp(_)) =>
        {
            true
        }
        (Type::Variant(ts), v) => ts.iter().any(|t| instance(t, v)),
        (Type::Optional(Some(i)), v) => v.is_undef() || instance(i, v),
        _ => t.is_instance(v),
    }
}

fn block_why(sig: &Sig, lambda: Option<&Lambda>) -> Option<Why> {
    match (lambda, &sig.block) {
        (Some(_), None) => Some(Why::UnexpectedBlock),
        (None, Some(b)) if !b.optional => Some(Why::MissingBlock),
        (None, _) => None,
        (Some(l), Some(b)) => {
            let (lo, hi) = lambda_range(l);
            if lo <= b.min && hi >= b.max {
                None
            } else {
                Some(Why::Count {
                    block: true,
                    min: b.min,
                    max: b.max,
                    got_min: lo,
                    got_max: hi,
                })
            }
        }
    }
}

/// How many arguments a lambda accepts.
pub(crate) fn lambda_range(l: &Lambda) -> (usize, usize) {
    let lo = l
        .params
        .iter()
        .filter(|p| p.default.is_none() && !p.captures_rest)
        .count();
    let hi = if l.params.iter().any(|p| p.captures_rest) {
        usize::MAX
    } else {
        l.params.len()
    };
    (lo, hi)
}

fn sig_string(sig: &Sig, types: &[Type]) -> String {
    let mut parts: Vec<String> = Vec::new();
    for ((_, name), t) in sig.params.iter().zip(types) {
        let t = match (name.ends_with('?'), t) {
            (true, Type::Optional(Some(i))) => (**i).clone(),
            _ => t.clone(),
        };
        let ind = if name.ends_with('?') {
            "?"
        } else if name.ends_with('*') {
            "*"
        } else {
            ""
        };
        parts.push(format!("{t} {}{ind}", param_name(name)));
    }
    if let Some(b) = &sig.block {
        parts.push(format!(
            "{} block{}",
            b.text,
            if b.optional { "?" } else { "" }
        ));
    }
    parts.join(", ")
}

/// The index of the first signature that accepts `args` and `lambda`, else Puppet's error.
pub(crate) fn dispatch(
    ev: &mut dyn Host,
    name: &str,
    sigs: &[Sig],
    args: &[Value],
    lambda: Option<&Lambda>,
) -> EResult<usize> {
    let mut whys: Vec<Option<Why>> = Vec::with_capacity(sigs.len());
    for s in sigs {
        whys.push(arg_why(ev, s, args)?);
    }
    if whys.iter().any(|w| w.is_none()) {
        let blocks: Vec<Option<Why>> = sigs.iter().map(|s| block_why(s, lambda)).collect();
        for (i, (w, b)) in whys.iter().zip(&blocks).enumerate() {
            if w.is_none() && b.is_none() {
                return Ok(i);
            }
        }
        if blocks.iter().all(|b| b.is_some()) {
            whys = blocks;
        } else {
            for (w, b) in whys.iter_mut().zip(blocks) {
                if w.is_none() {
                    *w = b;
                }
            }
        }
    }
    let whys: Vec<Why> = whys.into_iter().flatten().collect();
    // One reason when every signature gives the same kind at the same place.
    let mut merged = whys[0].clone();
    let mut one = whys.iter().all(|w| w.same_kind_and_path(&whys[0]));
    if one {
        for w in &whys[1..] {
            merged = merged.merge(w);
        }
    } else {
        let mut uniq: Vec<&Why> = Vec::new();
        for w in &whys {
            if !uniq.contains(&w) {
                uniq.push(w);
            }
        }
        if uniq.len() == 1 {
            one = true;
        }
    }
    if one {
        return Err(EvalError::new(format!("'{name}'{}", merged.format())));
    }
    let mut msg = if sigs.len() == 1 {
        String::new()
    } else {
        format!(
            "The function '{name}' was called with arguments it does not accept. It expects one of:"
        )
    };
    for (s, w) in sigs.iter().zip(&whys) {
        let mut types = Vec::with_capacity(s.params.len());
        for (text, _) in s.params {
            types.push(ty(ev, text)?);
        }
        if sigs.len() == 1 {
            msg = format!(
                "'{name}' expects ({})\n  rejected:{}",
                sig_string(s, &types),
                w.format()
            );
        } else {
            msg.push_str(&format!(
                "\n  ({})\n    rejected:{}",
                sig_string(s, &types),
                w.format()
            ));
        }
    }
    Err(EvalError::new(msg))
}

/// A block `Callable[n, n]`.
pub(crate) const fn block(text: &'static str, n: usize) -> Option<Block> {
    Some(Block {
        text,
        min: n,
        max: n,
        optional: false,
    })
}

/// An optional block `Callable[n, n]`.
pub(crate) const fn opt_block(text: &'static str, n: usize) -> Option<Block> {
    Some(Block {
        text,
        min: n,
        max: n,
        optional: true,
    })
}
