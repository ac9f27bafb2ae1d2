//! The openstacklib module's Ruby functions, natively.

use crate::functions::stdlib::bracket_ipv6;
use crate::functions::stdlib::err;
use crate::functions::stdlib::os_database_connection;
use crate::functions::stdlib::os_transport_url;
use crate::functions::stdlib::ruby_ipaddr;
use crate::lang::eval::Evaluator;
use crate::model::error::EResult;
use crate::model::value::Value;
use troupe_syntax::ast::{Expr, Lambda};

/// `is_service_default`.
pub(crate) fn is_service_default(
    _ev: &mut Evaluator<'_>,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    if args.len() != 1 {
        return Err(err(format!(
            "is_service_default(): Wrong number of argumentsgiven ({} for 1)",
            args.len()
        )));
    }
    Ok(Value::Bool(
        matches!(&args[0], Value::Str(s) if &**s == "<SERVICE DEFAULT>"),
    ))
}

/// `normalize_ip_for_uri`.
pub(crate) fn normalize_ip_for_uri(
    _ev: &mut Evaluator<'_>,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    let (list, single) = match args.first() {
        Some(Value::Array(a)) => ((**a).clone(), a.len() == 1),
        Some(v) => (vec![v.clone()], true),
        None => (vec![], false),
    };
    let out: Vec<Value> = list
        .into_iter()
        .map(|ip| match &ip {
            Value::Str(s) => Value::str(bracket_ipv6(s)),
            _ => ip,
        })
        .collect();
    Ok(if single {
        out.into_iter().next().unwrap_or(Value::Undef)
    } else {
        Value::array(out)
    })
}

/// `os_transport_url`.
pub(crate) fn os_transport_url_fn(
    _ev: &mut Evaluator<'_>,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    os_transport_url(args)
}

/// `os_database_connection`.
pub(crate) fn os_database_connection_fn(
    _ev: &mut Evaluator<'_>,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    os_database_connection(args)
}

/// `inet6_prefix`.
pub(crate) fn inet6_prefix(
    _ev: &mut Evaluator<'_>,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    let (list, single) = match args.first() {
        Some(Value::Array(a)) => ((**a).clone(), a.len() == 1),
        Some(v) => (vec![v.clone()], args.len() == 1),
        None => (vec![], false),
    };
    let out: Vec<Value> = list
        .into_iter()
        .map(|v| match &v {
            Value::Str(s) if !s.starts_with("inet6:") => {
                let parts: Vec<&str> = s
                    .split(|c: char| c.is_whitespace() || c == '[' || c == ']')
                    .filter(|p| !p.is_empty())
                    .collect();
                match parts.first().and_then(|p| ruby_ipaddr(&Value::str(*p))) {
                    Some(std::net::IpAddr::V6(_)) => {
                        Value::str(format!("inet6:[{}]{}", parts[0], parts[1..].concat()))
                    }
                    _ => v,
                }
            }
            _ => v,
        })
        .collect();
    Ok(if single {
        out.into_iter().next().unwrap_or(Value::Undef)
    } else {
        Value::array(out)
    })
}
