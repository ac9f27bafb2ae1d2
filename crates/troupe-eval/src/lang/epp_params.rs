//! Binding an EPP template's parameters by name, as Puppet's `Closure#call_by_name` does:
//! the given values first, then the defaults of those not given (or given undef), each in
//! Puppet's parameter scope, then the check of what is bound against the parameters.

use crate::lang::eval::Evaluator;
use troupe_syntax::ast::Param;
use troupe_values::error::{EResult, EvalError};
use troupe_values::value::{Map, Value};

impl Evaluator<'_> {
    /// Binds `given` to the template parameters `ps` in the innermost table of the current
    /// scope.
    pub(crate) fn bind_epp_params(&mut self, ps: &[Param], given: &Map) -> EResult<()> {
        for (k, _) in given.iter() {
            let k = k.to_display();
            if !ps.iter().any(|p| p.name == k) {
                return Err(EvalError::new(format!(
                    "lambda: has no parameter named '{k}'"
                )));
            }
        }
        let cur = self.cur;
        let bind = |s: &mut Self, name: &str, v: Value| {
            if let Some(t) = s.scopes[cur].tables.last_mut() {
                t.vars.insert(name.to_string(), v);
            }
        };
        let arg = |p: &Param| given.get(&Value::str(p.name.as_str())).cloned();
        for p in ps {
            if let Some(v) = arg(p).filter(|v| !v.is_undef()) {
                bind(self, &p.name, v);
            }
        }
        let names: std::rc::Rc<[String]> = ps.iter().map(|p| p.name.clone()).collect();
        let mut bound: Vec<bool> = ps
            .iter()
            .map(|p| arg(p).is_some_and(|v| !v.is_undef()))
            .collect();
        for (i, p) in ps.iter().enumerate() {
            if bound[i] {
                continue;
            }
            match &p.default {
                Some(d) => {
                    let v = self.eval_param_default(cur, "lambda", &names, &p.name, d, None)?;
                    bind(self, &p.name, v);
                    bound[i] = true;
                }
                None if arg(p).is_some() => {
                    bind(self, &p.name, Value::Undef);
                    bound[i] = true;
                }
                None => {}
            }
        }
        for (i, p) in ps.iter().enumerate() {
            if !bound[i] {
                return Err(EvalError::new(format!(
                    "lambda: expects a value for parameter '{}'",
                    p.name
                )));
            }
            let v = self.scopes[cur]
                .local(&p.name)
                .cloned()
                .unwrap_or(Value::Undef);
            if let Some(te) = &p.type_expr {
                if let Value::Type(t) = &self.eval(te)? {
                    if !t.accepts(&v) {
                        let m = troupe_values::describe::mismatch(
                            &format!("parameter '{}'", p.name),
                            t,
                            &v,
                        );
                        return Err(EvalError::new(format!("lambda: {m}")));
                    }
                }
            }
        }
        Ok(())
    }
}
