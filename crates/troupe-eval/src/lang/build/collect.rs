//! Collectors (`Type <| query |>`, `<<| |>>`) and `realize`.

use crate::catalog::parse_ref;
use crate::catalog::Kind;
use crate::lang::build::Collector;
use crate::lang::build::Override;
use crate::lang::build::ScopeId;
use crate::lang::eval::Evaluator;
use troupe_syntax::ast::{BinOp, Expr, ExprKind};
use troupe_values::error::EResult;
use troupe_values::error::EvalError;
use troupe_values::error::Loc;
use troupe_values::types::capitalize_type_name;
use troupe_values::types::Type;
use troupe_values::value::Value;
impl<'e> Evaluator<'e> {
    pub fn collect_expr(&mut self, e: &Expr) -> EResult<()> {
        self.collect_operand(e).map(|_| ())
    }

    pub(crate) fn collect_operand(&mut self, e: &Expr) -> EResult<usize> {
        let ExprKind::Collect {
            type_expr,
            exported,
            query,
            ops,
        } = &e.kind
        else {
            return self.err("not a collector", e);
        };
        let tn = match &type_expr.kind {
            ExprKind::QRef(n) => capitalize_type_name(n),
            _ => return self.err("Illegal collector type", e),
        };
        // Puppet's CollectorTransformer refuses classes and unknown types first.
        let lc = tn.to_lowercase();
        if lc == "class" {
            return self.err(
                "Error while evaluating a Virtual Query, Classes cannot be collected",
                e,
            );
        }
        if self.resource_type_info(&lc)?.is_none() {
            return self.err(
                format!("Error while evaluating a Virtual Query, Resource type {lc} doesn't exist"),
                e,
            );
        }
        let vals = self.eval_ops(ops)?;
        let mut filter = None;
        if *exported {
            if self.env.storeconfigs().is_some() {
                if let Some(q) = query.as_deref() {
                    filter = Some(self.pdb_filter(q)?);
                }
            } else {
                let l = self.loc_e(e);
                self.warn(format!("You cannot collect exported resources without storeconfigs being set; the collection will be ignored {l}"));
            }
        }
        let c = Collector {
            type_name: tn,
            query: query.as_deref().cloned(),
            ops: vals.into_iter().map(|(k, a, v, _)| (k, a, v)).collect(),
            scope: self.cur,
            src: self.src.clone(),
            collected: Vec::new(),
            exported: *exported,
            filter,
            searched: false,
        };
        self.collectors.push(c);
        Ok(self.collectors.len() - 1)
    }

    pub(crate) fn query_matches(&mut self, q: &Expr, idx: usize, scope: ScopeId) -> EResult<bool> {
        troupe_values::limits::grow(|| {
            match &q.kind {
                ExprKind::Paren(x) => self.query_matches(x, idx, scope),
                ExprKind::Binary {
                    op: BinOp::And,
                    lhs,
                    rhs,
                    ..
                } => {
                    Ok(self.query_matches(lhs, idx, scope)?
                        && self.query_matches(rhs, idx, scope)?)
                }
                ExprKind::Binary {
                    op: BinOp::Or,
                    lhs,
                    rhs,
                    ..
                } => {
                    Ok(self.query_matches(lhs, idx, scope)?
                        || self.query_matches(rhs, idx, scope)?)
                }
                ExprKind::Binary {
                    op: op @ (BinOp::Eq | BinOp::Ne),
                    lhs,
                    rhs,
                    ..
                } => {
                    let attr = match &lhs.kind {
                        ExprKind::QName(n) => n.clone(),
                        ExprKind::Variable(n) => n.clone(),
                        _ => return self.err("Illegal query expression", q),
                    };
                    let saved = self.cur;
                    self.cur = scope;
                    let want = self.eval(rhs);
                    self.cur = saved;
                    let want = want?;
                    let r = &self.res[idx];
                    if *op == BinOp::Ne {
                        // Puppet's `!=` compares the whole value of the attribute (a tag
                        // list too), and an attribute not set is undef.
                        let v = match r.params.get(&attr) {
                            Some(v) => Some(v.clone()),
                            None if attr == "title" || attr == "name" => {
                                Some(Value::str(r.title.as_str()))
                            }
                            None => None,
                        };
                        return Ok(match v {
                            Some(v) => {
                                !(v.puppet_eq(&want)
                                    || matches!((&v, &want), (Value::Type(_), Value::Str(s)) if crate::catalog::value_to_json(&v).as_str() == Some(s)))
                            }
                            None => !want.is_undef(),
                        });
                    }
                    let hit = if attr == "tag" {
                        let w = want.to_display().to_lowercase();
                        // The tags the resource will have: its own and, as `finish` adds them,
                        // its container's (Puppet's collectors see those already).
                        r.tags.contains(&w)
                            || (r.kind == Kind::Compilable
                                && r.file.is_some()
                                && self
                                    .scope_resource(r.scope)
                                    .is_some_and(|sr| sr != idx && self.res[sr].tags.contains(&w)))
                    } else if attr == "title" {
                        want.puppet_eq(&Value::str(r.title.as_str()))
                    } else {
                        match r.params.get(&attr) {
                            Some(Value::Array(a)) => a.iter().any(|x| x.puppet_eq(&want)),
                            Some(v) => {
                                v.puppet_eq(&want)
                                    || matches!((v, &want), (Value::Type(_), Value::Str(s)) if crate::catalog::value_to_json(v).as_str() == Some(s))
                            }
                            None if attr == "name" => want.puppet_eq(&Value::str(r.title.as_str())),
                            None => want.is_undef(),
                        }
                    };
                    Ok(if *op == BinOp::Eq { hit } else { !hit })
                }
                _ => self.err("Illegal query expression", q),
            }
        })
    }

    /// Runs every collector once; true if anything new was collected.
    pub(crate) fn run_collectors(&mut self) -> EResult<bool> {
        let mut changed = false;
        for ci in 0..self.collectors.len() {
            if self.collectors[ci].exported {
                changed |= self.collect_exported(ci)?;
                continue;
            }
            for idx in self.collector_candidates(ci, false)? {
                changed |= self.take_collected(ci, idx)?;
            }
        }
        Ok(changed)
    }

    /// The resources of collector `ci`'s type, exported or not, that it has not collected yet
    /// and its query matches (evaluated in the collector's scope and file).
    pub(crate) fn collector_candidates(
        &mut self,
        ci: usize,
        exported: bool,
    ) -> EResult<Vec<usize>> {
        let tn = self.collectors[ci].type_name.clone();
        let candidates: Vec<usize> = (0..self.res.len())
            .filter(|&i| self.res[i].type_name == tn && self.res[i].exported == exported)
            .filter(|i| !self.collectors[ci].collected.contains(i))
            .collect();
        let q = self.collectors[ci].query.clone();
        let scope = self.collectors[ci].scope;
        let mut out = Vec::new();
        for idx in candidates {
            let src = self.collectors[ci].src.clone();
            let saved = std::mem::replace(&mut self.src, src);
            let m = match &q {
                Some(q) => self.query_matches(q, idx, scope),
                None => Ok(true),
            };
            self.src = saved;
            if m? {
                out.push(idx);
            }
        }
        Ok(out)
    }

    /// Collector `ci` takes resource `idx`: realized, remembered, and given the collector's
    /// overrides. False if it had it already.
    pub(crate) fn take_collected(&mut self, ci: usize, idx: usize) -> EResult<bool> {
        self.res[idx].virtual_ = false;
        if self.collectors[ci].collected.contains(&idx) {
            return Ok(false);
        }
        self.collectors[ci].collected.push(idx);
        let ops = self.collectors[ci].ops.clone();
        if !ops.is_empty() {
            let scope = self.collectors[ci].scope;
            let source = self.override_source(scope);
            self.override_sources.insert(source);
            let ov = Override {
                type_name: self.collectors[ci].type_name.clone(),
                title: self.res[idx].title.clone(),
                ops,
                scope,
                loc: Loc {
                    file: String::new(),
                    line: 0,
                    col: None,
                },
            };
            self.apply_override(idx, &ov)?;
        }
        Ok(true)
    }

    pub fn realize(&mut self, refs: &[Value], e: &Expr) -> EResult<()> {
        for r in troupe_values::value::flatten(refs) {
            let (tn, title) = match &r {
                Value::Type(t) => match t.resolved() {
                    Type::Resource(Some(tn), Some(title)) => (tn.clone(), title.clone()),
                    _ => return self.err("realize(): argument must be a resource reference", e),
                },
                Value::Str(s) => match parse_ref(s) {
                    Some(x) => x,
                    None => return self.err("realize(): argument must be a resource reference", e),
                },
                _ => return self.err("realize(): argument must be a resource reference", e),
            };
            match self.find_resource(&tn, &title) {
                Some(idx) => self.res[idx].virtual_ = false,
                None => {
                    return Err(EvalError::new(format!("Error while evaluating a Function Call, Failed to realize virtual resources {tn}[{title}]")).at(self.loc_e(e)))
                }
            }
        }
        Ok(())
    }
}
