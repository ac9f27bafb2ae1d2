//! A type from its source text, as another Puppet (the Ruby helper) writes it:
//! `Optional[Array[String[1]]]`, `File['/tmp/x']`, `Stdlib::Absolutepath`.
//! Text that is no type is refused with the messages of Puppet's TypeParser.

use crate::lang::eval::Evaluator;
use troupe_syntax::ast::{Expr, ExprKind};
use troupe_values::error::{EResult, EvalError};
use troupe_values::types::Type;
use troupe_values::value::Value;

/// Types Puppet's TypeParser refuses to parameterize.
const UNPARAMETERIZED: &[&str] = &[
    "any",
    "data",
    "richdata",
    "catalogentry",
    "scalar",
    "scalardata",
    "undef",
    "numeric",
    "default",
];

fn invalid(text: &str, node: &Expr) -> EvalError {
    let src = text
        .get(node.span.lo as usize..node.span.hi as usize)
        .unwrap_or(text);
    EvalError::new(format!(
        "The expression <{src}> is not a valid type specification."
    ))
}

/// Puppet's wording for a type's parameters the access operator refused.
fn parameter_error(text: &str, node: &Expr, name: &str, e: &EvalError) -> EvalError {
    match name.to_ascii_lowercase().as_str() {
        "enum" => return EvalError::new("Enum parameters must be identifiers or strings"),
        "boolean" => return EvalError::new("Boolean parameter must be true or false"),
        _ => {}
    }
    // "Array-Type[] accepts 1 to 3 arguments. Got 4"
    if let Some(rest) = e.msg.split(" accepts ").nth(1) {
        if let Some((range, got)) = rest.split_once(" arguments. Got ") {
            let got: String = got.chars().take_while(|c| c.is_ascii_digit()).collect();
            if !got.is_empty() {
                return EvalError::new(format!(
                    "Invalid number of type parameters specified: {name} requires {range}, {got} provided"
                ));
            }
        }
    }
    invalid(text, node)
}

impl Evaluator<'_> {
    /// Parses `text` as one type expression and resolves it in this compile.
    pub(crate) fn type_from_text(&mut self, text: &str) -> EResult<Type> {
        let bad = |why: &str| EvalError::new(format!("'{text}' is not a type: {why}"));
        let parsed = troupe_syntax::parse_manifest("<type>", text);
        if let Some(d) = parsed.errors().next() {
            return Err(bad(&d.message));
        }
        let top = match &parsed.program.kind {
            ExprKind::Block(xs) if xs.len() == 1 => &xs[0],
            _ => &parsed.program,
        };
        let name = match &top.kind {
            ExprKind::QRef(_) => None,
            ExprKind::Access { target, .. } => match &target.kind {
                ExprKind::QRef(n) => Some(n.clone()),
                _ => return Err(invalid(text, top)),
            },
            _ => return Err(invalid(text, top)),
        };
        if let Some(n) = &name {
            let last = n.rsplit("::").next().unwrap_or(n).to_ascii_lowercase();
            if !n.contains("::") && UNPARAMETERIZED.contains(&last.as_str()) {
                return Err(EvalError::new(format!("Not a parameterized type <{n}>")));
            }
        }
        match (self.eval(top), &name) {
            (Ok(v), n) => match &v {
                Value::Type(t) => Ok((**t).clone()),
                _ if n.is_some() => Err(invalid(text, top)),
                other => Err(bad(&format!(
                    "it evaluates to {}",
                    troupe_values::value::type_name_of(other)
                ))),
            },
            (Err(e), Some(n)) if e.flow.is_none() => Err(parameter_error(text, top, n, &e)),
            (Err(e), _) => Err(e),
        }
    }
}
