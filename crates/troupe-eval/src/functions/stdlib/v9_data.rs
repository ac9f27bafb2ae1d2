//! puppetlabs-stdlib 9's namespaced data functions (`stdlib::merge` with its block forms,
//! `stdlib::nested_values`, `stdlib::sort_by`, `stdlib::type_of`, `stdlib::to_toml`,
//! `stdlib::ip_in_range`, `stdlib::seeded_rand`), natively, with the results of stdlib 9.7 on
//! Puppet 7.23.

use crate::functions::args::{arity, str_arg};
use crate::functions::host::Host;
use crate::functions::stdlib::err;
use crate::functions::stdlib::v9_text::ruby_inspect_str;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::EResult;
use troupe_values::types::infer_for_message;
use troupe_values::value::{Map, Value};

/// `stdlib::merge`: hashes merged left to right (undef and '' skipped); with a block, the
/// hashes the block returns for each element (`|$acc, $v|`, or `|$acc, $k_or_index, $v|`).
pub(crate) fn merge(
    ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    let Some(l) = lambda else {
        return crate::functions::stdlib::collections::merge(ev, name, args, None, e);
    };
    arity(name, &args, 1, 1)?;
    let mut acc = Map::default();
    let three = l.params.len() == 3;
    let items: Vec<(Value, Value)> = match &args[0] {
        Value::Hash(h) => h.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, v)| (Value::Int(i as i64), v.clone()))
            .collect(),
        other => {
            return Err(err(format!(
                "'{name}' expects an Iterable value, got {}",
                infer_for_message(other)
            )))
        }
    };
    let hash_style = matches!(args[0], Value::Hash(_));
    for (k, v) in items {
        let acc_v = Value::hash(acc.clone());
        let r = if three {
            ev.call_lambda(l, &[acc_v, k, v], e)?
        } else if hash_style {
            ev.call_lambda(l, &[acc_v, Value::array(vec![k, v])], e)?
        } else {
            ev.call_lambda(l, &[acc_v, v], e)?
        };
        if let Value::Hash(h) = &r {
            for (k, v) in h.iter() {
                acc.insert(k.clone(), v.clone());
            }
        }
    }
    Ok(Value::hash(acc))
}

/// `stdlib::nested_values`: every non-hash value, depth first.
pub(crate) fn nested_values(
    _ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 1, 1)?;
    fn walk(h: &Map, out: &mut Vec<Value>) {
        troupe_values::limits::grow(|| {
            for v in h.values() {
                match v {
                    Value::Hash(x) => walk(x, out),
                    other => out.push(other.clone()),
                }
            }
        })
    }
    match &args[0] {
        Value::Hash(h) => {
            let mut out = Vec::new();
            walk(h, &mut out);
            Ok(Value::array(out))
        }
        other => Err(err(format!(
            "'{name}' parameter 'hash' expects a Hash value, got {}",
            infer_for_message(other)
        ))),
    }
}

/// `stdlib::sort_by`: an Array, String or Hash sorted by what the block returns.
pub(crate) fn sort_by(
    ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 1, 1)?;
    let Some(l) = lambda else {
        return Err(err(format!("'{name}' expects a block")));
    };
    let items: Vec<Value> = match &args[0] {
        Value::Array(a) => a.to_vec(),
        Value::Str(s) => s.chars().map(|c| Value::str(c.to_string())).collect(),
        Value::Hash(h) => h
            .iter()
            .map(|(k, v)| Value::array(vec![k.clone(), v.clone()]))
            .collect(),
        other => {
            return Err(err(format!(
                "'{name}' expects an Array, String or Hash, got {}",
                infer_for_message(other)
            )))
        }
    };
    let mut keyed = Vec::with_capacity(items.len());
    for it in items {
        let k = ev.call_lambda(l, std::slice::from_ref(&it), e)?;
        keyed.push((k, it));
    }
    // Ruby's sort_by is not stable; for distinct keys the order is the keys' order.
    keyed.sort_by(|a, b| troupe_ruby::object::sort_cmp(&a.0, &b.0));
    let sorted = keyed.into_iter().map(|(_, v)| v);
    Ok(match &args[0] {
        Value::Str(_) => Value::str(sorted.map(|v| v.to_display()).collect::<String>()),
        Value::Hash(_) => Value::hash(
            sorted
                .filter_map(|p| match &p {
                    Value::Array(kv) if kv.len() == 2 => Some((kv[0].clone(), kv[1].clone())),
                    _ => None,
                })
                .collect(),
        ),
        _ => Value::array(sorted.collect()),
    })
}

/// `stdlib::type_of` (and the deprecated `type_of`): Puppet's detailed inferred type.
pub(crate) fn type_of(
    _ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 1, 1)?;
    Ok(Value::ty(troupe_values::infer::infer_type(&args[0])))
}

/// `stdlib::seeded_rand(max, seed)`: Puppet's deterministic random integer below `max`.
pub(crate) fn seeded_rand(
    _ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 2, 2)?;
    match (&args[0], &args[1]) {
        (Value::Int(max), Value::Str(seed)) if *max >= 1 => Ok(Value::Int(
            crate::functions::digest::seeded_rand(seed, *max),
        )),
        (Value::Int(_), Value::Str(_)) | (_, Value::Str(_)) => Err(err(format!(
            "'{name}' parameter 'max' expects an Integer[1] value, got {}",
            infer_for_message(&args[0])
        ))),
        (_, other) => Err(err(format!(
            "'{name}' parameter 'seed' expects a String value, got {}",
            infer_for_message(other)
        ))),
    }
}

/// An `IPAddr.new(text)`: the address masked to its prefix, and the mask.
fn ip_net(s: &str) -> Option<(u128, u128, bool)> {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let ip: std::net::IpAddr = addr.parse().ok()?;
    let (v, bits, v4) = match ip {
        std::net::IpAddr::V4(a) => (u32::from(a) as u128, 32u32, true),
        std::net::IpAddr::V6(a) => (u128::from(a), 128u32, false),
    };
    let len: u32 = match prefix {
        None => bits,
        Some(p) => match p.parse::<u32>() {
            Ok(n) if n <= bits => n,
            _ => return None,
        },
    };
    let full: u128 = if v4 { u32::MAX as u128 } else { u128::MAX };
    let mask = if len == 0 {
        0
    } else {
        (full << (bits - len)) & full
    };
    Some((v & mask, mask, v4))
}

/// `stdlib::ip_in_range(ip, range_or_ranges)`.
pub(crate) fn ip_in_range(
    _ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 2, 2)?;
    let ip = str_arg(name, &args[0], "'ipaddress'")?;
    let bad = |s: &str| err(format!("invalid address: {s}"));
    let (addr, _, v4) = ip_net(ip).ok_or_else(|| bad(ip))?;
    let ranges: Vec<String> = match &args[1] {
        Value::Str(r) => vec![r.to_string()],
        Value::Array(a) => a.iter().map(|x| x.to_display()).collect(),
        other => {
            return Err(err(format!(
                "'{name}' parameter 'range' expects a value of type String or Array, got {}",
                infer_for_message(other)
            )))
        }
    };
    for r in &ranges {
        let (net, mask, rv4) = ip_net(r).ok_or_else(|| bad(r))?;
        if rv4 == v4 && addr & mask == net {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

/// `stdlib::to_toml` (and the deprecated `to_toml`): stdlib's own TOML writer, byte for byte.
pub(crate) fn to_toml(
    _ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 1, 1)?;
    match &args[0] {
        Value::Hash(h) => {
            let mut out = String::new();
            toml_visit(h, &[], false, &mut out)?;
            Ok(Value::str(out))
        }
        other => Err(err(format!(
            "'{name}' parameter 'data' expects a Hash value, got {}",
            infer_for_message(other)
        ))),
    }
}

type Pairs = Vec<(String, Value)>;

/// Keys sorted (as strings: stdlib sorts Ruby strings); split into plain values, tables, and
/// arrays of tables (arrays whose first element is a hash).
fn toml_sort(h: &Map) -> EResult<(Pairs, Pairs, Pairs)> {
    let mut keys: Vec<(String, Value)> = Vec::new();
    for (k, v) in h.iter() {
        match k {
            Value::Str(s) => keys.push((s.to_string(), v.clone())),
            other => {
                return Err(err(format!(
                    "to_toml: keys must be strings, got {}",
                    infer_for_message(other)
                )))
            }
        }
    }
    keys.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let (mut simple, mut nested, mut tables) = (Vec::new(), Vec::new(), Vec::new());
    for (k, v) in keys {
        match &v {
            Value::Hash(_) => nested.push((k, v)),
            Value::Array(a) if matches!(a.first(), Some(Value::Hash(_))) => tables.push((k, v)),
            _ => simple.push((k, v)),
        }
    }
    Ok((simple, nested, tables))
}

fn toml_key(k: &str) -> String {
    if k.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        format!("\"{}\"", k.replace('"', "\\\""))
    }
}

fn toml_prefix(prefix: &[String], extra: bool, out: &mut String) {
    let p = prefix.join(".");
    if extra {
        out.push_str(&format!("[[{p}]]\n"));
    } else {
        out.push_str(&format!("[{p}]\n"));
    }
}

fn toml_visit(h: &Map, prefix: &[String], extra: bool, out: &mut String) -> EResult<()> {
    troupe_values::limits::grow(|| {
        let (simple, nested, tables) = toml_sort(h)?;
        if !prefix.is_empty() && (!simple.is_empty() || h.is_empty()) {
            toml_prefix(prefix, extra, out);
        }
        toml_pairs(simple, nested, tables, prefix, out)
    })
}

fn toml_pairs(
    simple: Pairs,
    nested: Pairs,
    tables: Pairs,
    prefix: &[String],
    out: &mut String,
) -> EResult<()> {
    for (k, v) in simple {
        out.push_str(&format!("{} = {}\n", toml_key(&k), toml_value(&v)?));
    }
    for (k, v) in nested {
        if let Value::Hash(x) = &v {
            let mut p = prefix.to_vec();
            p.push(toml_key(&k));
            toml_visit(x, &p, false, out)?;
        }
    }
    for (k, v) in tables {
        let mut p = prefix.to_vec();
        p.push(toml_key(&k));
        if let Value::Array(items) = &v {
            for child in items.iter() {
                toml_prefix(&p, true, out);
                let Value::Hash(c) = child else {
                    return Err(err("to_toml: an array of tables holds a non-hash"));
                };
                let (s, n, t) = toml_sort(c)?;
                toml_pairs(s, n, t, &p, out)?;
            }
        }
    }
    Ok(())
}

/// Ruby's `inspect` of a value, as the TOML writer prints it (strings without the `\#`).
fn toml_value(v: &Value) -> EResult<String> {
    troupe_values::limits::grow(|| {
        Ok(match v {
            Value::Str(s) => ruby_inspect_str(s)
                .replace("\\#{", "#{")
                .replace("\\#$", "#$")
                .replace("\\#@", "#@"),
            Value::Undef => "nil".into(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => troupe_values::value::format_float(*f),
            Value::Array(a) => {
                let items: EResult<Vec<String>> = a.iter().map(toml_value).collect();
                format!("[{}]", items?.join(", "))
            }
            Value::Hash(h) => {
                let mut items = Vec::new();
                for (k, x) in h.iter() {
                    items.push(format!("{}=>{}", toml_value(k)?, toml_value(x)?));
                }
                format!("{{{}}}", items.join(", "))
            }
            other => {
                return Err(err(format!(
                    "to_toml: a {} value cannot be written",
                    infer_for_message(other)
                )))
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(kv: Vec<(&str, Value)>) -> Value {
        Value::hash(kv.into_iter().map(|(k, v)| (Value::str(k), v)).collect())
    }

    // Expected text is stdlib 9.7's `stdlib::to_toml` on Puppet 7.23.
    #[test]
    fn toml_layout() {
        let s = Value::str;
        let data = h(vec![
            ("name", s("x")),
            ("port", Value::Int(8080)),
            ("ratio", Value::Float(0.5)),
            ("on", Value::Bool(true)),
            ("list", Value::array(vec![s("a"), s("b")])),
            (
                "server",
                h(vec![
                    ("host", s("h")),
                    ("opts", h(vec![("x", Value::Int(1))])),
                ]),
            ),
            ("dot.key", s("v")),
            (
                "peers",
                Value::array(vec![
                    h(vec![("n", s("a"))]),
                    h(vec![("n", s("b")), ("w", Value::Int(2))]),
                ]),
            ),
            ("empty", h(vec![])),
            ("q", s("say \"hi\" #{x}")),
        ]);
        let Value::Hash(m) = &data else { return };
        let mut out = String::new();
        assert!(toml_visit(m, &[], false, &mut out).is_ok());
        assert_eq!(
            out,
            "\"dot.key\" = \"v\"\nlist = [\"a\", \"b\"]\nname = \"x\"\non = true\nport = 8080\nq = \"say \\\"hi\\\" #{x}\"\nratio = 0.5\n[empty]\n[server]\nhost = \"h\"\n[server.opts]\nx = 1\n[[peers]]\nn = \"a\"\n[[peers]]\nn = \"b\"\nw = 2\n"
        );
    }

    #[test]
    fn ip_ranges() {
        let inr = |ip: &str, r: &str| {
            let (a, _, v4) = ip_net(ip).unwrap_or((0, 0, false));
            let (n, m, rv4) = ip_net(r).unwrap_or((1, 0, true));
            v4 == rv4 && a & m == n
        };
        assert!(inr("10.1.2.3", "10.0.0.0/8"));
        assert!(inr("10.1.2.3", "10.1.2.0/24"));
        assert!(!inr("10.1.2.3", "192.168.0.0/16"));
        assert!(inr("fe80::1", "fe80::/64"));
        assert!(!inr("10.1.2.3", "10.1.2.4"));
    }
}
