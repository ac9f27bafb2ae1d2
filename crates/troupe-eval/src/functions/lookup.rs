//! `lookup()` and the legacy `hiera*()` functions: argument handling over the evaluator's Hiera
//! lookup.

use crate::data::hiera::get;
use crate::functions::host::Host;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::{EResult, EvalError};
use troupe_values::value::Value;

/// `lookup(name, type, merge, default)` / `lookup(name, options)`.
pub fn lookup_function(
    ev: &mut dyn Host,
    args: &[Value],
    lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    if args.is_empty() {
        return Err(EvalError::new(
            "'lookup' expects between 1 and 4 arguments, got none",
        ));
    }
    if let Value::Hash(o) = &args[0] {
        let mut rest = vec![get(o, "name").cloned().unwrap_or(Value::Undef)];
        rest.push(args[0].clone());
        return lookup_function(ev, &rest, lambda, e);
    }
    crate::functions::lookup_args::check(args)?;
    let names: Vec<String> = match &args[0] {
        Value::Str(s) => vec![s.to_string()],
        Value::Array(a) => a.iter().map(|x| x.to_display()).collect(),
        other => {
            return Err(EvalError::new(format!(
                "'lookup' parameter 'name' expects a value of type String or Array, got {}",
                troupe_values::types::infer_for_message(other)
            )))
        }
    };
    let (vtype, merge, default, has_default);
    let (mut overrides, mut defaults) = (None, None);
    if let Some(Value::Hash(o)) = args.get(1) {
        if let Some(Value::Hash(h)) = get(o, "override") {
            overrides = Some(h.clone());
        }
        if let Some(Value::Hash(h)) = get(o, "default_values_hash") {
            defaults = Some(h.clone());
        }
        vtype = get(o, "value_type").cloned();
        merge = get(o, "merge").cloned();
        default = get(o, "default_value").cloned();
        has_default = default.is_some();
    } else {
        vtype = args.get(1).cloned();
        merge = args.get(2).cloned();
        default = args.get(3).cloned();
        has_default = args.len() > 3;
    }
    if let Some(m) = &merge {
        crate::data::merge::Strategy::parse(m).map_err(|e| EvalError::new(e.msg))?;
    }
    let check = |what: &str, v: &Value| -> EResult<()> {
        if let Some(Value::Type(t)) = &vtype {
            if !t.is_instance(v) {
                return Err(EvalError::new(troupe_values::describe::mismatch(
                    what, t, v,
                )));
            }
        }
        Ok(())
    };
    for n in &names {
        let over = overrides.as_ref().and_then(|h| get(h, n)).cloned();
        let found = match over {
            Some(v) => Some(v),
            None => ev.hiera_lookup(n, merge.clone())?,
        };
        let found = found.or_else(|| defaults.as_ref().and_then(|h| get(h, n)).cloned());
        if let Some(v) = found {
            if let Some(Value::Type(t)) = &vtype {
                if !t.is_instance(&v) {
                    return Err(EvalError::new(
                        troupe_values::describe::mismatch(
                            "Found value has wrong type, expects",
                            t,
                            &v,
                        )
                        .replacen(
                            "Found value has wrong type, expects expects",
                            "Found value has wrong type, expects",
                            1,
                        ),
                    ));
                }
            }
            return Ok(v);
        }
    }
    if let Some(l) = lambda {
        let arg = match &args[0] {
            Value::Array(_) => args[0].clone(),
            _ => Value::str(names[0].as_str()),
        };
        let v = ev.call_lambda(l, &[arg], e)?;
        check("Value returned from default block has wrong type,", &v)?;
        return Ok(v);
    }
    if has_default {
        let v = default.unwrap_or(Value::Undef);
        check("Default value has wrong type,", &v)?;
        return Ok(v);
    }
    if names.len() > 1 {
        let list: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
        return Err(EvalError::plain(format!(
            "Function lookup() did not find a value for any of the names [{}]",
            list.join(", ")
        )));
    }
    Err(EvalError::plain(format!(
        "Function lookup() did not find a value for the name '{}'",
        names[0]
    )))
}
