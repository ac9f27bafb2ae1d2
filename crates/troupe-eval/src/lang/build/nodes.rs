//! Node definitions: matching the certname (names, regexes, `default`).

use crate::catalog::valid_tag;
use crate::catalog::Kind;
use crate::catalog::Resource;
use crate::code::Def;
use crate::code::DefKind;
use crate::lang::eval::Evaluator;
use crate::lang::scope::ScopeKind;
use std::sync::Arc;
use troupe_syntax::ast::{ExprKind, Literal};
use troupe_values::error::EResult;
use troupe_values::error::EvalError;
use troupe_values::value::Value;
impl<'e> Evaluator<'e> {
    pub(crate) fn evaluate_node(&mut self) -> EResult<()> {
        if self.nodes.is_empty() {
            return Ok(());
        }
        let name = self.input.certname.to_lowercase();
        let nodes = self.nodes.clone();
        let mut chosen: Option<(Arc<Def>, String, Option<Vec<Value>>)> = None;
        let mut default: Option<Arc<Def>> = None;
        // Exact names first.
        'outer: for d in &nodes {
            if let DefKind::Node { hosts } = &d.kind {
                for h in hosts {
                    match &h.kind {
                        ExprKind::Literal(Literal::Default) => {
                            if default.is_none() {
                                default = Some(d.clone())
                            }
                        }
                        ExprKind::Literal(Literal::Regex(_)) => {}
                        _ => {
                            let saved = std::mem::replace(&mut self.src, d.source.clone());
                            let v = self.eval(h);
                            self.src = saved;
                            if v?.to_display().to_lowercase() == name {
                                chosen = Some((d.clone(), name.clone(), None));
                                break 'outer;
                            }
                        }
                    }
                }
            }
        }
        if chosen.is_none() {
            'outer2: for d in &nodes {
                if let DefKind::Node { hosts } = &d.kind {
                    for h in hosts {
                        if let ExprKind::Literal(Literal::Regex(src)) = &h.kind {
                            let re =
                                troupe_values::value::Regexp::new(src).map_err(EvalError::new)?;
                            if let Some((_, caps)) = re.captures(&name) {
                                let title = super::node_names::regex_node_name(src);
                                chosen = Some((d.clone(), title, Some(caps)));
                                break 'outer2;
                            }
                        }
                    }
                }
            }
        }
        if chosen.is_none() {
            if let Some(d) = default {
                chosen = Some((d, "default".into(), None));
            }
        }
        let Some((def, title, caps)) = chosen else {
            return Err(EvalError::plain(format!(
                "Could not find node statement with name 'default' or '{name}'"
            )));
        };
        let mut r = Resource {
            type_name: "Node".into(),
            title: title.clone(),
            params: Default::default(),
            tags: vec!["node".into()],
            file: None,
            line: None,
            exported: false,
            virtual_: false,
            kind: Kind::Unknown,
            scope: self.top,
            evaluated: true,
            name_param: false,
            namevar: "name",
        };
        if valid_tag(&title) {
            r.add_tag(&title);
        }
        let idx = self.add_resource(r);
        self.add_edge(self.class_main, idx);
        self.class_list.push(title.clone());
        let sid = self.new_scope(ScopeKind::Node, Some(self.top), Some(idx));
        if let Some(c) = caps {
            self.scopes[sid].tables[0].matches = Some(std::rc::Rc::new(c));
        }
        let saved = std::mem::replace(&mut self.src, def.source.clone());
        self.cur = sid;
        let r = match &def.body {
            Some(b) => self.eval(b).map(|_| ()),
            None => Ok(()),
        };
        self.cur = self.top;
        self.src = saved;
        r
    }
}
