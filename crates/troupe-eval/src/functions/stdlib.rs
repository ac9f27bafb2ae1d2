//! puppetlabs-stdlib's functions (8.x, and 9.x's namespaced `stdlib::` ones in `v9_*`), natively, with their semantics and error texts: one
//! file per family. 3.x-API functions see a top-level `undef` argument as an empty string, as
//! Puppet passes it to them (the evaluator converts it before the call).

pub mod catalog;
pub mod collections;
pub mod convert;
pub mod net;
pub mod strings;
pub mod v9_catalog;
pub mod v9_data;
pub mod v9_text;
pub mod validate;

use troupe_values::error::EvalError;
use troupe_values::value::Value;

/// Empty string or undef: what stdlib treats as "no value".
fn blank(v: &Value) -> bool {
    match v {
        Value::Undef => true,
        Value::Str(s) => s.is_empty(),
        _ => false,
    }
}

pub(crate) fn err(msg: impl Into<String>) -> EvalError {
    EvalError::new(msg.into())
}
