//! A relationship operand given as a string (`'File[x]' -> ...`): Puppet parses the text as
//! a type reference, so the title must be written as Puppet code (a bare word or a quoted
//! string); anything else is its parse error or "not a valid type specification".

use crate::lang::eval::Evaluator;
use troupe_syntax::ast::{Expr, ExprKind, Literal, StrPart};
use troupe_values::error::EResult;
use troupe_values::error::EvalError;
use troupe_values::types::capitalize_type_name;

/// A title written as a literal: a bare word or a string without interpolation.
fn literal_title(e: &Expr) -> Option<String> {
    match &e.kind {
        ExprKind::QName(n) => Some(n.clone()),
        ExprKind::Literal(Literal::String(s)) => Some(s.clone()),
        ExprKind::Concat(parts) => parts
            .iter()
            .map(|p| match p {
                StrPart::Text(t) => Some(t.as_str()),
                StrPart::Expr(_) => None,
            })
            .collect::<Option<Vec<_>>>()
            .map(|v| v.concat()),
        _ => None,
    }
}

impl<'e> Evaluator<'e> {
    /// The (type, title) references a string operand names; `op` is the relationship.
    pub(crate) fn rel_string_refs(&self, text: &str, op: &Expr) -> EResult<Vec<(String, String)>> {
        let parsed = troupe_syntax::parse_manifest("", text);
        // Puppet's type parser reads the string without the validator's checks.
        let syntax = parsed
            .errors()
            .find(|d| d.phase != troupe_syntax::diag::Phase::Validate);
        if let Some(d) = syntax {
            let at = match d.offset {
                Some(o) => {
                    let lc = parsed.source.line_col(o);
                    format!(" (line: {}, column: {})", lc.line, lc.col)
                }
                None => String::new(),
            };
            return Err(EvalError::plain(format!("{}{at}", d.message)));
        }
        let src = &parsed.source.text;
        let snippet = |e: &Expr| -> String {
            src.get(e.span.lo as usize..e.span.hi as usize)
                .unwrap_or_default()
                .to_string()
        };
        let invalid = |what: String| {
            EvalError::new(format!(
                "Error while evaluating a '{}' expression, The expression <{what}> is not a valid type specification.",
                match &op.kind {
                    ExprKind::Relationship { op_span, .. } => src_op(op_span, &self.src.text),
                    _ => "->".to_string(),
                }
            ))
            .at(self.loc_e(op))
        };
        let body = match &parsed.program.kind {
            ExprKind::Block(v) if v.len() == 1 => &v[0],
            _ => &parsed.program,
        };
        let ExprKind::Access { target, args } = &body.kind else {
            return Err(invalid(snippet(body).trim().to_string()));
        };
        let ExprKind::QRef(tn) = &target.kind else {
            return Err(invalid(snippet(body).trim().to_string()));
        };
        let mut out = Vec::new();
        for a in args {
            let Some(title) = literal_title(a) else {
                return Err(invalid(snippet(a)));
            };
            if tn.eq_ignore_ascii_case("class") {
                out.push(("Class".to_string(), title));
            } else {
                out.push((capitalize_type_name(tn), title));
            }
        }
        Ok(out)
    }
}

/// The operator's text (`->`, `~>`, `<-`, `<~`) in the manifest.
fn src_op(span: &troupe_syntax::Span, text: &str) -> String {
    text.get(span.lo as usize..span.hi as usize)
        .unwrap_or("->")
        .to_string()
}
