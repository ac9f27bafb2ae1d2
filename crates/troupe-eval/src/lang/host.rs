//! The evaluator as native functions see it: `impl Host for Evaluator`, each method a call of
//! the evaluator's own.

use crate::catalog::Resource;
use crate::code::{Code, Def, Environment, LoadKind};
use crate::functions::host::Host;
use crate::lang::eval::Evaluator;
use std::rc::Rc;
use std::sync::Arc;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::{EResult, Loc};
use troupe_values::types::Type;
use troupe_values::value::{Map, Value};

impl Host for Evaluator<'_> {
    fn env(&self) -> &dyn Environment {
        self.env
    }

    fn facts(&self) -> &Value {
        &self.input.facts
    }

    fn loc(&self, e: &Expr) -> Loc {
        self.loc_e(e)
    }

    fn warn(&mut self, msg: String) {
        Evaluator::warn(self, msg)
    }

    fn log(&mut self, level: &str, args: &[Value]) -> Value {
        Evaluator::log(self, level, args)
    }

    fn call_lambda(&mut self, l: &Lambda, args: &[Value], call: &Expr) -> EResult<Value> {
        Evaluator::call_lambda(self, l, args, call)
    }

    fn call_by_name(
        &mut self,
        name: &str,
        args: Vec<Value>,
        lambda: Option<&Lambda>,
        call: &Expr,
    ) -> EResult<Value> {
        self.call_function_inner(name, args, lambda, call)
    }

    fn lookup_var(&mut self, name: &str) -> EResult<Value> {
        Evaluator::lookup_var(self, name, None)
    }

    fn var_path(&mut self, path: &str) -> EResult<Value> {
        Evaluator::var_path(self, path)
    }

    fn var_defined(&mut self, name: &str) -> bool {
        Evaluator::var_defined(self, name)
    }

    fn hiera_lookup(&mut self, key: &str, merge: Option<Value>) -> EResult<Option<Value>> {
        Evaluator::hiera_lookup(self, key, merge)
    }

    fn hiera_call(
        &mut self,
        key: &str,
        merge: Option<Value>,
        call: crate::data::hiera::HieraCall,
    ) -> EResult<Option<Value>> {
        let before = self.hiera.call.replace(call);
        let r = Evaluator::hiera_lookup(self, key, merge);
        self.hiera.call = before;
        r
    }

    fn has_environment_data(&mut self) -> EResult<bool> {
        let scope: &mut dyn crate::data::hiera::DataScope = self;
        scope.has_environment_data()
    }

    fn resolve_type_name(&mut self, name: &str) -> EResult<Type> {
        Evaluator::resolve_type_name(self, name)
    }

    fn find_class(&mut self, name: &str) -> EResult<Option<Arc<Def>>> {
        Evaluator::find_class(self, name)
    }

    fn find_define(&mut self, name: &str) -> EResult<Option<Arc<Def>>> {
        Evaluator::find_define(self, name)
    }

    fn find_def(&mut self, kind: LoadKind, name: &str) -> EResult<Option<Arc<Def>>> {
        Evaluator::find_def(self, kind, name)
    }

    fn resource(&self, idx: usize) -> &Resource {
        &self.res[idx]
    }

    fn resource_mut(&mut self, idx: usize) -> &mut Resource {
        &mut self.res[idx]
    }

    fn find_resource(&self, type_name: &str, title: &str) -> Option<usize> {
        Evaluator::find_resource(self, type_name, title)
    }

    fn scope_resource(&self) -> Option<usize> {
        self.scopes[self.cur].resource
    }

    fn enclosing_resource(&self) -> Option<usize> {
        Evaluator::scope_resource(self, self.cur)
    }

    fn declare_class(&mut self, name: &str, loc: Loc) -> EResult<usize> {
        Evaluator::declare_class(self, name, None, None, loc, "Function Call")
    }

    fn create_resources(&mut self, tn: &str, h: &Map, defaults: &Map, e: &Expr) -> EResult<()> {
        Evaluator::create_resources(self, tn, h, defaults, e)
    }

    fn realize(&mut self, refs: &[Value], e: &Expr) -> EResult<()> {
        Evaluator::realize(self, refs, e)
    }

    fn add_edge(&mut self, from: usize, to: usize) {
        Evaluator::add_edge(self, from, to)
    }

    fn render_epp(
        &mut self,
        code: Arc<Code>,
        args: Option<&Value>,
        global_only: bool,
        fname: &str,
    ) -> EResult<Value> {
        Evaluator::render_epp(self, code, args, global_only, fname)
    }

    fn render_erb(&mut self, src: &str, file: &str) -> EResult<String> {
        Evaluator::render_erb(self, src, file)
    }

    fn ruby_session(&mut self) -> &mut Option<Rc<troupe_rubyhost::Session>> {
        &mut self.ruby_session
    }

    fn parse_type(&mut self, text: &str) -> EResult<Type> {
        Evaluator::type_from_text(self, text)
    }

    fn resource_count(&self) -> usize {
        self.res.len()
    }

    fn visible_vars(&mut self) -> Map {
        Evaluator::visible_vars(self)
    }

    fn enter_top_scope(&mut self) -> usize {
        std::mem::replace(&mut self.cur, self.top)
    }

    fn leave_top_scope(&mut self, saved: usize) {
        self.cur = saved;
    }
}
