//! Calling a function: the resolution order (Puppet-language functions, the native registry,
//! module functions whose `.rb` is on the modulepath), lambdas, and `defined`'s variable test.

use crate::code::Def;
use crate::code::DefKind;
use crate::code::LoadKind;
use crate::lang::eval::Evaluator;
use crate::lang::scope::ScopeKind;
use crate::lang::scope::Table;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use troupe_syntax::ast::{Expr, ExprKind, Lambda, Param};
use troupe_values::error::{EResult, EvalError, Flow};
use troupe_values::value::Value;

impl<'e> Evaluator<'e> {
    pub fn call_function(
        &mut self,
        name: &str,
        args: Vec<Value>,
        lambda: Option<&Lambda>,
        e: &Expr,
    ) -> EResult<Value> {
        let r = self.call_function_inner(name, args, lambda, e);
        let label = match e.kind {
            ExprKind::MethodCall(_) => "Method call",
            _ => "Function Call",
        };
        r.map_err(|err| {
            if err.loc.is_none() && err.flow.is_none() && err.evaluation {
                EvalError {
                    msg: format!("Error while evaluating a {label}, {}", err.msg),
                    ..err
                }
                .at(self.loc_e(e))
            } else if err.flow.is_some() && err.loc.is_none() {
                // Where the break, next or return was called: what Puppet reports when
                // nothing stops it.
                let what = match err.flow {
                    Some(Flow::Break) => "break",
                    Some(Flow::Next(_)) => "next",
                    _ => "return",
                };
                let mut loc = self.loc_e(e);
                loc.col = None;
                EvalError {
                    msg: format!("{what}() from context where this is illegal"),
                    evaluation: false,
                    loc: Some(loc),
                    ..err
                }
            } else {
                err
            }
        })
    }

    pub(crate) fn log(&mut self, level: &str, args: &[Value]) -> Value {
        let msg: Vec<String> = args.iter().map(|a| a.to_display()).collect();
        self.warnings
            .push(format!("{level}: Scope(...): {}", msg.join(" ")));
        Value::Undef
    }

    pub(crate) fn call_function_inner(
        &mut self,
        name: &str,
        args: Vec<Value>,
        lambda: Option<&Lambda>,
        e: &Expr,
    ) -> EResult<Value> {
        let name = name.trim_start_matches("::");
        // Puppet-language functions (autoloaded) shadow nothing built in but are found first
        // when qualified.
        if name.contains("::") {
            if let Some(def) = self.find_def(LoadKind::Function, name)? {
                return self.call_puppet_function(def, args);
            }
        }
        if let Some(f) = crate::functions::core_fn(name) {
            return f(self, name, args, lambda, e);
        }
        if let Some(def) = self.find_def(LoadKind::Function, name)? {
            return self.call_puppet_function(def, args);
        }
        // A native stand-in for a module's Ruby function exists only where Puppet
        // would find that function: its Ruby file in a module on the modulepath.
        if let Some(RubyFn { api, file, native }) = self.ruby_function(name) {
            // Puppet passes a 3.x function a top-level undef as an empty string.
            let args: Vec<Value> = if api == RubyApi::Legacy {
                args.into_iter()
                    .map(|a| if a.is_undef() { Value::str("") } else { a })
                    .collect()
            } else {
                args
            };
            if native {
                if let Some((_, f)) = crate::functions::module_fn(name) {
                    return f(self, name, args, lambda, e);
                }
            }
            // No native version checked against this file: the module's own Ruby runs in a
            // Ruby helper.
            let legacy = api == RubyApi::Legacy;
            return crate::functions::ruby::call(self, name, legacy, &file, args, lambda, e);
        }
        if name == "import" {
            return self.err("Use of 'import' has been discontinued in favor of a manifest directory. See http://links.puppet.com/puppet-import-deprecation", e);
        }
        Err(EvalError::new(format!("Unknown function: '{name}'.")).at(self.loc_e(e)))
    }

    pub fn var_defined(&mut self, name: &str) -> bool {
        let name = name.trim_start_matches("::");
        if name.contains("::") {
            let (class, var) = match name.rfind("::") {
                Some(i) => (&name[..i], &name[i + 2..]),
                None => ("", name),
            };
            // `$settings::x` reads Puppet's settings: those troupe knows are defined.
            if class.eq_ignore_ascii_case("settings") {
                return !matches!(crate::lang::settings::setting(self, var), Value::Undef);
            }
            return self
                .class_scopes
                .get(&class.to_lowercase())
                .is_some_and(|&s| self.scopes[s].tables[0].vars.contains_key(var));
        }
        let mut id = Some(self.cur);
        while let Some(s) = id {
            if self.scopes[s].local(name).is_some() {
                return true;
            }
            id = if s == self.top {
                None
            } else {
                self.scopes[s].inherited.or(Some(self.top))
            };
        }
        false
    }
}

/// The API a module's Ruby function is written against.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum RubyApi {
    /// `Puppet::Functions.create_function` (4.x): sees Puppet values as they are.
    Modern,
    /// `Puppet::Parser::Functions.newfunction` (3.x): a top-level undef argument arrives as `''`.
    Legacy,
}

/// A module's Ruby function as the modulepath ships it, found once per compile.
#[derive(Clone, Debug)]
pub(crate) struct RubyFn {
    pub(crate) api: RubyApi,
    /// The file that defines it.
    pub(crate) file: PathBuf,
    /// Whether troupe's native stand-in serves it: one exists and was checked against this
    /// very file (stdlib's always are), or no Ruby helper could run the file itself.
    pub(crate) native: bool,
}

impl Evaluator<'_> {
    /// How a module on the modulepath ships the Ruby function `name`: `lib/puppet/functions/
    /// [NS/]NAME.rb` (the 4.x API, preferred by Puppet) or only the 3.x
    /// `lib/puppet/parser/functions/NAME.rb`, and that file; `None` when no module does.
    pub(crate) fn ruby_function(&mut self, name: &str) -> Option<RubyFn> {
        if let Some(known) = self.ruby_functions.get(name) {
            return known.clone();
        }
        let modern = format!("lib/puppet/functions/{}.rb", name.replace("::", "/"));
        let legacy = format!("lib/puppet/parser/functions/{name}.rb");
        let has = |ev: &Self, dir: &Path, file: &str| ev.env.read(&dir.join(file)).is_some();
        let kind = |ev: &Self, dir: &Path| {
            if has(ev, dir, &modern) {
                Some((RubyApi::Modern, dir.join(&modern)))
            } else if !name.contains("::") && has(ev, dir, &legacy) {
                Some((RubyApi::Legacy, dir.join(&legacy)))
            } else {
                None
            }
        };
        // The module that ships it (its namespace, or the native stand-in's home) decides;
        // only when it is absent are the other modules searched.
        let home = match name.split_once("::") {
            Some((ns, _)) => Some(ns),
            None => Some(crate::functions::module_fn(name).map_or("stdlib", |(home, _)| home)),
        };
        let mut found = home
            .and_then(|m| self.env.module_dir(m))
            .and_then(|d| kind(self, &d));
        // `environment::` functions written in Ruby live in the environment's own lib.
        if found.is_none() && name.starts_with("environment::") {
            let dir = self.env.dir();
            if has(self, &dir, &modern) {
                found = Some((RubyApi::Modern, dir.join(&modern)));
            }
        }
        if found.is_none() {
            let modules = self.env.modules();
            found = modules
                .iter()
                .find(|(_, d)| has(self, d, &modern))
                .map(|(_, d)| (RubyApi::Modern, d.join(&modern)));
            if found.is_none() && !name.contains("::") {
                found = modules
                    .iter()
                    .find(|(_, d)| has(self, d, &legacy))
                    .map(|(_, d)| (RubyApi::Legacy, d.join(&legacy)));
            }
        }
        let found = found.map(|(api, file)| {
            let native = crate::functions::module_fn(name).is_some_and(|(home, _)| {
                home == "stdlib"
                    || self.env.ruby().is_none()
                    || self.env.read(&file).is_some_and(|src| {
                        crate::functions::modules::verified::verified(name, &src)
                    })
            });
            RubyFn { api, file, native }
        });
        self.ruby_functions.insert(name.to_string(), found.clone());
        found
    }
}

impl<'e> Evaluator<'e> {
    /// Calls a lambda with positional arguments in a local scope of the current scope.
    pub fn call_lambda(&mut self, l: &Lambda, args: &[Value], call: &Expr) -> EResult<Value> {
        // Every iteration of every loop is a checkpoint of the compile's budget.
        troupe_values::limits::checkpoint().map_err(|err| err.at(self.loc_e(call)))?;
        let sig = self.lambda_sig(l)?;
        let cur = self.cur;
        let depth = self.scopes[cur].tables.len();
        self.scopes[cur].tables.push(Table::default());
        let r = self
            .bind_lambda_args(l, args)
            .and_then(|finals| self.check_lambda_args(l, &sig, &finals))
            .and_then(|()| match &l.body {
                Some(b) => self.eval(b),
                None => Ok(Value::Undef),
            });
        self.scopes[cur].tables.truncate(depth);
        match r {
            Err(EvalError {
                flow: Some(Flow::Next(v)),
                ..
            }) => Ok(v),
            r => r,
        }
    }

    /// A class or define body: `next()` and `return()` end it, as Puppet's
    /// `Resource::Type#evaluate_code` catches both.
    pub(crate) fn eval_body(&mut self, b: &Expr) -> EResult<()> {
        match self.eval(b) {
            Err(EvalError {
                flow: Some(Flow::Next(_) | Flow::Return(_)),
                ..
            }) => Ok(()),
            r => r.map(|_| ()),
        }
    }

    pub fn call_puppet_function(&mut self, def: Arc<Def>, args: Vec<Value>) -> EResult<Value> {
        let name = def.name.clone();
        self.in_frame("function", &name, |s| {
            s.call_puppet_function_inner(def, args)
        })
    }

    pub(crate) fn call_puppet_function_inner(
        &mut self,
        def: Arc<Def>,
        args: Vec<Value>,
    ) -> EResult<Value> {
        let sid = self.new_scope(ScopeKind::Isolated, Some(self.top), None);
        let saved_src = std::mem::replace(&mut self.src, def.source.clone());
        let saved_cur = self.cur;
        self.cur = sid;
        let r = (|| -> EResult<Value> {
            self.bind_params(&def.name, &def.params, &args)?;
            let v = match &def.body {
                Some(b) => self.eval(b),
                None => Ok(Value::Undef),
            };
            let v = match v {
                Err(EvalError {
                    flow: Some(Flow::Return(v) | Flow::Next(v)),
                    ..
                }) => v,
                other => other?,
            };
            if let DefKind::Function {
                return_type: Some(rt),
            } = &def.kind
            {
                if let Value::Type(t) = &self.eval(rt)? {
                    if !t.accepts(&v) {
                        return Err(EvalError::new(troupe_values::describe::mismatch(
                            &format!("value returned from {} has wrong type,", def.name),
                            t,
                            &v,
                        )));
                    }
                }
            }
            Ok(v)
        })();
        self.cur = saved_cur;
        self.src = saved_src;
        r
    }

    /// Binds positional arguments to parameters in the current scope.
    pub fn bind_params(&mut self, what: &str, params: &[Param], args: &[Value]) -> EResult<()> {
        let required = params
            .iter()
            .filter(|p| p.default.is_none() && !p.captures_rest)
            .count();
        let has_rest = params.iter().any(|p| p.captures_rest);
        if args.len() < required || (!has_rest && args.len() > params.len()) {
            let expected = if has_rest {
                format!("at least {required}")
            } else if required == params.len() {
                format!("{}", params.len())
            } else {
                format!("between {} and {}", required, params.len())
            };
            return Err(EvalError::new(format!(
                "'{what}' expects {expected} argument{}, got {}",
                if params.len() == 1 && !has_rest {
                    ""
                } else {
                    "s"
                },
                // Puppet says "got none" for no arguments.
                match args.len() {
                    0 => "none".to_string(),
                    n => n.to_string(),
                }
            )));
        }
        let names: std::rc::Rc<[String]> = params.iter().map(|p| p.name.clone()).collect();
        for (i, p) in params.iter().enumerate() {
            let v = if p.captures_rest {
                Value::array(args.get(i..).map(|x| x.to_vec()).unwrap_or_default())
            } else if let Some(a) = args.get(i) {
                a.clone()
            } else if let Some(d) = &p.default {
                let cur = self.cur;
                self.eval_param_default(cur, what, &names, &p.name, d, None)?
            } else {
                Value::Undef
            };
            if let Some(te) = &p.type_expr {
                if let Value::Type(ty) = &self.eval(te)? {
                    let ok = if p.captures_rest {
                        matches!(&v, Value::Array(xs) if xs.iter().all(|x| ty.is_instance(x)))
                    } else {
                        ty.is_instance(&v)
                    };
                    if !ok {
                        let msg = troupe_values::describe::mismatch(
                            &format!("parameter '{}'", p.name),
                            ty,
                            &v,
                        );
                        return Err(EvalError::new(format!("'{what}' {msg}")));
                    }
                }
            }
            let cur = self.cur;
            self.scopes[cur].tables[0].vars.insert(p.name.clone(), v);
        }
        Ok(())
    }
}
