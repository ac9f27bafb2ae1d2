//! Binding a lambda's arguments as Puppet's `Closure` does: the callable type built from the
//! parameters (`create_callable_type`: an `Array[T, n, m]` slurp type counts `n..m`
//! arguments of type `T`, a required parameter may not follow an optional one), the values
//! bound to the parameters (`combine_values_with_parameters`: defaults, an empty or
//! defaulted slurp), and the check of the bound arguments against that callable type, which
//! fails like a function call given the wrong arguments (`block expects ...`).

use crate::lang::eval::Evaluator;
use troupe_syntax::ast::Lambda;
use troupe_values::error::{EResult, EvalError};
use troupe_values::types::{Type, INT_MAX};
use troupe_values::value::Value;

/// The callable type of a lambda: one type per parameter and the argument count range
/// (`INT_MAX` is unbounded).
pub(crate) struct LambdaSig {
    types: Vec<Type>,
    from: i64,
    to: i64,
}

/// Puppet's `range_to_s`.
fn range_text(from: i64, to: i64, zero: &str) -> String {
    if from == to {
        if from == 0 {
            zero.to_string()
        } else {
            from.to_string()
        }
    } else if from == 0 {
        if to == INT_MAX {
            "unlimited".to_string()
        } else {
            format!("at most {to}")
        }
    } else if to == INT_MAX {
        format!("at least {from}")
    } else {
        format!("between {from} and {to}")
    }
}

/// Puppet's `CountMismatch` message for a lambda.
fn count_message(from: i64, to: i64, got: usize) -> String {
    let one = (from == 1 && (to == 1 || to == INT_MAX)) || (from == 0 && to == 1);
    let got = got as i64;
    format!(
        "block expects {} argument{}, got {}",
        range_text(from, to, "no"),
        if one { "" } else { "s" },
        range_text(got, got, "none")
    )
}

impl<'e> Evaluator<'e> {
    /// `create_callable_type`: evaluates the parameter types in the current (enclosing)
    /// scope and refuses a required parameter after an optional one.
    pub(crate) fn lambda_sig(&mut self, l: &Lambda) -> EResult<LambdaSig> {
        let mut sig = LambdaSig {
            types: Vec::with_capacity(l.params.len()),
            from: 0,
            to: 0,
        };
        let mut optional = false;
        for p in &l.params {
            let ty = match &p.type_expr {
                Some(te) => match &self.eval(te)? {
                    Value::Type(t) => Type::clone(t),
                    _ => Type::Any,
                },
                None => Type::Any,
            };
            let (ty, from, to) = match ty {
                Type::Array(elem, min, max) if p.captures_rest => (*elem, min.max(0), max),
                ty if p.captures_rest => (ty, 0, INT_MAX),
                ty if p.default.is_some() => (ty, 0, 1),
                ty => (ty, 1, 1),
            };
            if from == 0 {
                optional = true;
            } else if optional {
                return Err(EvalError::new(format!(
                    "Parameter ${} is required but appears after optional parameters",
                    p.name
                ))
                .at(self.loc(p.span)));
            }
            sig.types.push(ty);
            sig.from = sig.from.saturating_add(from);
            sig.to = sig.to.saturating_add(to);
        }
        Ok(sig)
    }

    /// `combine_values_with_parameters`: binds each parameter in the innermost table of the
    /// current scope (defaults see the parameters before them) and returns the arguments as
    /// the callable type sees them (a slurp's values spread out).
    pub(crate) fn bind_lambda_args(&mut self, l: &Lambda, args: &[Value]) -> EResult<Vec<Value>> {
        let count = l.params.len();
        let names: std::rc::Rc<[String]> = l.params.iter().map(|p| p.name.clone()).collect();
        let cur = self.cur;
        let mut finals = Vec::with_capacity(args.len().max(count));
        for (i, p) in l.params.iter().enumerate() {
            let v = if i >= args.len() {
                match &p.default {
                    Some(d) => {
                        let v = self.eval_param_default(cur, "lambda", &names, &p.name, d, None)?;
                        match v {
                            Value::Array(_) => v,
                            v if p.captures_rest => Value::array(vec![v]),
                            v => v,
                        }
                    }
                    None if p.captures_rest => Value::array(Vec::new()),
                    None => {
                        return Err(EvalError::new(format!(
                            "Parameter ${} is required but no value was given",
                            p.name
                        ))
                        .at(self.loc(p.span)))
                    }
                }
            } else if p.captures_rest {
                let rest = args.get(count - 1..).unwrap_or_default();
                match (&p.default, rest) {
                    (Some(d), [Value::Undef]) => {
                        match self.eval_param_default(cur, "lambda", &names, &p.name, d, None)? {
                            v @ Value::Array(_) => v,
                            v => Value::array(vec![v]),
                        }
                    }
                    _ => Value::array(rest.to_vec()),
                }
            } else {
                args[i].clone()
            };
            match (&v, p.captures_rest) {
                (Value::Array(xs), true) => finals.extend(xs.iter().cloned()),
                _ => finals.push(v.clone()),
            }
            if let Some(t) = self.scopes[cur].tables.last_mut() {
                t.vars.insert(p.name.clone(), v);
            }
        }
        Ok(finals)
    }

    /// `callable_with?` on the bound arguments; the error is located by the function call
    /// that ran the lambda ("Error while evaluating a Function Call, block ...").
    pub(crate) fn check_lambda_args(
        &mut self,
        l: &Lambda,
        sig: &LambdaSig,
        finals: &[Value],
    ) -> EResult<()> {
        let n = finals.len() as i64;
        if n < sig.from || n > sig.to {
            return Err(EvalError::new(count_message(
                sig.from,
                sig.to,
                finals.len(),
            )));
        }
        let Some(last) = sig.types.len().checked_sub(1) else {
            return Ok(());
        };
        for (i, v) in finals.iter().enumerate() {
            let adx = i.min(last);
            let ty = &sig.types[adx];
            if !ty.accepts(v) {
                let what = format!("block parameter '{}'", l.params[adx].name);
                return Err(EvalError::new(troupe_values::describe::mismatch(
                    &what, ty, v,
                )));
            }
        }
        Ok(())
    }
}
