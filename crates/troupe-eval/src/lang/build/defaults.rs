//! Resource defaults (`File { ... }`) and overrides (`File["x"] { ... }`, `Class::Resource <| |>`).

use crate::lang::build::resources::tag_values;
use crate::lang::build::Override;
use crate::lang::build::ScopeId;
use crate::lang::eval::Evaluator;
use indexmap::IndexMap;
use troupe_syntax::ast::AttrOp;
use troupe_syntax::ast::{Expr, ExprKind};
use troupe_values::error::EResult;
use troupe_values::error::EvalError;
use troupe_values::types::Type;
use troupe_values::value::Value;
impl<'e> Evaluator<'e> {
    pub(crate) fn lookup_defaults(&self, scope: ScopeId, type_lc: &str) -> Vec<(String, Value)> {
        let mut chain = Vec::new();
        let mut s = Some(scope);
        while let Some(id) = s {
            chain.push(id);
            s = self.scopes[id].parent;
        }
        let mut out: IndexMap<String, Value> = IndexMap::new();
        for id in chain.into_iter().rev() {
            if let Some(ds) = self.scopes[id].defaults.get(type_lc) {
                for (k, v) in ds {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
        out.into_iter().collect()
    }

    pub fn resource_defaults(
        &mut self,
        type_expr: &Expr,
        ops: &[AttrOp],
        _e: &Expr,
    ) -> EResult<()> {
        let name = match &type_expr.kind {
            ExprKind::QRef(n) => n.to_lowercase(),
            _ => match &self.eval(type_expr)? {
                Value::Type(t) => match t.resolved() {
                    Type::Resource(Some(n), None) => n.to_lowercase(),
                    _ => return Ok(()),
                },
                _ => return Ok(()),
            },
        };
        let vals = self.eval_ops(ops)?;
        let cur = self.cur;
        let entry = self.scopes[cur].defaults.entry(name).or_default();
        for (k, _, v, _) in vals {
            entry.retain(|(x, _)| *x != k);
            entry.push((k, v));
        }
        Ok(())
    }

    pub fn resource_override(&mut self, target: &Expr, ops: &[AttrOp], e: &Expr) -> EResult<()> {
        if let ExprKind::Collect { .. } = target.kind {
            // `Type <| |> { ... }` is parsed as a collector with ops.
            return self.collect_expr(target);
        }
        let refs = self.eval(target)?;
        let vals = self.eval_ops(ops)?;
        let ops2: Vec<(String, bool, Value)> =
            vals.into_iter().map(|(k, a, v, _)| (k, a, v)).collect();
        let loc = self.line_loc(e.span);
        for r in troupe_values::value::flatten(&[refs]) {
            let (tn, title) = match &r {
                Value::Type(t) => match t.resolved() {
                    Type::Resource(Some(tn), Some(title)) if !tn.eq_ignore_ascii_case("class") => {
                        (tn.clone(), title.clone())
                    }
                    _ => return self.override_refused(&r, e),
                },
                _ => return self.override_refused(&r, e),
            };
            let ov = Override {
                type_name: tn,
                title,
                ops: ops2.clone(),
                scope: self.cur,
                loc: loc.clone(),
            };
            match self.find_resource(&ov.type_name, &ov.title) {
                Some(idx) => self.apply_override(idx, &ov)?,
                None => self.overrides.push(ov),
            }
        }
        Ok(())
    }

    /// Puppet's ILLEGAL_OVERRIDDEN_TYPE: an override names something not a resource.
    fn override_refused(&self, r: &Value, e: &Expr) -> EResult<()> {
        self.err(
            format!(
                "Resource Override can only operate on resources, got: {}",
                troupe_values::label::label(r)
            ),
            e,
        )
    }

    pub(crate) fn scope_class_chain(&self, scope: ScopeId) -> Vec<ScopeId> {
        let mut out = vec![scope];
        let mut s = self.scopes[scope].inherited;
        while let Some(id) = s {
            out.push(id);
            s = self.scopes[id].inherited;
        }
        out
    }

    /// What Puppet calls the source of a scope's code: the class (by name), the define (by
    /// type, shared by its instances), the node, or main.
    pub(crate) fn override_source(&self, scope: ScopeId) -> String {
        match self.scope_resource(scope) {
            Some(r) if self.res[r].type_name == "Class" => format!("Class[{}]", self.res[r].title),
            Some(r) => self.res[r].type_name.clone(),
            None => "Class[main]".to_string(),
        }
    }

    pub(crate) fn apply_override(&mut self, idx: usize, ov: &Override) -> EResult<()> {
        // Puppet: the override's source must be the resource's own or a subclass of it (or one
        // whose collector has overridden something); an already set parameter may be changed
        // only by a subclass (or such a collector's source).
        let rs = self.override_source(self.res[idx].scope);
        let os = self.override_source(ov.scope);
        let child = self.override_sources.contains(&os)
            || self
                .scope_class_chain(ov.scope)
                .iter()
                .skip(1)
                .any(|&s| self.override_source(s) == rs);
        if !child && os != rs {
            return Err(
                EvalError::plain("Only subclasses can override parameters").at(ov.loc.clone())
            );
        }
        for (k, append, v) in &ov.ops {
            let existing = self.res[idx].params.get(k).cloned();
            if let Some(old) = &existing {
                // Puppet ignores an override whose value is the scope's default for the
                // attribute, and lets the same source replace a value that came from a default.
                let type_lc = self.res[idx].type_name.to_lowercase();
                let defaults = self.lookup_defaults(self.res[idx].scope, &type_lc);
                let is_default = |x: &Value| defaults.iter().any(|(n, d)| n == k && d == x);
                if is_default(v) {
                    continue;
                }
                if !(child || (os == rs && is_default(old))) {
                    let r = &self.res[idx];
                    return Err(EvalError::plain(format!(
                        "Parameter '{k}' is already set on {} by {} at (file: {}, line: {}); cannot redefine",
                        r.reference(),
                        "#<Puppet::Resource::Type>",
                        r.file.clone().unwrap_or_default(),
                        r.line.unwrap_or(0),
                    ))
                    .at(ov.loc.clone()));
                }
            }
            let newv = if *append {
                match &existing {
                    Some(Value::Array(a)) => {
                        let mut x = (**a).clone();
                        x.extend(troupe_values::value::flatten(std::slice::from_ref(v)));
                        Value::array(x)
                    }
                    Some(old) if !old.is_undef() => {
                        let mut x = vec![old.clone()];
                        x.extend(troupe_values::value::flatten(std::slice::from_ref(v)));
                        Value::array(x)
                    }
                    _ => v.clone(),
                }
            } else {
                v.clone()
            };
            if newv.is_undef() {
                self.res[idx].params.shift_remove(k);
            } else {
                if k == "tag" {
                    for t in tag_values(&newv) {
                        self.res[idx].tag_with_segments(&t);
                    }
                }
                self.res[idx].params.insert(k.clone(), newv);
            }
        }
        Ok(())
    }
}
