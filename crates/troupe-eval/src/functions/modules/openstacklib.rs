//! The openstacklib module's Ruby functions, natively.

use crate::functions::host::Host;
use crate::functions::stdlib::convert::str2bool_text;
use crate::functions::stdlib::err;
use crate::functions::stdlib::net::ruby_ipaddr;
use troupe_ruby::object::ruby_class;
use troupe_ruby::object::ruby_to_i;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::EResult;
use troupe_values::value::Map;
use troupe_values::value::Value;

/// `is_service_default`.
pub(crate) fn is_service_default(
    _ev: &mut dyn Host,
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
    _ev: &mut dyn Host,
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
    _ev: &mut dyn Host,
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
    _ev: &mut dyn Host,
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
    _ev: &mut dyn Host,
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
/// `ERB::Util.url_encode`: everything but `A-Za-z0-9_.~-` as `%XX`.
pub(crate) fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"_.~-".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
/// openstacklib's `_str2bool` (for `ssl`).
fn os_str2bool(v: &Value) -> EResult<bool> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::Str(s) => str2bool_text(s)
            .ok_or_else(|| err("os_transport_url _str2bool(): Unknown type of boolean given")),
        _ => Err(err("str2bool(): Requires string to work with")),
    }
}
fn os_hash_arg<'a>(name: &str, args: &'a [Value]) -> EResult<&'a Map> {
    match args {
        [Value::Hash(h)] => Ok(h),
        [other] => Err(err(format!(
            "{name}(): Requires an hash, got {}",
            ruby_class(other)
        ))),
        _ if name == "os_transport_url" => {
            Err(err("os_transport_url(): Wrong number of arguments"))
        }
        _ => Err(err(format!(
            "{name}(): Wrong number of arguments given ({} for 1)",
            args.len()
        ))),
    }
}
fn os_userinfo(v: &Map) -> Option<String> {
    let get = |k: &str| {
        v.get(&Value::str(k))
            .filter(|x| !troupe_ruby::object::ruby_to_s(x).is_empty())
    };
    let user = get("username")?;
    let mut out = url_encode(&troupe_ruby::object::ruby_to_s(user));
    if let Some(p) = get("password") {
        out.push(':');
        out.push_str(&url_encode(&troupe_ruby::object::ruby_to_s(p)));
    }
    Some(out)
}
pub(crate) fn bracket_ipv6(h: &str) -> String {
    if h.parse::<std::net::Ipv6Addr>().is_ok() && !h.starts_with('[') {
        format!("[{h}]")
    } else {
        h.to_string()
    }
}
pub(crate) fn os_transport_url(args: &[Value]) -> EResult<Value> {
    let raw = os_hash_arg("os_transport_url", args)?;
    let mut v = Map::default();
    for (k, x) in raw.iter() {
        let key = k.to_display();
        let x = if key == "port" {
            Value::str(troupe_ruby::object::ruby_to_s(x))
        } else {
            x.clone()
        };
        let (ok, class) = match key.as_str() {
            "hosts" => (matches!(x, Value::Array(_)), "Array"),
            "query" => (matches!(x, Value::Hash(_)), "Hash"),
            _ => (matches!(x, Value::Str(_)), "String"),
        };
        if !ok && !x.is_undef() {
            return Err(err(format!(
                "os_transport_url(): {key} should be a {class}"
            )));
        }
        v.insert(k.clone(), x);
    }
    let has = |k: &str| v.contains_key(&Value::str(k));
    let get = |k: &str| v.get(&Value::str(k)).cloned().unwrap_or(Value::Undef);
    if !has("transport") {
        return Err(err("os_transport_url(): transport is required"));
    }
    if !has("host") && !has("hosts") {
        return Err(err("os_transport_url(): host or hosts is required"));
    }
    if has("host") && has("hosts") {
        return Err(err("os_transport_url(): cannot use both host and hosts."));
    }
    let userinfo = os_userinfo(&v);
    let port = has("port").then(|| troupe_ruby::object::ruby_to_s(&get("port")));
    let mut hostinfo = "localhost".to_string();
    if has("host") {
        let mut host = bracket_ipv6(&troupe_ruby::object::ruby_to_s(&get("host")));
        if let Some(p) = &port {
            host = format!("{host}:{p}");
        }
        hostinfo = match &userinfo {
            Some(u) => format!("{u}@{host}"),
            None => host,
        };
    }
    if let Value::Array(hosts) = &get("hosts") {
        let hosts: Vec<String> = hosts
            .iter()
            .map(|h| {
                let h = bracket_ipv6(&troupe_ruby::object::ruby_to_s(h));
                let h = match &port {
                    Some(p) => format!("{h}:{p}"),
                    None => h,
                };
                match &userinfo {
                    Some(u) => format!("{u}@{h}"),
                    None => h,
                }
            })
            .collect();
        hostinfo = hosts.join(",");
    }
    let path = if has("virtual_host") {
        format!("/{}", troupe_ruby::object::ruby_to_s(&get("virtual_host")))
    } else {
        "/".to_string()
    };
    let mut query: Vec<(String, String)> = Vec::new();
    if let Value::Hash(q) = &get("query") {
        for (k, x) in q.iter() {
            query.push((k.to_display(), troupe_ruby::object::ruby_to_s(x)));
        }
    }
    if has("ssl") {
        let b = os_str2bool(&get("ssl"))?;
        let val = if b { "1" } else { "0" }.to_string();
        match query.iter_mut().find(|(k, _)| k == "ssl") {
            Some(e) => e.1 = val,
            None => query.push(("ssl".into(), val)),
        }
    }
    let mut url = format!(
        "{}://{hostinfo}{path}",
        troupe_ruby::object::ruby_to_s(&get("transport"))
    );
    if !query.is_empty() {
        url.push('?');
        url.push_str(
            &query
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&"),
        );
    }
    Ok(Value::str(url))
}
pub(crate) fn os_database_connection(args: &[Value]) -> EResult<Value> {
    let v = os_hash_arg("os_database_connection", args)?;
    for (k, x) in v.iter() {
        let key = k.to_display();
        let (ok, class) = if key == "extra" {
            (matches!(x, Value::Hash(_)), "Hash")
        } else {
            (matches!(x, Value::Str(_)), "String")
        };
        if !ok && !x.is_undef() {
            return Err(err(format!(
                "os_database_connection(): {key} should be a {class}"
            )));
        }
    }
    let has = |k: &str| v.contains_key(&Value::str(k));
    let get =
        |k: &str| troupe_ruby::object::ruby_to_s(v.get(&Value::str(k)).unwrap_or(&Value::Undef));
    if !has("dialect") {
        return Err(err("os_database_connection(): dialect is required"));
    }
    if !has("database") {
        return Err(err("os_database_connection(): database is required"));
    }
    if has("port") && !has("host") {
        return Err(err("os_database_connection(): host is required with port"));
    }
    let mut extra: Vec<(String, String)> = Vec::new();
    if let Some(Value::Hash(x)) = v.get(&Value::str("extra")) {
        for (k, val) in x.iter() {
            extra.push((k.to_display(), troupe_ruby::object::ruby_to_s(val)));
        }
    }
    if has("charset") {
        let c = get("charset");
        match extra.iter_mut().find(|(k, _)| k == "charset") {
            Some(e) => e.1 = c,
            None => extra.push(("charset".into(), c)),
        }
    }
    // URI::Generic.build(...).to_s
    let mut url = format!("{}:", get("dialect"));
    if has("host") {
        url.push_str("//");
        if let Some(u) = os_userinfo(v) {
            url.push_str(&u);
            url.push('@');
        }
        url.push_str(&get("host"));
        if has("port") {
            url.push_str(&format!(":{}", ruby_to_i(&get("port"))));
        }
        url.push_str(&format!("/{}", get("database")));
    } else {
        url.push_str(&format!("///{}", get("database")));
    }
    if !extra.is_empty() {
        url.push('?');
        url.push_str(
            &extra
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&"),
        );
    }
    Ok(Value::str(url))
}
