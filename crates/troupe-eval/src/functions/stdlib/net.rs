//! puppetlabs-stdlib's functions: net.

use crate::functions::host::Host;
use crate::functions::stdlib::err;
use troupe_ruby::object::ruby_class;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::EResult;
use troupe_values::value::flatten;
use troupe_values::value::Value;

/// `is_ip_address`, `is_ipv4_address`, `is_ipv6_address`.
pub(crate) fn is_ip_address(
    _ev: &mut dyn Host,
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
    _ev: &mut dyn Host,
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
    _ev: &mut dyn Host,
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
/// Ruby's `IPAddr.new(text)`: an IPv4 or IPv6 address, with an optional `/prefix` or mask.
pub(crate) fn ruby_ipaddr(v: &Value) -> Option<std::net::IpAddr> {
    let Value::Str(s) = v else { return None };
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (&**s, None),
    };
    let addr = addr
        .strip_prefix('[')
        .and_then(|a| a.strip_suffix(']'))
        .unwrap_or(addr);
    let ip: std::net::IpAddr = addr.parse().ok()?;
    let Some(p) = prefix else { return Some(ip) };
    let bits = if ip.is_ipv4() { 32 } else { 128 };
    let len: u32 = match p.parse::<u32>() {
        Ok(n) if n <= bits => n,
        Ok(_) => return None,
        Err(_) => match p.parse::<std::net::IpAddr>() {
            Ok(m) => match m {
                std::net::IpAddr::V4(m) => u32::from(m).count_ones(),
                std::net::IpAddr::V6(m) => u128::from(m).count_ones(),
            },
            Err(_) => return None,
        },
    };
    // IPAddr keeps the network address.
    Some(match ip {
        std::net::IpAddr::V4(a) => {
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            std::net::IpAddr::V4((u32::from(a) & mask).into())
        }
        std::net::IpAddr::V6(a) => {
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len)
            };
            std::net::IpAddr::V6((u128::from(a) & mask).into())
        }
    })
}
fn is_domain_name(domain: &str) -> bool {
    if domain == "." {
        return true;
    }
    let d = domain.strip_suffix('.').unwrap_or(domain);
    if d.is_empty() || d.len() > 255 {
        return false;
    }
    if d.contains('.') {
        // /\.[A-Za-z]+$/
        let last = d.rsplit('.').next().unwrap_or("");
        if last.is_empty() || !last.bytes().all(|b| b.is_ascii_alphabetic()) {
            return false;
        }
    }
    // Ruby's String#split drops trailing empty fields.
    let mut labels: Vec<&str> = d.split('.').collect();
    while labels.last() == Some(&"") {
        labels.pop();
    }
    labels.iter().all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    })
}
