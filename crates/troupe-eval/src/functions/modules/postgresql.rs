//! The postgresql module's Ruby functions, natively.

use crate::functions::host::Host;
use crate::functions::stdlib::err;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::EResult;
use troupe_values::value::Map;
use troupe_values::value::Value;

/// postgresql: `md5` + MD5(password + username).
pub(crate) fn postgresql_postgresql_password(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    let user = args.first().map(|v| v.to_display()).unwrap_or_default();
    let pw = args.get(1).map(|v| v.to_display()).unwrap_or_default();
    Ok(Value::str(format!(
        "md5{}",
        crate::functions::digest::hex("md5", format!("{pw}{user}").as_bytes())
    )))
}

/// postgresql: pg_hba rules from `TYPE DATABASE USER [ADDRESS] METHOD [OPTIONS]` lines.
pub(crate) fn postgresql_postgresql_acls_to_resources_hash(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    let (Some(Value::Array(acls)), Some(id), Some(Value::Int(offset))) =
        (args.first(), args.get(1), args.get(2))
    else {
        return Err(err(
                        "'postgresql::postgresql_acls_to_resources_hash' expects (Array[String], String[1], Integer[0])",
                    ));
    };
    let id = id.to_display();
    let mut out = Map::default();
    for acl in acls.iter() {
        // Ruby's `acls.index(acl)`: a repeated line takes its first position.
        let index = acls.iter().position(|x| x == acl).unwrap_or(0);
        let text = acl.to_display();
        let parts: Vec<&str> = text.split_whitespace().collect();
        if parts.len() < 4 {
            return Err(err(format!(
                            "postgresql::postgresql_acls_to_resources_hash(): acl line {index} does not have enough parts"
                        )));
        }
        let mut r = Map::default();
        let put = |r: &mut Map, k: &str, v: String| {
            r.insert(Value::str(k), Value::str(v));
        };
        put(&mut r, "type", parts[0].into());
        put(&mut r, "database", parts[1].into());
        put(&mut r, "user", parts[2].into());
        put(&mut r, "order", format!("{:03}", offset + index as i64));
        if parts[0] == "local" {
            put(&mut r, "auth_method", parts[3].into());
            if parts.len() > 4 {
                put(&mut r, "auth_option", parts[4..].join(" "));
            }
        } else if parts
            .get(4)
            .is_some_and(|p| p.starts_with(|c: char| c.is_ascii_digit()))
        {
            put(&mut r, "address", format!("{} {}", parts[3], parts[4]));
            if let Some(m) = parts.get(5) {
                put(&mut r, "auth_method", (*m).into());
            } else {
                r.insert(Value::str("auth_method"), Value::Undef);
            }
            if parts.len() > 6 {
                put(&mut r, "auth_option", parts[6..].join(" "));
            }
        } else {
            put(&mut r, "address", parts[3].into());
            if let Some(m) = parts.get(4) {
                put(&mut r, "auth_method", (*m).into());
            } else {
                r.insert(Value::str("auth_method"), Value::Undef);
            }
            if parts.len() > 5 {
                put(&mut r, "auth_option", parts[5..].join(" "));
            }
        }
        out.insert(
            Value::str(format!("postgresql class generated rule {id} {index}")),
            Value::hash(r),
        );
    }
    Ok(Value::hash(out))
}
