//! The evaluator as Puppet's Ruby `scope` object: what ERB templates (and later Ruby
//! functions) may ask of the compile, and nothing more.

use crate::lang::eval::Evaluator;
use troupe_ruby::erb::{RenderError, RubyScope};
use troupe_syntax::ast::{Expr, ExprKind};
use troupe_values::error::{EResult, EvalError};
use troupe_values::value::{Map, Value};

impl RubyScope for Evaluator<'_> {
    fn lookupvar(&mut self, name: &str) -> EResult<Value> {
        self.lookup_var(name, None)
    }

    fn setvar(&mut self, name: &str, v: Value) {
        let cur = self.cur;
        self.set_var_unchecked(cur, name, v);
    }

    fn replace_var(&mut self, name: &str, v: Value) {
        let cur = self.cur;
        if let Some(r) = self.scope_resource(cur) {
            if let Some(p) = self.res[r].params.get_mut(name) {
                *p = v.clone();
            }
        }
        self.set_var_unchecked(cur, name, v);
    }

    fn to_hash(&self) -> Map {
        self.visible_vars()
    }

    fn call_function(&mut self, name: &str, args: Vec<Value>) -> EResult<Value> {
        let dummy = Expr::new(ExprKind::Nop, Default::default());
        Evaluator::call_function(self, name, args, None, &dummy)
    }
}

impl Evaluator<'_> {
    /// Renders an ERB template in a `template` frame (errors name the file).
    /// A template troupe's interpreter cannot render (a method or construct it does not
    /// implement) renders in the Ruby helper, with Puppet's own template wrapper, when one
    /// is configured.
    pub(crate) fn render_erb(&mut self, src: &str, file: &str) -> EResult<String> {
        self.in_frame("template", file, |ev| {
            match troupe_ruby::erb::render_checked(ev, src, file) {
                Ok(s) => Ok(s),
                Err(RenderError::Failed(e)) => Err(e),
                Err(RenderError::Unsupported(u)) if ev.env.ruby().is_some() => {
                    let call = Expr::new(ExprKind::Nop, Default::default());
                    crate::functions::ruby::render_erb(ev, src, file, &call).map_err(
                        |(e, line)| {
                            if e.msg.contains("Failed to parse template") || e.loc.is_some() {
                                return e;
                            }
                            let line = line.map_or(u.line, |l| l as u32);
                            EvalError::new(format!(
                                "Failed to parse template {file}:\n  Filepath: {file}\n  Line: {line}\n  Detail: {}\n",
                                e.msg
                            ))
                        },
                    )
                }
                Err(RenderError::Unsupported(u)) => Err(troupe_ruby::erb::unsupported_error(&u)),
            }
        })
    }
}
