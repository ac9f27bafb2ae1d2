//! Relationships: `->`, `~>`, `<-`, `<~` between resources, collectors and arrays of them.

use crate::lang::build::Operand;
use crate::lang::build::Relationship;
use crate::lang::eval::Evaluator;
use troupe_syntax::ast::{Expr, ExprKind};
use troupe_values::error::EResult;
use troupe_values::error::EvalError;
use troupe_values::types::capitalize_type_name;
use troupe_values::types::Type;
use troupe_values::value::{FastState, Value};
impl<'e> Evaluator<'e> {
    pub(crate) fn rel_operand(&mut self, e: &Expr, rel: &Expr) -> EResult<Operand> {
        match &e.kind {
            ExprKind::Relationship { .. } => self.relationship(e),
            ExprKind::Collect { .. } => Ok(Operand::Collector(self.collect_operand(e)?)),
            _ => {
                let v = self.eval(e)?;
                let mut refs = Vec::new();
                for x in troupe_values::value::flatten(&[v]) {
                    match &x {
                        Value::Type(t) => match t.resolved() {
                            Type::Resource(Some(tn), Some(title)) => refs.push((tn.clone(), title.clone())),
                            Type::Class(Some(n)) => refs.push(("Class".to_string(), n.clone())),
                            _ => return self.err("Illegal relationship operand, can not form a relationship with a Type. A Catalog type is required.", e),
                        },
                        // Puppet parses the string as a type reference written in Puppet.
                        Value::Str(s) => refs.extend(self.rel_string_refs(s, rel)?),
                        Value::Undef => {}
                        other => return self.err(format!("Illegal relationship operand, can not form a relationship with {}. A Catalog type is required.", troupe_values::value::a_value(other)), e),
                    }
                }
                Ok(Operand::Refs(refs))
            }
        }
    }

    /// Evaluates a chain; returns its right operand (for `a -> b -> c`).
    pub fn relationship(&mut self, e: &Expr) -> EResult<Operand> {
        let ExprKind::Relationship { op, lhs, rhs, .. } = &e.kind else {
            return self.err("not a relationship", e);
        };
        let l = self.rel_operand(lhs, e)?;
        let r = self.rel_operand(rhs, e)?;
        // Puppet's RelationshipOperator: with an empty side there is no relationship, and
        // the side that is not empty is passed on.
        let empty = |o: &Operand| matches!(o, Operand::Refs(v) if v.is_empty());
        if empty(&l) || empty(&r) {
            return Ok(if empty(&l) { r } else { l });
        }
        let left = l.clone();
        use troupe_syntax::ast::RelOp;
        let (source, target, param) = match op {
            RelOp::Before => (l, r.clone(), "before"),
            RelOp::Notify => (l, r.clone(), "notify"),
            RelOp::Require => (r.clone(), l, "before"),
            RelOp::Subscribe => (r.clone(), l, "notify"),
        };
        self.relationships.push(Relationship {
            source,
            target,
            param,
        });
        Ok(match r {
            Operand::Collector(_) | Operand::OrElse(..) => {
                Operand::OrElse(Box::new(r), Box::new(left))
            }
            r => r,
        })
    }

    pub(crate) fn operand_refs(&self, o: &Operand) -> Vec<(String, String)> {
        match o {
            Operand::Refs(r) => r.clone(),
            Operand::Collector(c) => self.collectors[*c]
                .collected
                .iter()
                .map(|&i| (self.res[i].type_name.clone(), self.res[i].title.clone()))
                .collect(),
            Operand::OrElse(a, b) => {
                let r = self.operand_refs(a);
                if r.is_empty() {
                    self.operand_refs(b)
                } else {
                    r
                }
            }
        }
    }

    pub(crate) fn ref_display(tn: &str, title: &str) -> String {
        if tn == "Class" {
            format!("Class[{}]", capitalize_type_name(title))
        } else {
            format!("{tn}[{title}]")
        }
    }

    /// A resource by title, uniqueness key or one of its `alias`es (Puppet's catalog
    /// registers those when the resource is added).
    pub(crate) fn find_ref(&self, tn: &str, title: &str) -> Option<usize> {
        // As Puppet's `Catalog#resource`: by title, then by the uniqueness key the title
        // gives (`File['/x/']` is `/x`), then by alias.
        let key = crate::catalog::schema::namevar_from_title(tn, title);
        let by_key = || {
            (key != title)
                .then(|| self.find_resource(tn, key))
                .flatten()
        };
        self.find_resource(tn, title).or_else(by_key).or_else(|| {
            self.res.iter().position(|r| {
                r.type_name.eq_ignore_ascii_case(tn)
                    && (crate::catalog::schema::namevar_from_title(tn, &r.title) == key
                        || r.params.get("alias").is_some_and(|a| {
                            troupe_values::value::flatten(std::slice::from_ref(a))
                                .iter()
                                .any(|x| matches!(x, Value::Str(s) if &**s == title))
                        }))
            })
        })
    }

    pub(crate) fn evaluate_relationships(&mut self) -> EResult<()> {
        let rels = std::mem::take(&mut self.relationships);
        // What each source gains, by resource and parameter in the order first touched: the
        // references are appended once at the end rather than re-copying the parameter's
        // array for every pair (a collector on either side makes many pairs).
        let mut gained: indexmap::IndexMap<(usize, &'static str), Vec<Value>, FastState> =
            Default::default();
        for rel in &rels {
            let sources = self.operand_refs(&rel.source);
            let targets: Vec<(Option<usize>, String)> = self
                .operand_refs(&rel.target)
                .iter()
                .map(|(ttn, tt)| (self.find_ref(ttn, tt), Self::ref_display(ttn, tt)))
                .collect();
            for (stn, st) in &sources {
                let s = self.find_ref(stn, st);
                let sd = Self::ref_display(stn, st);
                for (t, td) in &targets {
                    let Some(si) = s else {
                        return Err(EvalError::plain(format!(
                            "Could not find resource '{sd}' for relationship on '{td}'"
                        )));
                    };
                    if t.is_none() {
                        return Err(EvalError::plain(format!(
                            "Could not find resource '{td}' for relationship from '{sd}'"
                        )));
                    }
                    gained
                        .entry((si, rel.param))
                        .or_default()
                        .push(Value::str(td.as_str()));
                }
            }
        }
        for ((si, param), refs) in gained {
            let entry = self.res[si].params.get(param).cloned();
            let mut arr = match &entry {
                Some(Value::Array(a)) => (**a).clone(),
                Some(v) if !v.is_undef() => vec![v.clone()],
                _ => vec![],
            };
            arr.extend(refs);
            self.res[si]
                .params
                .insert(param.to_string(), Value::array(arr));
        }
        Ok(())
    }
}
