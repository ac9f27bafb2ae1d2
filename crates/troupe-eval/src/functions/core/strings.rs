//! Strings: `split`, case and whitespace functions, `sprintf`, `regsubst`, `match`,
//! `versioncmp`, `shellquote`, `scanf`.

use crate::functions::core::arity;
use crate::functions::core::map_strings;
use crate::functions::core::regsubst;
use crate::functions::core::scanf;
use crate::functions::core::shellquote;
use crate::functions::core::split_ruby;
use crate::functions::core::str_arg;
use crate::functions::core::string_fn;
use crate::functions::core::versioncmp;
use crate::lang::eval::Evaluator;
use crate::model::error::EResult;
use crate::model::error::EvalError;
use crate::model::types::Type;
use crate::model::value::flatten;
use crate::model::value::Value;
use crate::ruby::format::sprintf;
use std::rc::Rc;
use troupe_syntax::ast::{Expr, Lambda};

/// `split`.
pub(crate) fn split(
    _ev: &mut Evaluator<'_>,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 2, 2)?;
    let s = str_arg(name, &args[0], 1)?;
    let parts: Vec<Value> = match &args[1] {
        Value::Str(p) => {
            let re = crate::model::value::Regexp::new(p).map_err(EvalError::new)?;
            split_ruby(s, re.needs_plain("split").map_err(EvalError::new)?)
        }
        Value::Regex(r) => split_ruby(s, r.needs_plain("split").map_err(EvalError::new)?),
        Value::Type(t) => match t.resolved() {
            Type::Regexp(Some(r)) => split_ruby(s, r.needs_plain("split").map_err(EvalError::new)?),
            _ => {
                return Err(EvalError::new(
                    "'split' expects a String, Regexp or Type[Regexp] pattern",
                ))
            }
        },
        _ => {
            return Err(EvalError::new(
                "'split' expects a String, Regexp or Type[Regexp] pattern",
            ))
        }
    };
    Ok(Value::array(parts))
}

/// `upcase`, `downcase`, `capitalize`, `camelcase`, `strip`, `lstrip`, `rstrip`, `chomp`, `chop`.
pub(crate) fn upcase(
    _ev: &mut Evaluator<'_>,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 1, 1)?;
    Ok(map_strings(&args[0], &|s: &str| string_fn(name, s)))
}

/// `sprintf`.
pub(crate) fn sprintf_fn(
    _ev: &mut Evaluator<'_>,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 1, usize::MAX)?;
    let f = str_arg(name, &args[0], 1)?;
    Ok(Value::str(sprintf(f, &args[1..])?))
}

/// `regsubst`.
pub(crate) fn regsubst_fn(
    _ev: &mut Evaluator<'_>,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 3, 5)?;
    let target_ok = match &args[0] {
        Value::Str(_) => true,
        Value::Array(a) => a.iter().all(|x| matches!(x, Value::Str(_))),
        _ => false,
    };
    if !target_ok {
        return Err(EvalError::new(format!(
            "'regsubst' parameter 'target' expects a value of type Array or String, got {}",
            crate::model::types::infer_for_message(&args[0])
        )));
    }
    let flags = match args.get(3) {
        Some(Value::Str(s)) => s.to_string(),
        _ => String::new(),
    };
    let re = match &args[1] {
        Value::Str(p) => {
            let src = if flags.contains('I') {
                format!("(?i){p}")
            } else {
                p.to_string()
            };
            Rc::new(crate::model::value::Regexp::new(&src).map_err(EvalError::new)?)
        }
        Value::Regex(r) => r.clone(),
        _ => {
            return Err(EvalError::new(
                "'regsubst' parameter 'pattern' expects a value of type String or Regexp",
            ))
        }
    };
    let repl = str_arg(name, &args[2], 3)?.to_string();
    let global = flags.contains('G');
    let plain = re.needs_plain("regsubst").map_err(EvalError::new)?;
    Ok(map_strings(&args[0], &|s: &str| {
        regsubst(s, plain, &repl, global)
    }))
}

/// `match`.
pub(crate) fn match_fn(
    _ev: &mut Evaluator<'_>,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 2, 2)?;
    let re = match &args[1] {
        Value::Str(p) => Rc::new(crate::model::value::Regexp::new(p).map_err(EvalError::new)?),
        Value::Regex(r) => r.clone(),
        Value::Type(t) => match t.resolved() {
            Type::Pattern(ps) if !ps.is_empty() => ps[0].clone(),
            Type::Regexp(Some(r)) => r.clone(),
            _ => return Err(EvalError::new("'match' expects a pattern")),
        },
        _ => return Err(EvalError::new("'match' expects a pattern")),
    };
    let one = |s: &str| -> Value {
        match re.captures(s) {
            Some((_, caps)) => Value::array(caps),
            None => Value::Undef,
        }
    };
    match &args[0] {
        Value::Str(s) => Ok(one(s)),
        Value::Array(a) => Ok(Value::array(
            a.iter()
                .map(|x| x.as_str().map(one).unwrap_or(Value::Undef))
                .collect(),
        )),
        _ => Err(EvalError::new("'match' expects a String or Array[String]")),
    }
}

/// `versioncmp`.
pub(crate) fn versioncmp_fn(
    _ev: &mut Evaluator<'_>,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 2, 3)?;
    let a = str_arg(name, &args[0], "\'a\'")?;
    let b = str_arg(name, &args[1], "\'b\'")?;
    Ok(Value::Int(versioncmp(a, b)))
}

/// `scanf`.
pub(crate) fn scanf_fn(
    ev: &mut Evaluator<'_>,
    name: &str,
    args: Vec<Value>,
    lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 2, 2)?;
    let data = str_arg(name, &args[0], "\'data\'")?;
    let format = str_arg(name, &args[1], "\'format\'")?;
    let r = Value::array(scanf(data, format));
    match lambda {
        Some(l) => ev.call_lambda(l, &[r], e),
        None => Ok(r),
    }
}

/// `shellquote`.
pub(crate) fn shellquote_fn(
    _ev: &mut Evaluator<'_>,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let words: Vec<String> = flatten(&args)
        .iter()
        .map(|v| shellquote(&v.to_display()))
        .collect();
    Ok(Value::str(words.join(" ")))
}
