//! Templates and files: `epp`, `inline_epp`, `template`, `inline_template`, `file`,
//! `binary_file`.

use crate::functions::host::Host;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::EResult;
use troupe_values::value::Value;

/// `epp`.
pub(crate) fn epp(
    ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    crate::functions::templates::epp_function(ev, &args, e)
}

/// `inline_epp`.
pub(crate) fn inline_epp(
    ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    crate::functions::templates::inline_epp_function(ev, &args, e)
}

/// `template`.
pub(crate) fn template(
    ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    crate::functions::templates::template_function(ev, &args, e)
}

/// `inline_template`.
pub(crate) fn inline_template(
    ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    crate::functions::templates::inline_template_function(ev, &args, e)
}

/// `file`.
pub(crate) fn file(
    ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    crate::functions::templates::file_function(ev, &args)
}

/// `binary_file`.
pub(crate) fn binary_file(
    ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    crate::functions::templates::binary_file_function(ev, &args)
}
