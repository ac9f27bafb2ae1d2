//! A Deferred value given to a class or define parameter. Puppet does not check the Deferred
//! against the parameter's type: it finds the dispatch of the deferred function that the
//! Deferred's arguments match and checks that dispatch's declared return type (no return
//! type: accepted, with a warning; no matching dispatch: "No matching arity found").
//!
//! The return types are read from the module's Ruby function file (`dispatch` blocks with
//! `param`/`optional_param`/`repeated_param` and `return_type`); a function troupe cannot read
//! that way is accepted, as Puppet accepts one without a return type.

use crate::lang::call::{RubyApi, RubyFn};
use crate::lang::eval::Evaluator;
use troupe_values::error::{EResult, EvalError};
use troupe_values::infer::generalize_type;
use troupe_values::types::{article, Type};
use troupe_values::value::Value;

/// One `dispatch` block: its parameters (kind, type text) and return type text.
struct Dispatch {
    params: Vec<(String, String)>,
    ret: Option<String>,
}

/// The first quoted string on a line (`param 'String', :x` → `String`).
fn quoted(line: &str) -> Option<String> {
    let start = line.find(['\'', '"'])?;
    let q = line[start..].chars().next()?;
    let rest = &line[start + 1..];
    let end = rest.find(q)?;
    Some(rest[..end].to_string())
}

fn dispatches(src: &str) -> Vec<Dispatch> {
    let mut out = Vec::new();
    let mut cur: Option<Dispatch> = None;
    for line in src.lines() {
        let l = line.trim();
        if l.starts_with("dispatch ") || l.starts_with("dispatch(") {
            cur = Some(Dispatch {
                params: vec![],
                ret: None,
            });
            continue;
        }
        let Some(d) = cur.as_mut() else { continue };
        if l == "end" || l.starts_with("end ") {
            out.extend(cur.take());
            continue;
        }
        let word = l.split([' ', '(']).next().unwrap_or("");
        match word {
            "param"
            | "required_param"
            | "optional_param"
            | "repeated_param"
            | "required_repeated_param" => {
                if let Some(t) = quoted(l) {
                    d.params.push((word.to_string(), t));
                }
            }
            "return_type" => d.ret = quoted(l),
            _ => {}
        }
    }
    out
}

/// Ruby's `inspect` of the arguments, as Puppet's arity message shows them.
fn inspect(v: &Value) -> String {
    match v {
        Value::Undef => "nil".into(),
        Value::Str(s) => format!("{:?}", s.as_ref()),
        Value::Array(a) => format!("[{}]", a.iter().map(inspect).collect::<Vec<_>>().join(", ")),
        Value::Hash(h) => format!(
            "{{{}}}",
            h.iter()
                .map(|(k, x)| format!("{}=>{}", inspect(k), inspect(x)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_display(),
    }
}

/// The name of a type without its parameters (`Variant`, `Integer`).
fn short(t: &Type) -> String {
    let s = t.to_string();
    s.split('[').next().unwrap_or("").to_string()
}

/// `expects .., got ..` of an expected type against a return type, as Puppet describes two
/// types of different kinds (the names), or of the same kind (in full).
fn type_mismatch(what: &str, t: &Type, ret: &Type) -> String {
    let got = short(ret);
    match t.resolved() {
        Type::Variant(ts) if ts.len() > 1 => {
            let names: Vec<String> = ts.iter().map(short).collect();
            let list = match names.len() {
                2 => format!("{} or {}", names[0], names[1]),
                n => format!("{}, or {}", names[..n - 1].join(", "), names[n - 1]),
            };
            format!("{what} expects a value of type {list}, got {got}")
        }
        other if short(other) == got => {
            let e = other.to_string();
            format!("{what} expects {} {e} value, got {ret}", article(&e))
        }
        other => {
            let e = short(other);
            format!("{what} expects {} {e} value, got {got}", article(&e))
        }
    }
}

impl Evaluator<'_> {
    /// Checks the Deferred `d` given to parameter `param` of type `t`: `Ok(None)` when
    /// Puppet accepts it, `Ok(Some(text))` for a parameter mismatch, `Err` when no dispatch
    /// of the function takes the Deferred's arguments.
    pub(crate) fn deferred_param(
        &mut self,
        param: &str,
        t: &Type,
        d: &(String, Vec<Value>),
    ) -> EResult<Option<String>> {
        let (name, args) = (d.0.trim_start_matches("::"), &d.1);
        let Some(RubyFn {
            api: RubyApi::Modern,
            file,
            ..
        }) = self.ruby_function(name)
        else {
            return Ok(None);
        };
        let Some(src) = self.env.read(&file) else {
            return Ok(None);
        };
        let ds = dispatches(&src);
        if ds.is_empty() {
            return Ok(None);
        }
        let mut found: Option<Option<String>> = None;
        for dp in &ds {
            let required = dp
                .params
                .iter()
                .filter(|(k, _)| {
                    matches!(
                        k.as_str(),
                        "param" | "required_param" | "required_repeated_param"
                    )
                })
                .count();
            let repeated = dp.params.iter().any(|(k, _)| k.contains("repeated"));
            if args.len() < required || (!repeated && args.len() > dp.params.len()) {
                continue;
            }
            let mut fits = true;
            for (i, a) in args.iter().enumerate() {
                let Some((_, text)) = dp.params.get(i).or(dp.params.last()) else {
                    break;
                };
                if let Ok(pt) = self.type_from_text(text) {
                    if !pt.accepts(a) {
                        fits = false;
                        break;
                    }
                }
            }
            if fits {
                found = Some(dp.ret.clone());
                break;
            }
        }
        let Some(ret) = found else {
            let shown: Vec<String> = args.iter().map(inspect).collect();
            return Err(EvalError::new(format!(
                "No matching arity found for {name} with arguments [{}]",
                shown.join(", ")
            )));
        };
        let Some(ret) = ret.and_then(|r| self.type_from_text(&r).ok()) else {
            return Ok(None);
        };
        if generalize_type(t).is_assignable(&generalize_type(&ret)) {
            return Ok(None);
        }
        Ok(Some(type_mismatch(
            &format!("parameter '{param}'"),
            t,
            &ret,
        )))
    }
}
