//! [`Host`]: what a native function may ask of the compile that calls it. The evaluator
//! (`lang/`) implements it; functions name nothing of `lang/`, only this trait.
//!
//! It lists only what native functions need: calling lambdas and functions, reading
//! variables, facts and Hiera, resolving type names and definitions, the catalog's
//! resources (find, declare, realize, tag, contain), templates, the code's environment,
//! locations and warnings.

use crate::catalog::Resource;
use crate::code::{Code, Def, Environment, LoadKind};
use std::rc::Rc;
use std::sync::Arc;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::{EResult, Loc};
use troupe_values::types::Type;
use troupe_values::value::{Map, Value};

/// The compile as native functions see it.
pub(crate) trait Host {
    // The world and the node.

    /// The code and data the compile reads.
    fn env(&self) -> &dyn Environment;
    /// The node's facts hash (`$facts`).
    fn facts(&self) -> &Value;

    // Locations and messages.

    /// The location of a call site, for errors.
    fn loc(&self, e: &Expr) -> Loc;
    /// A compile warning, once.
    fn warn(&mut self, msg: String);
    /// `notice`, `warning`, ... : the message at `level`.
    fn log(&mut self, level: &str, args: &[Value]) -> Value;

    // Calls and variables.

    /// Calls a lambda with `args` (a checkpoint of the compile's budget).
    fn call_lambda(&mut self, l: &Lambda, args: &[Value], call: &Expr) -> EResult<Value>;
    /// Calls a function by name, as Puppet code would (`call`), its errors as they are.
    fn call_by_name(
        &mut self,
        name: &str,
        args: Vec<Value>,
        lambda: Option<&Lambda>,
        call: &Expr,
    ) -> EResult<Value>;
    /// A variable's value (`name` without `$`).
    fn lookup_var(&mut self, name: &str) -> EResult<Value>;
    /// `getvar`'s `name.key.key` path.
    /// (`getvar` now walks the path itself, with Puppet's navigation errors.)
    #[allow(dead_code)]
    fn var_path(&mut self, path: &str) -> EResult<Value>;
    /// Whether the variable is set (`defined('$x')`).
    fn var_defined(&mut self, name: &str) -> bool;
    /// Hiera's answer for `key`, `None` when not found.
    fn hiera_lookup(&mut self, key: &str, merge: Option<Value>) -> EResult<Option<Value>>;
    /// Hiera's answer for a hiera() family call.
    fn hiera_call(
        &mut self,
        key: &str,
        merge: Option<Value>,
        call: crate::data::hiera::HieraCall,
    ) -> EResult<Option<Value>>;
    /// Whether the environment has a data provider (a version 4/5 hiera.yaml).
    fn has_environment_data(&mut self) -> EResult<bool>;

    // Types and definitions.

    /// The type a name stands for (core types, aliases, resource types).
    fn resolve_type_name(&mut self, name: &str) -> EResult<Type>;
    /// A class's definition, loading it if need be.
    fn find_class(&mut self, name: &str) -> EResult<Option<Arc<Def>>>;
    /// A defined type's definition, loading it if need be.
    fn find_define(&mut self, name: &str) -> EResult<Option<Arc<Def>>>;
    /// A definition of `kind`, loading it if need be.
    fn find_def(&mut self, kind: LoadKind, name: &str) -> EResult<Option<Arc<Def>>>;

    // The catalog.

    /// The resource at `idx`.
    fn resource(&self, idx: usize) -> &Resource;
    /// The resource at `idx`, to change.
    fn resource_mut(&mut self, idx: usize) -> &mut Resource;
    /// The resource of `Type[title]`, if declared.
    fn find_resource(&self, type_name: &str, title: &str) -> Option<usize>;
    /// The resource (class or define instance) the current scope belongs to directly.
    fn scope_resource(&self) -> Option<usize>;
    /// The resource of the current scope or the nearest one enclosing it.
    fn enclosing_resource(&self) -> Option<usize>;
    /// Declares a class as a function call does (`include`); its resource.
    fn declare_class(&mut self, name: &str, loc: Loc) -> EResult<usize>;
    /// `create_resources`: declares each `title => attributes` of `h` (classes too).
    fn create_resources(&mut self, tn: &str, h: &Map, defaults: &Map, e: &Expr) -> EResult<()>;
    /// Realizes virtual resources.
    fn realize(&mut self, refs: &[Value], e: &Expr) -> EResult<()>;
    /// A containment edge.
    fn add_edge(&mut self, from: usize, to: usize);

    // Templates.

    /// Renders a parsed EPP template with its arguments (in a scope of its own that sees
    /// only top scope when `global_only`).
    fn render_epp(
        &mut self,
        code: Arc<Code>,
        args: Option<&Value>,
        global_only: bool,
        fname: &str,
    ) -> EResult<Value>;
    /// Renders an ERB template.
    fn render_erb(&mut self, src: &str, file: &str) -> EResult<String>;

    // Ruby.

    /// The Ruby helper session of the Ruby call in progress (nested calls share it).
    fn ruby_session(&mut self) -> &mut Option<Rc<troupe_rubyhost::Session>>;
    /// A type from its source text (`Optional[String[1]]`), as the Ruby helper writes it.
    fn parse_type(&mut self, text: &str) -> EResult<Type>;
    /// How many resources the catalog has (`resource(0..count)`).
    fn resource_count(&self) -> usize;
    /// Every variable the current scope sees, by name (a template's instance variables).
    fn visible_vars(&mut self) -> Map;
    /// Makes top scope the current scope (a 4.x Ruby function's closure scope); the scope
    /// to give back to [`Host::leave_top_scope`].
    fn enter_top_scope(&mut self) -> usize;
    /// Restores the scope [`Host::enter_top_scope`] returned.
    fn leave_top_scope(&mut self, saved: usize);
}
