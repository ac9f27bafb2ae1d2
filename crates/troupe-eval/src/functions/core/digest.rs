//! Digests and seeded randomness: `md5`/`sha1`/`sha256`, `fqdn_rand`, `digest`.

use crate::functions::args::arity;
use crate::functions::args::str_arg;
use crate::functions::host::Host;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::EResult;
use troupe_values::value::Value;

/// `md5`, `sha1`, `sha256`.
pub(crate) fn md5(
    _ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let s = str_arg(name, args.first().unwrap_or(troupe_values::value::UNDEF), 1)?;
    Ok(Value::str(crate::functions::digest::hex(
        name,
        s.as_bytes(),
    )))
}

/// `fqdn_rand`.
pub(crate) fn fqdn_rand(
    ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 1, 2)?;
    let max = match &args[0] {
        Value::Int(i) => *i,
        Value::Str(s) => s.parse::<i64>().unwrap_or(0),
        _ => 0,
    };
    let seed = args.get(1).map(|v| v.to_display());
    let fqdn = crate::functions::stdlib::catalog::fact_fqdn(ev);
    Ok(Value::Int(crate::functions::digest::fqdn_rand(
        &fqdn,
        max,
        seed.as_deref(),
    )))
}

/// `digest`.
pub(crate) fn digest(
    _ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let s = str_arg(name, args.first().unwrap_or(troupe_values::value::UNDEF), 1)?;
    Ok(Value::str(crate::functions::digest::hex(
        "md5",
        s.as_bytes(),
    )))
}
