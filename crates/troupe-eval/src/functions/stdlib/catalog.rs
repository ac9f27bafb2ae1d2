//! puppetlabs-stdlib's functions: catalog.

use crate::functions::host::Host;
use crate::functions::stdlib::err;
use troupe_ruby::object::ruby_class;
use troupe_ruby::object::ruby_to_i;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::EResult;
use troupe_values::value::flatten;
use troupe_values::value::Map;
use troupe_values::value::Value;

/// `defined_with_params`.
pub(crate) fn defined_with_params(
    ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    let (Some(r), params) = (args.first(), args.get(1)) else {
        return Err(err("Must specify a reference"));
    };
    has_params(ev, r, params).map(Value::Bool)
}

/// `ensure_resource`.
pub(crate) fn ensure_resource(
    ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    let (Some(tn), Some(titles)) = (args.first(), args.get(1)) else {
        return Err(err("Must specify a type"));
    };
    let params = match args.get(2) {
        Some(Value::Hash(h)) => (**h).clone(),
        _ => Map::default(),
    };
    ensure_one(ev, &tn.to_display(), titles, &params, e).map(|()| Value::Undef)
}

/// `ensure_resources`.
pub(crate) fn ensure_resources(
    ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    let (Some(tn), Some(Value::Hash(titles))) = (args.first(), args.get(1)) else {
        return Err(err(
            "ensure_resources(): Requires second argument to be a Hash",
        ));
    };
    let defaults = match args.get(2) {
        Some(Value::Hash(h)) => (**h).clone(),
        _ => Map::default(),
    };
    let tn = tn.to_display();
    for (title, params) in titles.iter() {
        let mut p = defaults.clone();
        if let Value::Hash(h) = params {
            for (k, v) in h.iter() {
                p.insert(k.clone(), v.clone());
            }
        }
        ensure_one(ev, &tn, title, &p, e)?
    }
    Ok(Value::Undef)
}

/// `ensure_packages`.
pub(crate) fn ensure_packages(
    ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    let mut defaults = Map::default();
    defaults.insert(Value::str("ensure"), Value::str("installed"));
    if let Some(Value::Hash(d)) = args.get(1) {
        for (k, v) in d.iter() {
            defaults.insert(k.clone(), v.clone());
        }
        if defaults.get(&Value::str("ensure")) == Some(&Value::str("present")) {
            defaults.insert(Value::str("ensure"), Value::str("installed"));
        }
    }
    match args.first() {
        Some(Value::Hash(h)) => {
            for (title, params) in h.iter() {
                let mut p = defaults.clone();
                if let Value::Hash(x) = params {
                    for (k, v) in x.iter() {
                        p.insert(k.clone(), v.clone());
                    }
                }
                ensure_one(ev, "package", title, &p, e)?
            }
            Ok(Value::Undef)
        }
        Some(v) => {
            for p in flatten(std::slice::from_ref(v)) {
                ensure_one(ev, "package", &p, &defaults, e)?
            }
            Ok(Value::Undef)
        }
        None => Err(err(
            "'ensure_packages' expects between 1 and 2 arguments, got none",
        )),
    }
}

/// `fqdn_rotate`.
pub(crate) fn fqdn_rotate(
    ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    let Some(v) = args.first() else {
        return Err(err(
            "fqdn_rotate(): Wrong number of arguments given (0 for 1)",
        ));
    };
    let (mut items, is_str): (Vec<Value>, bool) = match v {
        Value::Array(a) => ((**a).clone(), false),
        Value::Str(s) => (s.chars().map(|c| Value::str(c.to_string())).collect(), true),
        _ => {
            return Err(err(
                "fqdn_rotate(): Requires either array or string to work with",
            ))
        }
    };
    if items.len() > 1 {
        let rest: Vec<String> = flatten(&args[1..]).iter().map(|v| v.to_display()).collect();
        let text = format!("{}:{}", fact_fqdn(ev,), rest.join(":"));
        let offset = crate::functions::digest::seeded_rand(&text, items.len() as i64) as usize;
        let n = items.len();
        items.rotate_left(offset % n);
    }
    Ok(if is_str {
        Value::str(items.iter().map(|v| v.to_display()).collect::<String>())
    } else {
        Value::array(items)
    })
}

/// stdlib's `fact('a.b.0')`: a fact by dotted path, undef when absent.
pub(crate) fn fact(
    ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    let Some(Value::Str(path)) = args.first() else {
        return Err(err(format!(
            "'fact' parameter 'fact_name' expects a String value, got {}",
            troupe_values::types::infer_for_message(args.first().unwrap_or(&Value::Undef))
        )));
    };
    Ok(troupe_values::value::dig_path(
        ev.facts().clone(),
        Some(path),
    ))
}

/// `getparam`.
pub(crate) fn getparam(
    ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    match args {
        [r, Value::Str(param), ..] => {
            if param.is_empty() {
                return Ok(Value::str(""));
            }
            let found = match r {
                Value::Type(t) => match t.resolved() {
                    troupe_values::types::Type::Resource(Some(tn), Some(title)) => {
                        ev.find_resource(tn, title)
                    }
                    troupe_values::types::Type::Class(Some(c)) => ev.find_resource("Class", c),
                    _ => None,
                },
                Value::Str(s) => crate::catalog::parse_ref(s)
                    .and_then(|(tn, title)| ev.find_resource(&tn, &title)),
                _ => None,
            };
            Ok(found
                .and_then(|i| ev.resource(i).params.get(&**param).cloned())
                .filter(|v| !v.is_undef())
                .unwrap_or_else(|| Value::str("")))
        }
        [Value::Undef, ..] | [] => Err(err("Must specify a reference")),
        _ => Err(err("Must specify name of a parameter")),
    }
}

/// `get_module_path`.
pub(crate) fn get_module_path(
    ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    match args {
        [m] => {
            let m = m.to_display();
            match ev.env().module_dir(&m) {
                Some(d) => Ok(Value::str(d.to_string_lossy().to_string())),
                None => Err(err(format!(
                    "Could not find module {m} in environment {}",
                    ev.env().name()
                ))),
            }
        }
        _ => Err(err(
            "get_module_path(): Wrong number of arguments, expects one",
        )),
    }
}

/// `fqdn_rand_string`.
pub(crate) fn fqdn_rand_string(
    ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    let len = match args.first() {
        None => {
            return Err(err(
                "fqdn_rand_string(): wrong number of arguments (0 for 1)",
            ))
        }
        Some(Value::Int(n)) if *n > 0 => *n,
        Some(Value::Str(s))
            if s.bytes().all(|b| b.is_ascii_digit()) && !s.starts_with('0') && !s.is_empty() =>
        {
            ruby_to_i(s)
        }
        Some(_) => {
            return Err(err(
                "fqdn_rand_string(): first argument must be a positive integer",
            ))
        }
    };
    let charset: Vec<char> = match args.get(1) {
        None | Some(Value::Undef) => vec![],
        Some(Value::Str(s)) => s.chars().collect(),
        Some(_) => {
            return Err(err(
                "fqdn_rand_string(): second argument must be undef or a string",
            ))
        }
    };
    let charset = if charset.is_empty() {
        ('0'..='9').chain('A'..='Z').chain('a'..='z').collect()
    } else {
        charset
    };
    let seeds: Vec<String> = args
        .iter()
        .skip(2)
        .map(troupe_ruby::object::ruby_to_s)
        .collect();
    let fqdn = fact_fqdn(ev);
    troupe_values::limits::reserve(len as u64 * 4)?;
    let mut out = String::new();
    for current in 1..=len {
        troupe_values::limits::checkpoint()?;
        let mut parts = seeds.clone();
        parts.push(current.to_string());
        let i = crate::functions::digest::fqdn_rand(
            &fqdn,
            charset.len() as i64,
            Some(&parts.join(":")),
        );
        out.push(charset[i as usize]);
    }
    Ok(Value::str(out))
}

/// The node's FQDN fact (`networking.fqdn`, else the legacy `fqdn`), the seed of
/// `fqdn_rand` and `fqdn_rotate`.
pub(crate) fn fact_fqdn(ev: &dyn Host) -> String {
    let facts = ev.facts();
    let v = troupe_values::value::dig_path(facts.clone(), Some("networking.fqdn"));
    let v = if v.is_undef() {
        troupe_values::value::dig_path(facts.clone(), Some("fqdn"))
    } else {
        v
    };
    if v.is_undef() {
        String::new()
    } else {
        v.to_display()
    }
}

fn has_params(ev: &mut dyn Host, reference: &Value, params: Option<&Value>) -> EResult<bool> {
    let (tn, title) = match reference {
        Value::Str(s) => crate::catalog::parse_ref(s).unwrap_or((s.to_string(), String::new())),
        Value::Type(t) => match t.resolved() {
            troupe_values::types::Type::Resource(Some(tn), Some(title)) => {
                (tn.clone(), title.clone())
            }
            _ => (reference.to_display(), String::new()),
        },
        other => {
            return Err(err(format!(
                "Reference is not understood: '{}'",
                ruby_class(other)
            )))
        }
    };
    let empty = Map::default();
    let params = match params {
        Some(Value::Hash(p)) => &**p,
        _ => &empty,
    };
    Ok(defined_with(ev, &resource_type(&tn), &title, params))
}

/// stdlib's `defined_with_params` on a type and title: the resource exists and has every
/// given parameter (undef matching an unset one).
fn defined_with(ev: &dyn Host, tn: &str, title: &str, params: &Map) -> bool {
    let Some(idx) = ev.find_resource(tn, title) else {
        return false;
    };
    params.iter().all(|(k, v)| {
        let have = ev
            .resource(idx)
            .params
            .get(&k.to_display())
            .cloned()
            .unwrap_or(Value::Undef);
        (have.is_undef() && v.is_undef()) || have == *v
    })
}

fn ensure_one(ev: &mut dyn Host, tn: &str, titles: &Value, params: &Map, e: &Expr) -> EResult<()> {
    let tn = resource_type(tn);
    for title in flatten(std::slice::from_ref(titles)) {
        if defined_with(ev, &tn, &title.to_display(), params) {
            continue;
        }
        // The title goes on as it is: create_resources treats a non-String one as Puppet does.
        let mut h = Map::default();
        h.insert(title, Value::hash(params.clone()));
        ev.create_resources(&tn, &h, &Map::default(), e)?;
    }
    Ok(())
}
/// `File` from `file`, `Apache::Vhost` from `apache::vhost`.
fn resource_type(tn: &str) -> String {
    troupe_values::types::capitalize_type_name(&tn.to_lowercase())
}
