//! The ssh module's Ruby functions, natively.

use crate::functions::host::Host;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::EResult;
use troupe_values::value::Value;

/// saz-ssh: the IPv4 and IPv6 addresses of every interface but loopback (legacy facts).
pub(crate) fn ipaddresses(
    ev: &mut dyn Host,
    _name: &str,
    _args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let fact = |ev: &mut dyn Host, n: &str| -> Value { ev.lookup_var(n).unwrap_or(Value::Undef) };
    let interfaces = fact(ev, "interfaces");
    if interfaces.is_undef() {
        return Ok(Value::Bool(false));
    }
    let list = interfaces.to_display();
    let mut out = Vec::new();
    for iface in list.split(',') {
        if iface.contains("lo") {
            continue;
        }
        for f in [format!("ipaddress_{iface}"), format!("ipaddress6_{iface}")] {
            let v = fact(ev, &f);
            if !v.is_undef() && !matches!(v, Value::Bool(false)) {
                out.push(v);
            }
        }
    }
    Ok(Value::array(out))
}
