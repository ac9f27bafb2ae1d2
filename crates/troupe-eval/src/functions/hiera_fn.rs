//! The legacy `hiera`, `hiera_array`, `hiera_hash` and `hiera_include` functions, dispatched as
//! Puppet's `Hiera::PuppetFunction`: (key), (key, default, override?), (key) with a block,
//! (key, override) with a block, or one array of those. They look up as `lookup()` does,
//! except that only the global layer is searched when the environment has no data provider,
//! and a Hiera 3 global configuration applies their override sources and merge behaviour.

use crate::data::hiera::HieraCall;
use crate::functions::host::Host;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::{EResult, EvalError};
use troupe_values::value::Value;

/// Puppet's deprecation note, once per function and compile.
fn deprecated(ev: &mut dyn Host, name: &str) {
    ev.warn(format!(
        "The function '{name}' is deprecated in favor of using 'lookup'. See https://puppet.com/docs/puppet/7.23/deprecated_language.html"
    ));
}

pub(crate) fn hiera_family(
    ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    // One array argument is the whole argument list (`hiera_splat`).
    let args: Vec<Value> = match (args.as_slice(), lambda) {
        ([Value::Array(a)], None) if (1..=3).contains(&a.len()) => a.iter().cloned().collect(),
        _ => args,
    };
    let max = if lambda.is_some() { 2 } else { 3 };
    if args.is_empty() || args.len() > max {
        let got = if args.is_empty() {
            "none".to_string()
        } else {
            args.len().to_string()
        };
        let expects = if lambda.is_some() {
            "between 1 and 2 arguments".to_string()
        } else {
            "between 1 and 3 arguments".to_string()
        };
        return Err(EvalError::new(format!(
            "'{name}' expects {expects}, got {got}"
        )));
    }
    let key = match &args[0] {
        Value::Str(s) => s.to_string(),
        other => {
            return Err(EvalError::new(format!(
                "'{name}' parameter 'key' expects a String value, got {}",
                troupe_values::types::infer_for_message(other)
            )))
        }
    };
    let (default, override_v) = match (lambda, args.len()) {
        (Some(_), 2) => (None, args.get(1).cloned()),
        (Some(_), _) => (None, None),
        (None, 1) => (None, None),
        (None, _) => (Some(args[1].clone()), args.get(2).cloned()),
    };
    deprecated(ev, name);
    let overrides: Vec<String> = match &override_v {
        None | Some(Value::Undef) => Vec::new(),
        Some(v) => troupe_values::value::flatten(std::slice::from_ref(v))
            .iter()
            .map(Value::to_display)
            .collect(),
    };
    let merge = match name {
        "hiera_hash" => Some(Value::str("hash")),
        "hiera_array" | "hiera_include" => Some(Value::str("unique")),
        _ => None,
    };
    let call = HieraCall {
        global_only: !ev.has_environment_data()?,
        overrides,
    };
    let found = ev.hiera_call(&key, merge, call)?;
    let v = match (found, default, lambda) {
        (Some(v), _, _) => v,
        (None, Some(d), _) => d,
        (None, None, Some(l)) => ev.call_lambda(l, &[Value::str(key.as_str())], e)?,
        (None, None, None) => {
            return Err(EvalError::plain(format!(
                "Function lookup() did not find a value for the name '{key}'"
            )))
        }
    };
    if name == "hiera_include" {
        if v.is_undef() {
            return Err(EvalError::new(format!("Could not find data item {key}")));
        }
        let loc = ev.loc(e);
        for c in troupe_values::value::flatten(&[v]) {
            ev.declare_class(&c.to_display(), loc.clone())?;
        }
        return Ok(Value::Undef);
    }
    Ok(v)
}
