//! EPP templates: a parsed template evaluated with its arguments, in a frame of its own.

use crate::code::Code;
use crate::lang::eval::Evaluator;
use crate::lang::scope::ScopeKind;
use std::sync::Arc;
use troupe_syntax::ast::ExprKind;
use troupe_values::error::{EResult, EvalError, Flow};
use troupe_values::value::Value;

impl Evaluator<'_> {
    /// Renders `code` (an EPP template) with `args` (its parameters' values), in the current
    /// scope, or in a new one that sees only top scope when `global_only` (`epp()`).
    pub(crate) fn render_epp(
        &mut self,
        code: Arc<Code>,
        args: Option<&Value>,
        global_only: bool,
        fname: &str,
    ) -> EResult<Value> {
        let path = code.source.path.clone();
        self.in_frame("template", &path, |ev| {
            ev.render_epp_in_frame(code, args, global_only, fname)
        })
    }

    fn render_epp_in_frame(
        &mut self,
        code: Arc<Code>,
        args: Option<&Value>,
        global_only: bool,
        fname: &str,
    ) -> EResult<Value> {
        let ExprKind::Epp { params, body } = &code.program.kind else {
            return Err(EvalError::new(format!(
                "{fname}(): the parser did not produce an EppExpression"
            )));
        };
        let saved_cur = self.cur;
        let sid = if global_only {
            self.new_scope(ScopeKind::Isolated, Some(self.top), None)
        } else {
            self.cur
        };
        let saved_src = std::mem::replace(&mut self.src, code.source.clone());
        let depth = self.scopes[sid].tables.len();
        self.scopes[sid].tables.push(Default::default());
        self.cur = sid;
        let r = (|| -> EResult<String> {
            let mut given = troupe_values::value::Map::default();
            if let Some(Value::Hash(h)) = args {
                given = (**h).clone();
            }
            match params {
                Some(ps) => {
                    for (k, _) in given.iter() {
                        let k = k.to_display();
                        if !ps.iter().any(|p| p.name == k) {
                            return Err(EvalError::new(format!(
                                "lambda: has no parameter named '{k}'"
                            )));
                        }
                    }
                    self.bind_epp_params(ps, &given)?;
                }
                None => {
                    for (k, v) in given.iter() {
                        let cur = self.cur;
                        self.scopes[cur]
                            .tables
                            .last_mut()
                            .map(|t| t.vars.insert(k.to_display(), v.clone()));
                    }
                }
            }
            self.render.push(String::new());
            let r = match body {
                Some(b) => self.eval(b),
                None => Ok(Value::Undef),
            };
            let out = self.render.pop().unwrap_or_default();
            match r {
                Ok(_)
                | Err(EvalError {
                    flow: Some(Flow::Return(_)),
                    ..
                }) => Ok(out),
                Err(e) => Err(e),
            }
        })();
        self.scopes[sid].tables.truncate(depth);
        self.cur = saved_cur;
        self.src = saved_src;
        r.map(Value::str)
    }
}
