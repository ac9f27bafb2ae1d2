//! Node names as Puppet's `Resource::Type` keeps them, and its refusal of two node
//! statements with the same name (`KnownResourceTypes#add_node`), checked when the site
//! manifest is loaded, before any of it is evaluated.

use crate::code::DefKind;
use crate::lang::eval::Evaluator;
use troupe_syntax::ast::{ExprKind, Literal};
use troupe_values::error::EResult;
use troupe_values::error::EvalError;

/// The name of a regex node: `__node_regexp__` and the regex source, lower case, without
/// the characters outside `[-\w:.]` and without leading dots.
pub(crate) fn regex_node_name(src: &str) -> String {
    let kept: String = src
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
        .collect();
    format!("__node_regexp__{}", kept.trim_start_matches('.'))
}

impl<'e> Evaluator<'e> {
    /// Refuses a node name (or mangled regex) given by two node statements.
    pub(crate) fn check_node_names(&mut self) -> EResult<()> {
        let nodes = self.nodes.clone();
        let mut seen: Vec<(String, usize)> = Vec::new();
        for (i, d) in nodes.iter().enumerate() {
            let DefKind::Node { hosts } = &d.kind else {
                continue;
            };
            for h in hosts {
                let name = match &h.kind {
                    ExprKind::Literal(Literal::Default) => "default".to_string(),
                    ExprKind::Literal(Literal::Regex(src)) => regex_node_name(src),
                    ExprKind::Literal(Literal::String(s)) => s.to_lowercase(),
                    ExprKind::QName(s) => s.to_lowercase(),
                    _ => {
                        let saved = std::mem::replace(&mut self.src, d.source.clone());
                        let v = self.eval(h);
                        self.src = saved;
                        v?.to_display().to_lowercase()
                    }
                };
                if let Some((_, first)) = seen.iter().find(|(n, _)| *n == name) {
                    let f = &nodes[*first];
                    let was = f.loc(f.span);
                    let mut here = d.loc(d.span);
                    here.col = None;
                    return Err(EvalError::plain(format!(
                        "Node '{name}' is already defined (file: {}, line: {}); cannot redefine",
                        was.file, was.line
                    ))
                    .at(here));
                }
                seen.push((name, i));
            }
        }
        Ok(())
    }
}
