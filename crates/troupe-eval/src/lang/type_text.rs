//! A type from its source text, as another Puppet (the Ruby helper) writes it:
//! `Optional[Array[String[1]]]`, `File['/tmp/x']`, `Stdlib::Absolutepath`.

use crate::lang::eval::Evaluator;
use troupe_values::error::{EResult, EvalError};
use troupe_values::types::Type;
use troupe_values::value::Value;

impl Evaluator<'_> {
    /// Parses `text` as one type expression and resolves it in this compile.
    pub(crate) fn type_from_text(&mut self, text: &str) -> EResult<Type> {
        let bad = |why: &str| EvalError::new(format!("'{text}' is not a type: {why}"));
        let parsed = troupe_syntax::parse_manifest("<type>", text);
        if let Some(d) = parsed.errors().next() {
            return Err(bad(&d.message));
        }
        match &self.eval(&parsed.program)? {
            Value::Type(t) => Ok((**t).clone()),
            other => Err(bad(&format!(
                "it evaluates to {}",
                troupe_values::value::type_name_of(other)
            ))),
        }
    }
}
