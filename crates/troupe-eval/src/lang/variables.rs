//! Variables: scopes, lookup (local, inherited, qualified), assignment, match variables.

use crate::lang::eval::undef_var_is_builtin;
use crate::lang::eval::Evaluator;
use crate::lang::scope::Scope;
use crate::lang::scope::ScopeId;
use crate::lang::scope::ScopeKind;
use crate::lang::scope::Table;
use std::rc::Rc;
use troupe_syntax::ast::Expr;
use troupe_values::error::EResult;
use troupe_values::error::EvalError;
use troupe_values::value::Value;
impl<'e> Evaluator<'e> {
    pub fn new_scope(
        &mut self,
        kind: ScopeKind,
        parent: Option<ScopeId>,
        resource: Option<usize>,
    ) -> ScopeId {
        self.scopes.push(Scope::new(kind, parent, resource));
        self.scopes.len() - 1
    }

    /// Where unqualified lookups go after the scope's own tables: the inherited class,
    /// else the first node or top scope up the dynamic parent chain.
    pub(crate) fn next_scope(&self, id: ScopeId) -> Option<ScopeId> {
        let s = &self.scopes[id];
        if let Some(i) = s.inherited {
            return Some(i);
        }
        match s.kind {
            ScopeKind::Top => None,
            ScopeKind::Isolated => Some(self.top),
            _ => {
                let mut p = s.parent?;
                loop {
                    let ps = &self.scopes[p];
                    if matches!(ps.kind, ScopeKind::Top | ScopeKind::Node) {
                        return Some(p);
                    }
                    match ps.parent {
                        Some(pp) => p = pp,
                        None => return Some(self.top),
                    }
                }
            }
        }
    }

    /// Puppet's `scope.to_hash`: every variable visible from the current scope, nearer scopes
    /// shadowing outer ones; undef values and match variables left out.
    pub fn visible_vars(&self) -> troupe_values::value::Map {
        let mut chain = Vec::new();
        let mut id = Some(self.cur);
        while let Some(s) = id {
            chain.push(s);
            id = self.next_scope(s);
        }
        let mut out = troupe_values::value::Map::default();
        for s in chain.into_iter().rev() {
            for t in &self.scopes[s].tables {
                for (k, v) in &t.vars {
                    if !v.is_undef() {
                        out.insert(Value::str(k.as_str()), v.clone());
                    } else {
                        out.shift_remove(&Value::str(k.as_str()));
                    }
                }
            }
        }
        out
    }

    pub fn lookup_var(&mut self, name: &str, e: Option<&Expr>) -> EResult<Value> {
        if let Some(first) = name.chars().next() {
            if first.is_ascii_digit() {
                let idx: usize = name.parse().unwrap_or(usize::MAX);
                let m = self.scopes[self.cur].matches().cloned();
                return Ok(m.and_then(|m| m.get(idx).cloned()).unwrap_or(Value::Undef));
            }
        }
        if let Some(stripped) = name.strip_prefix("::") {
            if !stripped.contains("::") {
                return Ok(self.scopes[self.top]
                    .local(stripped)
                    .cloned()
                    .unwrap_or(Value::Undef));
            }
            return self.lookup_qualified(stripped, e);
        }
        if name.contains("::") {
            return self.lookup_qualified(name, e);
        }
        let mut id = Some(self.cur);
        while let Some(s) = id {
            if let Some(v) = self.scopes[s].local(name) {
                return Ok(v.clone());
            }
            if let Some(g) = &self.param_guard {
                if g.scope == s {
                    if let Some(to) = g.names.iter().position(|n| n == name) {
                        let from = g.names.iter().position(|n| *n == g.from).unwrap_or(0);
                        let msg = if to < from {
                            format!("{}: expects a value for parameter ${name}", g.callee)
                        } else {
                            format!(
                                "{}: default expression for ${} tries to illegally access not yet evaluated ${name}",
                                g.callee, g.from
                            )
                        };
                        if let Some(g) = &mut self.param_guard {
                            g.failed = Some(msg.clone());
                        }
                        return Err(EvalError::new(msg));
                    }
                }
            }
            id = self.next_scope(s);
        }
        if !undef_var_is_builtin(name) {
            if let Some(e) = e {
                let l = self.loc_e(e);
                self.warn(format!("Unknown variable: '{name}'. {l}"));
            }
        }
        Ok(Value::Undef)
    }

    pub(crate) fn lookup_qualified(&mut self, name: &str, e: Option<&Expr>) -> EResult<Value> {
        let (class, var) = match name.rfind("::") {
            Some(i) => (&name[..i], &name[i + 2..]),
            None => ("", name),
        };
        let class = class.to_lowercase();
        if class.is_empty() {
            return Ok(self.scopes[self.top]
                .local(var)
                .cloned()
                .unwrap_or(Value::Undef));
        }
        if class == "settings" {
            return Ok(crate::lang::settings::setting(self, var));
        }
        match self.class_scopes.get(&class) {
            Some(&sid) => {
                let mut id = Some(sid);
                // A class's variables include those it inherits.
                while let Some(s) = id {
                    if let Some(v) = self.scopes[s].tables[0].vars.get(var) {
                        return Ok(v.clone());
                    }
                    id = self.scopes[s].inherited;
                }
                Ok(Value::Undef)
            }
            None => {
                if let Some(e) = e {
                    let l = self.loc_e(e);
                    let known = self.find_class(&class)?.is_some();
                    let why = if known {
                        "has not been evaluated"
                    } else {
                        "could not be found"
                    };
                    self.warn(format!(
                        "Could not look up qualified variable '{name}'; class {class} {why} {l}"
                    ));
                }
                Ok(Value::Undef)
            }
        }
    }

    /// `var.key.0`: a variable, then a dotted path into it (`getvar`, Hiera interpolation).
    pub fn var_path(&mut self, expr: &str) -> EResult<Value> {
        let mut parts = expr.trim().splitn(2, '.');
        let base = self.lookup_var(parts.next().unwrap_or(""), None)?;
        Ok(troupe_values::value::dig_path(base, parts.next()))
    }

    pub fn set_var(&mut self, name: &str, v: Value, e: &Expr) -> EResult<()> {
        if name.contains("::") {
            return self.err(
                format!("Cannot assign to a variable in another namespace: '${name}'"),
                e,
            );
        }
        if name.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            return self.err(
                format!("Illegal attempt to assign to the numeric match result variable '${name}'"),
                e,
            );
        }
        // Puppet's `set_variable`: `$server_facts` is always reserved; `$facts` and `$trusted`
        // where they are bound (top scope), elsewhere `Scope#setvar` refuses them.
        let bound = self.scopes[self.cur].local(name).is_some();
        if name == "server_facts" || (bound && matches!(name, "facts" | "trusted")) {
            return self.err(
                format!("Attempt to assign to a reserved variable name: '${name}'"),
                e,
            );
        }
        if matches!(name, "facts" | "trusted") {
            return self.err(
                format!("Error while evaluating a '=' expression, Attempt to assign to a reserved variable name: '{name}'"),
                e,
            );
        }
        let builtin = matches!(
            name,
            "name" | "title" | "module_name" | "caller_module_name"
        );
        let t = self.scopes[self.cur].assign_table();
        if t.vars.contains_key(name) || builtin {
            let l = self.loc_e(e);
            let what = if builtin {
                "built in (or already assigned) variable"
            } else {
                "variable"
            };
            return Err(EvalError::new(format!("Cannot reassign {what} '${name}'")).at(l));
        }
        t.vars.insert(name.to_string(), v);
        Ok(())
    }

    pub fn set_var_unchecked(&mut self, scope: ScopeId, name: &str, v: Value) {
        self.scopes[scope].tables[0]
            .vars
            .insert(name.to_string(), v);
    }

    pub(crate) fn with_match_guard<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> EResult<T>,
    ) -> EResult<T> {
        let cur = self.cur;
        let depth = self.scopes[cur].tables.len();
        self.scopes[cur].tables.push(Table {
            match_only: true,
            ..Default::default()
        });
        let r = f(self);
        self.scopes[cur].tables.truncate(depth);
        r
    }

    pub(crate) fn set_matches(&mut self, caps: Vec<Value>) {
        let cur = self.cur;
        let t = self.scopes[cur]
            .tables
            .iter_mut()
            .rev()
            .find(|t| t.match_only);
        match t {
            Some(t) => t.matches = Some(Rc::new(caps)),
            None => {
                self.scopes[cur].tables.push(Table {
                    match_only: true,
                    matches: Some(Rc::new(caps)),
                    ..Default::default()
                });
            }
        }
    }
}
