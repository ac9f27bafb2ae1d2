//! What an external node classifier gives a compile (Puppet's `node_terminus = exec`): its
//! parameters become top-scope variables before the facts (a fact of the same name does not
//! replace one, and Puppet warns once), and its classes are declared after the node
//! definition, in the node's scope when a node definition matched (else at top scope): those
//! with parameters resource-like first, then the others as by `include`.

use crate::lang::eval::Evaluator;
use crate::lang::scope::ScopeKind;
use indexmap::IndexMap;
use troupe_values::error::EResult;
use troupe_values::error::EvalError;
use troupe_values::error::Loc;
use troupe_values::value::{from_json, Value};

/// How errors of a classifier's classes name the statement.
const STMT: &str = "Resource Statement";

impl<'e> Evaluator<'e> {
    /// Sets the classifier's parameters at top scope; the names of facts they shadow.
    pub(crate) fn set_node_parameters(&mut self) {
        let top = self.top;
        for (k, v) in self.input.node.parameters.clone() {
            // `$environment` comes from the node's environment, never from a parameter.
            if k != "environment" {
                self.set_var_unchecked(top, &k, from_json(&v));
            }
        }
    }

    /// Whether a fact named `k` may become a top-scope variable: not when the classifier set
    /// a parameter of that name (then Puppet warns, once per name).
    pub(crate) fn fact_shadowed(&mut self, k: &str, fact: &Value) -> bool {
        let Some((_, v)) = self.input.node.parameters.iter().find(|(p, _)| p == k) else {
            return false;
        };
        let msg = format!(
            "The node parameter '{k}' for node '{}' was already set to '{}'. It could not be set to '{}'",
            self.input.certname,
            from_json(v).to_display(),
            fact.to_display()
        );
        self.warn(msg);
        true
    }

    /// Declares the classifier's classes (after the node definition).
    pub(crate) fn evaluate_node_classes(&mut self) -> EResult<()> {
        if self.input.node.classes.is_empty() {
            return Ok(());
        }
        let scope = (0..self.scopes.len())
            .find(|&i| self.scopes[i].kind == ScopeKind::Node)
            .unwrap_or(self.top);
        let classes = self.input.node.classes.clone();
        let (with, without): (Vec<_>, Vec<_>) = classes
            .into_iter()
            .partition(|(_, p)| p.as_ref().is_some_and(|p| !p.is_empty()));
        for group in [with, without] {
            // Puppet looks every class of a group up before declaring any.
            for (name, _) in &group {
                let n = name.trim_start_matches("::").to_lowercase();
                if self.find_class(&n)?.is_none() {
                    return Err(EvalError::plain(format!(
                        "Could not find class {name} for {}",
                        self.input.certname
                    )));
                }
            }
            let saved = std::mem::replace(&mut self.cur, scope);
            self.declare_lazily = true;
            let mut r = Ok(0);
            for (name, params) in group {
                let params = params.map(|p| {
                    p.into_iter()
                        .map(|(k, v)| (k, from_json(&v)))
                        .collect::<IndexMap<String, Value>>()
                });
                r = self.declare_class(&name, params, None, nowhere(), STMT);
                if r.is_err() {
                    break;
                }
            }
            self.declare_lazily = false;
            self.cur = saved;
            r?;
        }
        Ok(())
    }

    /// Evaluates class resource `idx` if it is a classifier's class not evaluated yet (the
    /// generators call this in catalog order, with the defines); whether it was one.
    pub(crate) fn evaluate_lazy_class(&mut self, idx: usize) -> EResult<bool> {
        let Some(given) = self.lazy_classes.remove(&idx) else {
            return Ok(false);
        };
        self.res[idx].evaluated = true;
        let title = self.res[idx].title.clone();
        let Some(def) = self.find_class(&title.to_lowercase())? else {
            return Ok(true);
        };
        self.class_list.push(def.name.clone());
        let saved = std::mem::replace(&mut self.cur, self.res[idx].scope);
        let r = self.evaluate_class(&def, idx, &title, &given, nowhere(), STMT);
        self.cur = saved;
        r.map(|_| true)
    }
}

/// Classes from a classifier come from no file.
fn nowhere() -> Loc {
    Loc {
        file: String::new(),
        line: 0,
        col: None,
    }
}
