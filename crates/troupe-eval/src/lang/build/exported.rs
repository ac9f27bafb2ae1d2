//! Exported resources (`Type <<| query |>>`) with storeconfigs on: the collector's query as
//! PuppetDB's filter, and what other nodes exported made into resources of this catalog, as
//! Puppet's `ExportedCollector` and the PuppetDB terminus (`Puppet::Resource::Puppetdb`) do.
//!
//! Puppet builds the filter once, when the collector is evaluated (`match` of its
//! `CollectorTransformer`): `==`/`!=` on `tag` (lowercased), `title`, or a parameter, joined
//! by `and`/`or`. Collecting takes this node's own exported resources that match the query
//! and the rows PuppetDB returns for every other node; a row becomes a resource that is not
//! exported, has no file or line, and is contained by the collector's class. A resource of
//! the same type and title already in the catalog fails the compile unless it came from the
//! same node's same export (Puppet's `collector_id`).

use crate::catalog::valid_tag;
use crate::catalog::Kind;
use crate::catalog::Resource;
use crate::lang::build::module_types::TypeInfo;
use crate::lang::eval::Evaluator;
use serde_json::{json, Value as J};
use troupe_syntax::ast::{BinOp, Expr, ExprKind};
use troupe_values::error::EResult;
use troupe_values::error::EvalError;
use troupe_values::value::Value;

impl<'e> Evaluator<'e> {
    /// The collector's query as a PuppetDB query expression (the terminus's
    /// `build_expression` of Puppet's `match` arrays).
    pub(crate) fn pdb_filter(&mut self, q: &Expr) -> EResult<J> {
        troupe_values::limits::grow(|| match &q.kind {
            ExprKind::Paren(x) => self.pdb_filter(x),
            ExprKind::Binary {
                op: op @ (BinOp::And | BinOp::Or),
                lhs,
                rhs,
                ..
            } => {
                let l = self.pdb_filter(lhs)?;
                let r = self.pdb_filter(rhs)?;
                let name = if *op == BinOp::And { "and" } else { "or" };
                Ok(json!([name, l, r]))
            }
            ExprKind::Binary {
                op: op @ (BinOp::Eq | BinOp::Ne),
                lhs,
                rhs,
                ..
            } => {
                let field = match &lhs.kind {
                    ExprKind::QName(n) => n.clone(),
                    ExprKind::Variable(_) => self.eval(lhs)?.to_display(),
                    _ => return self.err("Illegal query expression", q),
                };
                let want = self.eval(rhs)?;
                let pred = match field.as_str() {
                    "tag" => match &want {
                        Value::Str(s) => json!(["=", "tag", s.to_lowercase()]),
                        other => {
                            return self.err(
                                format!(
                                    "undefined method `downcase' for {}",
                                    crate::catalog::value_to_json(other)
                                ),
                                q,
                            )
                        }
                    },
                    "title" => json!(["=", "title", crate::catalog::value_to_json(&want)]),
                    _ => json!([
                        "=",
                        ["parameter", field],
                        crate::catalog::value_to_json(&want)
                    ]),
                };
                Ok(if *op == BinOp::Ne {
                    json!(["not", pred])
                } else {
                    pred
                })
            }
            _ => self.err("Illegal query expression", q),
        })
    }

    /// One evaluation of exported collector `ci`: this node's matching exported resources,
    /// then (once per compile: the answer does not change within one) the other nodes'
    /// from the store. True if anything new was collected.
    pub(crate) fn collect_exported(&mut self, ci: usize) -> EResult<bool> {
        let Some(store) = self.env.storeconfigs() else {
            return Ok(false);
        };
        let tn = self.collectors[ci].type_name.clone();
        let scope = self.collectors[ci].scope;
        let mut found = self.collector_candidates(ci, true)?;
        if !self.collectors[ci].searched {
            self.collectors[ci].searched = true;
            let filter = self.collectors[ci].filter.clone();
            let rows = store
                .search(&tn, &self.input.certname, filter.as_ref())
                .map_err(EvalError::plain)?;
            for row in rows {
                if let Some(idx) = self.add_collected(&tn, &row, scope)? {
                    found.push(idx);
                }
            }
        }
        let mut changed = false;
        for idx in found {
            changed |= self.take_collected(ci, idx)?;
        }
        Ok(changed)
    }

    /// A PuppetDB row as a resource of this catalog; `None` when the same export is there
    /// already (collected by an earlier collector).
    fn add_collected(&mut self, tn: &str, row: &J, scope: usize) -> EResult<Option<usize>> {
        let title = match row.get("title") {
            Some(J::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => return Ok(None),
        };
        let certname = row.get("certname").and_then(J::as_str).unwrap_or_default();
        let id = format!("{certname}|{tn}|{title}");
        if let Some(existing) = self.find_resource(tn, &title) {
            if self.collector_ids.get(&existing) == Some(&id) {
                return Ok(None);
            }
            return Err(EvalError::plain(format!(
                "A duplicate resource was found while collecting exported resources, with the type and title {tn}[{title}]"
            )));
        }
        let (kind, namevar) = match self.resource_type_info(&tn.to_lowercase())? {
            Some(TypeInfo::Builtin(nv)) | Some(TypeInfo::ModuleType(nv, _, _)) => {
                (Kind::Compilable, nv)
            }
            Some(TypeInfo::Define(_)) => (Kind::Defined, "name"),
            None => (Kind::Unknown, "name"),
        };
        let mut params = crate::catalog::Params::default();
        if let Some(J::Object(m)) = row.get("parameters") {
            for (k, v) in m {
                params.insert(k.clone(), troupe_values::value::from_json(v));
            }
        }
        let mut r = Resource {
            type_name: tn.to_string(),
            title: title.clone(),
            params,
            tags: Vec::new(),
            file: None,
            line: None,
            exported: false,
            virtual_: false,
            kind,
            scope,
            evaluated: false,
            name_param: false,
            namevar,
        };
        if let Some(v) = r.params.get("tag").cloned() {
            for t in crate::lang::build::resources::tag_values(&v) {
                r.tag_with_segments(&t);
            }
        }
        r.tag_with_segments(&tn.to_lowercase());
        if valid_tag(&title) {
            r.tag_with_segments(&title);
        }
        // Puppet's `add_scope_tags` at finish; a define instance takes them when evaluated.
        let container = self.scope_resource(scope);
        if kind != Kind::Defined {
            if let Some(c) = container {
                let tags = self.res[c].tags.clone();
                r.merge_tags(&tags);
            }
        }
        let idx = self.add_resource(r);
        self.collector_ids.insert(idx, id);
        if let Some(c) = container {
            self.add_edge(c, idx);
        }
        Ok(Some(idx))
    }
}
