//! The neutron module's Ruby functions, natively.

use crate::functions::stdlib::err;
use crate::functions::stdlib::neutron_validate_ranges;
use crate::lang::eval::Evaluator;
use crate::model::error::EResult;
use crate::model::value::Map;
use crate::model::value::Value;
use crate::ruby::object::inspect;
use troupe_syntax::ast::{Expr, Lambda};

/// `validate_network_vlan_ranges`, `validate_tunnel_id_ranges`, `validate_vni_ranges`.
pub(crate) fn validate_network_vlan_ranges(
    _ev: &mut Evaluator<'_>,
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
    _ev: &mut Evaluator<'_>,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    let v = args.first().unwrap_or(crate::model::value::UNDEF);
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
    _ev: &mut Evaluator<'_>,
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
            let mut m = Map::new();
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
    crate::ruby::dump::ruby_json(&v, &crate::ruby::dump::JsonLayout::default())
        .map(Value::str)
        .map_err(err)
}
