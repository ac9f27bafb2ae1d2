//! puppetlabs-stdlib 9's namespaced functions that read the node or the catalog
//! (`stdlib::ensure_packages`, `stdlib::os_version_gte`, `stdlib::has_interface_with`,
//! `stdlib::str2resource`), natively, with the semantics of stdlib 9.7 on Puppet 7.23.

use crate::functions::args::{arity, str_arg};
use crate::functions::host::Host;
use crate::functions::stdlib::err;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::EResult;
use troupe_values::types::{infer_for_message, Type};
use troupe_values::value::{Map, Value};

fn fact_at<'v>(facts: &'v Value, path: &[&str]) -> Option<&'v Value> {
    let mut cur = facts;
    for p in path {
        match cur {
            Value::Hash(h) => cur = h.get(&Value::str(*p))?,
            _ => return None,
        }
    }
    Some(cur)
}

/// `stdlib::ensure_packages(packages, defaults)`: each package through `ensure_resource`,
/// `ensure => installed` unless given; a `present`/`installed` ensure becomes `present` when
/// the package is already declared with `ensure => present` (so the two agree), else
/// `installed`. A hash gives each package its own attributes over the defaults.
pub(crate) fn ensure_packages(
    ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 1, 2)?;
    let defaults = match args.get(1) {
        None => Map::default(),
        Some(Value::Hash(d)) => (**d).clone(),
        Some(other) => {
            return Err(err(format!(
                "'{name}' parameter 'default_attributes' expects a Hash value, got {}",
                infer_for_message(other)
            )))
        }
    };
    match &args[0] {
        Value::Hash(h) => {
            for (pkg, attrs) in h.iter() {
                let mut d = defaults.clone();
                if let Value::Hash(a) = attrs {
                    for (k, v) in a.iter() {
                        d.insert(k.clone(), v.clone());
                    }
                }
                ensure_list(ev, std::slice::from_ref(pkg), &d, e)?;
            }
        }
        Value::Str(s) if !s.is_empty() => {
            ensure_list(ev, std::slice::from_ref(&args[0]), &defaults, e)?
        }
        Value::Array(a)
            if a.iter()
                .all(|x| matches!(x, Value::Str(s) if !s.is_empty())) =>
        {
            ensure_list(ev, a, &defaults, e)?
        }
        other => {
            return Err(err(format!(
                "'{name}' expects a value of type String, Array, or Hash, got {}",
                infer_for_message(other)
            )))
        }
    }
    Ok(Value::Undef)
}

fn ensure_list(ev: &mut dyn Host, packages: &[Value], attrs: &Map, e: &Expr) -> EResult<()> {
    let ensure = Value::str("ensure");
    for pkg in packages {
        let mut d = Map::default();
        d.insert(ensure.clone(), Value::str("installed"));
        for (k, v) in attrs.iter() {
            d.insert(k.clone(), v.clone());
        }
        let given = d.get(&ensure).map(|v| v.to_display());
        if matches!(given.as_deref(), Some("present" | "installed")) {
            let title = format!("Package[{}]", pkg.to_display());
            let mut want = Map::default();
            want.insert(ensure.clone(), Value::str("present"));
            // stdlib's own `defined_with_params` and `ensure_resource`, which ship with it.
            let present = crate::functions::stdlib::catalog::defined_with_params(
                ev,
                "defined_with_params",
                vec![Value::str(title), Value::hash(want)],
                None,
                e,
            )?;
            let value = if matches!(present, Value::Bool(true)) {
                "present"
            } else {
                "installed"
            };
            d.insert(ensure.clone(), Value::str(value));
        }
        crate::functions::stdlib::catalog::ensure_resource(
            ev,
            "ensure_resource",
            vec![Value::str("package"), pkg.clone(), Value::hash(d)],
            None,
            e,
        )?;
    }
    Ok(())
}

/// `stdlib::os_version_gte(os, version)`: the node runs `os` at major release `version` or
/// later (`versioncmp`).
pub(crate) fn os_version_gte(
    ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 2, 2)?;
    let (Value::Str(os), Value::Str(version)) = (&args[0], &args[1]) else {
        return Err(err(format!(
            "'{name}' expects two String[1] values, got {} and {}",
            infer_for_message(&args[0]),
            infer_for_message(&args[1])
        )));
    };
    let facts = ev.facts();
    let same_os = fact_at(facts, &["os", "name"]).is_some_and(|n| n.to_display() == **os);
    let major = fact_at(facts, &["os", "release", "major"]).map(|m| m.to_display());
    Ok(Value::Bool(
        same_os
            && major.is_some_and(|m| crate::functions::core::strings::versioncmp(&m, version) >= 0),
    ))
}

/// `stdlib::has_interface_with(name)` or `(kind, value)`: from `$facts['networking']`.
pub(crate) fn has_interface_with(
    ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 1, 2)?;
    let interfaces = fact_at(ev.facts(), &["networking", "interfaces"]).cloned();
    let Some(Value::Hash(ifs)) = &interfaces else {
        return Err(err(format!(
            "{name}: the node's facts have no networking.interfaces hash"
        )));
    };
    match args.as_slice() {
        [Value::Str(i)] => Ok(Value::Bool(ifs.contains_key(&Value::str(&**i)))),
        [Value::Str(kind), Value::Str(value)] => {
            let kind = match &**kind {
                "ipaddress" => "ip",
                "macaddress" => "mac",
                k @ ("netmask" | "network" | "ip" | "mac") => k,
                other => {
                    return Err(err(format!(
                        "'{name}' parameter 'kind' expects a match for Enum['ip', 'ipaddress', 'mac', 'macaddress', 'netmask', 'network'], got '{other}'"
                    )))
                }
            };
            let key = Value::str(kind);
            Ok(Value::Bool(ifs.values().any(|p| match p {
                Value::Hash(p) => p.get(&key).is_some_and(|v| v.to_display() == **value),
                _ => false,
            })))
        }
        _ => Err(err(format!(
            "'{name}' expects String arguments, got {}",
            args.iter()
                .map(infer_for_message)
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// `stdlib::str2resource('Type[title]')`: the declared resource's reference.
pub(crate) fn str2resource(
    ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 1, 1)?;
    let s = str_arg(name, &args[0], "'res_string'")?;
    let parsed = s
        .strip_suffix(']')
        .and_then(|x| x.split_once('['))
        .map(|(t, title)| {
            (
                troupe_values::types::capitalize_type_name(&t.to_lowercase()),
                title.to_string(),
            )
        });
    let Some((tn, title)) = parsed else {
        return Err(err(format!(
            "Puppet::Resource.new: Could not parse the resource '{s}'"
        )));
    };
    if ev.find_resource(&tn, &title).is_none() {
        return Err(err(format!(
            "stdlib::str2resource(): could not find {tn}[{title}], this is parse order dependent and values should not be quoted"
        )));
    }
    Ok(Value::ty(Type::Resource(Some(tn), Some(title))))
}
