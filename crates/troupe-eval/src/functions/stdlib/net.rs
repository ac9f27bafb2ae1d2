//! puppetlabs-stdlib's functions: net.

use crate::functions::stdlib::err;
use crate::functions::stdlib::is_domain_name;
use crate::functions::stdlib::ruby_ipaddr;
use crate::lang::eval::Evaluator;
use crate::model::error::EResult;
use crate::model::value::flatten;
use crate::model::value::Value;
use crate::ruby::object::ruby_class;
use troupe_syntax::ast::{Expr, Lambda};

/// `is_ip_address`, `is_ipv4_address`, `is_ipv6_address`.
pub(crate) fn is_ip_address(
    _ev: &mut Evaluator<'_>,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    match args {
        [v] => Ok(Value::Bool(match (name, ruby_ipaddr(v)) {
            (_, None) => false,
            ("is_ipv4_address", Some(ip)) => ip.is_ipv4(),
            ("is_ipv6_address", Some(ip)) => ip.is_ipv6(),
            _ => true,
        })),
        _ => Err(err(format!(
            "{name}(): Wrong number of arguments given {} for 1",
            args.len()
        ))),
    }
}

/// `is_domain_name`.
pub(crate) fn is_domain_name_fn(
    _ev: &mut Evaluator<'_>,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    match args {
        [Value::Str(s)] => Ok(Value::Bool(is_domain_name(s))),
        [_] => Ok(Value::Bool(false)),
        _ => Err(err(format!(
            "is_domain_name(): Wrong number of arguments given {} for 1",
            args.len()
        ))),
    }
}

/// `enclose_ipv6`.
pub(crate) fn enclose_ipv6(
    _ev: &mut Evaluator<'_>,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    if args.len() != 1 {
        return Err(err(format!(
            "enclose_ipv6(): Wrong number of arguments given {} for 1",
            args.len()
        )));
    }
    let input = match &args[0] {
        Value::Str(_) => vec![args[0].clone()],
        Value::Array(a) => flatten(a).into_iter().filter(|v| !v.is_undef()).collect(),
        other => {
            return Err(err(format!(
                "enclose_ipv6(): Wrong argument type given {} expected String or Array",
                ruby_class(other)
            )))
        }
    };
    let mut out: Vec<Value> = Vec::new();
    for v in input {
        let text = v.to_display();
        let val = if text == "*" {
            text
        } else {
            match ruby_ipaddr(&v) {
                Some(ip @ std::net::IpAddr::V6(_)) => format!("[{ip}]"),
                Some(_) => text,
                None => {
                    return Err(err(format!(
                        "enclose_ipv6(): Wrong argument given {text} is not an ip address."
                    )))
                }
            }
        };
        let val = Value::str(val);
        if !out.contains(&val) {
            out.push(val);
        }
    }
    Ok(Value::array(out))
}
