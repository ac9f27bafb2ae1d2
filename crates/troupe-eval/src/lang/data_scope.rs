//! The evaluator as Hiera's `DataScope`: the environment's files, variables for `%{...}`,
//! the per-compile cache, and frames.

use crate::code::Environment;
use crate::data::hiera::{DataScope, HieraCache};
use crate::lang::eval::Evaluator;
use troupe_values::error::EResult;
use troupe_values::value::Value;

impl DataScope for Evaluator<'_> {
    fn env(&self) -> &dyn Environment {
        self.env
    }

    fn cache(&mut self) -> &mut HieraCache {
        &mut self.hiera
    }

    fn var_path(&mut self, expr: &str) -> EResult<Value> {
        Evaluator::var_path(self, expr)
    }

    fn var(&mut self, name: &str) -> EResult<Value> {
        Evaluator::lookup_var(self, name, None)
    }

    fn enter_frame(&mut self, kind: &str, name: &str) -> EResult<()> {
        Evaluator::enter_frame(self, kind, name)
    }

    fn leave_frame(&mut self) {
        Evaluator::leave_frame(self)
    }

    fn data_function(&mut self, name: &str, args: Vec<Value>) -> EResult<Option<Value>> {
        let exists = self
            .find_def(crate::code::LoadKind::Function, name)?
            .is_some()
            || crate::functions::core_fn(name).is_some()
            || self.ruby_function(name).is_some();
        if !exists {
            return Ok(None);
        }
        let call =
            troupe_syntax::ast::Expr::new(troupe_syntax::ast::ExprKind::Nop, Default::default());
        self.call_function_inner(name, args, None, &call).map(Some)
    }

    fn type_value(&mut self, text: &str) -> EResult<Value> {
        Ok(Value::Type(Evaluator::type_from_text(self, text)?.into()))
    }

    fn calling_class(&self) -> String {
        let mut s = Some(self.cur);
        while let Some(id) = s {
            let sc = &self.scopes[id];
            if sc.kind == crate::lang::scope::ScopeKind::Class {
                if let Some(r) = sc.resource {
                    return self.res[r].title.to_lowercase();
                }
            }
            s = sc.parent;
        }
        String::new()
    }
}

impl Evaluator<'_> {
    /// Looks `key` up in Hiera (global, environment, module layers); `None` when no layer
    /// has it.
    pub fn hiera_lookup(&mut self, key: &str, merge: Option<Value>) -> EResult<Option<Value>> {
        let scope: &mut dyn DataScope = self;
        scope.hiera_lookup(key, merge)
    }
}
