//! The neutron module's Ruby functions, natively.

use crate::functions::host::Host;
use crate::functions::stdlib::err;
use troupe_ruby::object::inspect;
use troupe_ruby::object::ruby_class;
use troupe_ruby::object::ruby_to_i;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::EResult;
use troupe_values::value::Map;
use troupe_values::value::Value;

/// `validate_network_vlan_ranges`, `validate_tunnel_id_ranges`, `validate_vni_ranges`.
pub(crate) fn validate_network_vlan_ranges(
    _ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    neutron_validate_ranges(name, args.first().unwrap_or(&Value::Undef))
}

/// `validate_vxlan_udp_port`.
pub(crate) fn validate_vxlan_udp_port(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    let v = args.first().unwrap_or(troupe_values::value::UNDEF);
    let port = match v {
        Value::Int(n) => Some(*n),
        Value::Str(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    match port {
        None => Err(err(format!("invalid value for Integer(): {}", inspect(v)))),
        Some(p) if p != 4789 && (p <= 49151 || p > 65535) => Err(err("vxlan udp port is invalid.")),
        Some(_) => Ok(Value::Undef),
    }
}

/// neutron's: `["k:v", ...]` as a JSON object, anything else as JSON.
pub(crate) fn convert_to_json_string(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    let v = args.first().cloned().unwrap_or(Value::Undef);
    let v = match &v {
        Value::Array(a)
            if a.iter()
                .all(|x| matches!(x, Value::Str(s) if s.contains(':'))) =>
        {
            let mut m = Map::default();
            for x in a.iter() {
                let t = x.to_display();
                let mut parts = t.split(':');
                let k = parts.next().unwrap_or("").to_string();
                let val = parts.next().map(Value::str).unwrap_or(Value::Undef);
                m.insert(Value::str(k), val);
            }
            Value::hash(m)
        }
        _ => v,
    };
    troupe_ruby::json::ruby_json(&v, &troupe_ruby::json::JsonLayout::default())
        .map(Value::str)
        .map_err(err)
}
/// neutron's `validate_network_vlan_ranges`, `validate_tunnel_id_ranges` and
/// `validate_vni_ranges`: each `[name:]min:max` range checked as the Ruby functions do.
pub(crate) fn neutron_validate_ranges(name: &str, v: &Value) -> EResult<Value> {
    let list: Vec<Value> = match v {
        Value::Array(a) => (**a).clone(),
        other => vec![other.clone()],
    };
    let invalid = |what: &str| err(format!("{what} ranges are invalid."));
    for r in &list {
        let text = match r {
            Value::Str(s) => s.to_string(),
            Value::Undef => continue,
            other => {
                return Err(err(format!(
                    "no implicit conversion of {} into String",
                    ruby_class(other)
                )))
            }
        };
        let parts: Vec<&str> = text.rsplitn(3, ':').collect();
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        // (first, second) when the text ends in `N:M`.
        let pair = match parts.as_slice() {
            [b, a, ..]
                if digits(a)
                    && digits(b)
                    && (name == "validate_network_vlan_ranges" || parts.len() == 2) =>
            {
                // Network ranges allow a `name:` prefix (any text ending in ':').
                if name == "validate_network_vlan_ranges" && parts.len() == 3 && parts[2].is_empty()
                {
                    None
                } else {
                    Some((ruby_to_i(a), ruby_to_i(b)))
                }
            }
            _ => None,
        };
        match (name, pair) {
            ("validate_network_vlan_ranges", Some((a, b))) => {
                if a > 4094 || b > 4094 {
                    return Err(err("vlan id are invalid."));
                }
                if b < a {
                    return Err(invalid("network vlan"));
                }
            }
            ("validate_network_vlan_ranges", None) => {
                // /^([^:]+)?(:\d+)?$/
                let ok = match text.split_once(':') {
                    None => true,
                    Some((_, n)) => digits(n),
                };
                if !ok {
                    return Err(invalid("network vlan"));
                }
            }
            ("validate_tunnel_id_ranges", Some((a, b))) => {
                if b - a > 1_000_000 {
                    return Err(err("tunnel id ranges are to large."));
                }
                if b < a {
                    return Err(invalid("tunnel id"));
                }
            }
            ("validate_tunnel_id_ranges", None) => return Err(invalid("tunnel id")),
            (_, Some((a, b))) => {
                if !(0..=16_777_215).contains(&a) || !(0..=16_777_215).contains(&b) || b < a {
                    return Err(invalid("vni"));
                }
            }
            (_, None) => return Err(invalid("vni")),
        }
    }
    Ok(Value::array(list))
}
