//! puppetlabs-stdlib's functions: collections.

use crate::functions::host::Host;
use crate::functions::stdlib::blank;
use crate::functions::stdlib::err;
use troupe_ruby::object::inspect;
use troupe_ruby::object::ruby_class;
use troupe_ruby::object::ruby_string_upto;
use troupe_ruby::object::ruby_to_i;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::EResult;
use troupe_values::value::flatten;
use troupe_values::value::Map;
use troupe_values::value::Value;

/// `pick`.
pub(crate) fn pick(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    let first = args.iter().find(|v| !blank(v));
    match first {
        Some(v) => Ok(v.clone()),
        None => Err(err("pick(): must receive at least one non empty value")),
    }
}

/// `pick_default`.
pub(crate) fn pick_default(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    match args.split_last() {
        None => Err(err("Must receive at least one argument.")),
        Some((default, rest)) => {
            Ok(rest.iter().find(|v| !blank(v)).cloned().unwrap_or_else(|| {
                if matches!(default, Value::Undef) {
                    Value::str("")
                } else {
                    default.clone()
                }
            }))
        }
    }
}

/// `merge`.
pub(crate) fn merge(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    let mut acc = Map::default();
    for (i, a) in args.iter().enumerate() {
        match a {
                        Value::Hash(h) => {
                            for (k, v) in h.iter() {
                                acc.insert(k.clone(), v.clone());
                            }
                        }
                        v if blank(v) => {}
                        other => {
                            return Err(err(format!(
                                "'merge' parameter 'args' entry {} expects a value of type Undef, Hash, or String[0, 0], got {}",
                                i + 1,
                                troupe_values::types::infer_for_message(other)
                            )))
                        }
                    }
    }
    Ok(Value::hash(acc))
}

/// `deep_merge`.
pub(crate) fn deep_merge_fn(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    if args.len() < 2 {
        return Err(err(format!(
            "deep_merge(): wrong number of arguments ({}; must be at least 2)",
            args.len()
        )));
    }
    let mut acc = Value::hash(Map::default());
    for a in args {
        if blank(a) {
            continue;
        }
        if !matches!(a, Value::Hash(_)) {
            return Err(err(format!(
                "deep_merge: unexpected argument type {}, only expects hash arguments",
                ruby_class(a)
            )));
        }
        acc = deep_merge(&acc, a);
    }
    Ok(acc)
}

/// `concat`.
pub(crate) fn concat(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    if args.len() < 2 {
        return Err(err(format!(
            "concat(): Wrong number of arguments given ({} for < 2)",
            args.len()
        )));
    }
    let Value::Array(a) = &args[0] else {
        return Err(err("concat(): Requires array to work with"));
    };
    let mut out = (**a).clone();
    for x in &args[1..] {
        match x {
            Value::Array(b) => out.extend(b.iter().cloned()),
            other => out.push(other.clone()),
        }
    }
    Ok(Value::array(out))
}

/// `has_key`.
pub(crate) fn has_key(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    match args {
        [Value::Hash(h), k] => Ok(Value::Bool(h.contains_key(k))),
        [other, _] => Err(err(format!(
            "has_key(): expects the first argument to be a hash, got {} which is of type {}",
            inspect(other),
            ruby_class(other)
        ))),
        _ => Err(err(format!(
            "has_key(): wrong number of arguments ({}; must be 2)",
            args.len()
        ))),
    }
}

/// `count`.
pub(crate) fn count(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    match args {
        [Value::Array(a)] => Ok(Value::Int(a.iter().filter(|v| !blank(v)).count() as i64)),
        [Value::Array(a), item] => Ok(Value::Int(a.iter().filter(|v| *v == item).count() as i64)),
        _ => Err(err(format!(
            "count(): Wrong number of arguments given {} for 1 or 2.",
            args.len()
        ))),
    }
}

/// `member`.
pub(crate) fn member(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    match args {
        [Value::Array(a), Value::Array(items)] => {
            Ok(Value::Bool(items.iter().all(|i| a.iter().any(|x| x == i))))
        }
        [Value::Array(a), item] => Ok(Value::Bool(a.iter().any(|x| x == item))),
        [_, _] => Err(err("member(): Requires array to work with")),
        _ => Err(err(format!(
            "member(): Wrong number of arguments given ({} for 2)",
            args.len()
        ))),
    }
}

/// `delete_undef_values`.
pub(crate) fn delete_undef_values(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    match args.first() {
        Some(Value::Hash(h)) => Ok(Value::hash(
            h.iter()
                .filter(|(_, v)| !blank(v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )),
        Some(Value::Array(a)) => Ok(Value::array(
            a.iter().filter(|v| !blank(v)).cloned().collect(),
        )),
        _ => Err(err(
            "delete_undef_values(): expected an array or hash, got ",
        )),
    }
}

/// `delete`.
pub(crate) fn delete(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    match args {
        [coll, items] => {
            let items: Vec<Value> = match items {
                Value::Array(a) => (**a).clone(),
                other => vec![other.clone()],
            };
            match coll {
                        Value::Array(a) => Ok(Value::array(
                            a.iter().filter(|v| !items.contains(v)).cloned().collect(),
                        )),
                        Value::Hash(h) => Ok(Value::hash(
                            h.iter()
                                .filter(|(k, _)| !items.contains(k))
                                .map(|(k, v)| (k.clone(), v.clone()))
                                .collect(),
                        )),
                        Value::Str(s) => {
                            let mut out = s.to_string();
                            for i in &items {
                                out = out.replace(&i.to_display(), "");
                            }
                            Ok(Value::str(out))
                        }
                        other => Err(err(format!(
                            "delete(): First argument must be an Array, String, or Hash. Given an argument of class {}.",
                            ruby_class(other)
                        ))),
                    }
        }
        _ => Err(err(format!(
            "delete(): Wrong number of arguments given {} for 2",
            args.len()
        ))),
    }
}

/// `prefix`, `suffix`.
pub(crate) fn prefix(
    _ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    let affix = match args.get(1) {
        Some(Value::Str(s)) => s.to_string(),
        Some(v) if blank(v) => String::new(),
        None => String::new(),
        Some(_) => {
            return Err(err(format!(
                "{name}(): expected second argument to be a String, got "
            )))
        }
    };
    let f = |s: &str| {
        if name == "prefix" {
            format!("{affix}{s}")
        } else {
            format!("{s}{affix}")
        }
    };
    match args.first() {
        Some(Value::Array(a)) => Ok(Value::array(
            a.iter().map(|v| Value::str(f(&v.to_display()))).collect(),
        )),
        Some(Value::Hash(h)) => Ok(Value::hash(
            h.iter()
                .map(|(k, v)| (Value::str(f(&k.to_display())), v.clone()))
                .collect(),
        )),
        Some(other) => Err(err(format!(
            "{name}(): expected first argument to be an Array or a Hash, got {}",
            inspect(other)
        ))),
        None => Err(err(format!(
            "{name}(): Wrong number of arguments given (0 for 1)"
        ))),
    }
}

/// `join_keys_to_values`.
pub(crate) fn join_keys_to_values(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    match args {
        [Value::Hash(h), Value::Str(sep)] => {
            let mut out = vec![];
            for (k, v) in h.iter() {
                match v {
                    Value::Array(a) => {
                        for x in a.iter() {
                            out.push(Value::str(format!(
                                "{}{sep}{}",
                                k.to_display(),
                                x.to_display()
                            )));
                        }
                    }
                    other => out.push(Value::str(format!(
                        "{}{sep}{}",
                        k.to_display(),
                        if other.is_undef() {
                            String::new()
                        } else {
                            other.to_display()
                        }
                    ))),
                }
            }
            Ok(Value::array(out))
        }
        [_, Value::Str(_)] => Err(err(
            "join_keys_to_values(): The first argument must be a hash",
        )),
        [_, _] => Err(err(
            "join_keys_to_values(): The second argument must be a string",
        )),
        _ => Err(err(format!(
            "join_keys_to_values(): Takes exactly two arguments, but {} given.",
            args.len()
        ))),
    }
}

/// `delete_at`.
pub(crate) fn delete_at(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    match args {
        [Value::Array(a), idx] => {
            let i = match idx {
                Value::Int(i) if *i >= 0 => *i as usize,
                Value::Str(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                    s.parse().unwrap_or(usize::MAX)
                }
                Value::Str(_) => {
                    return Err(err(
                        "delete_at(): You must provide non-negative numeric index",
                    ))
                }
                _ => 0,
            };
            if i >= a.len() {
                return Err(err("delete_at(): Given index exceeds size of array given"));
            }
            let mut out = (**a).clone();
            out.remove(i);
            Ok(Value::array(out))
        }
        [_, _] => Err(err("delete_at(): Requires array to work with")),
        _ => Err(err(format!(
            "delete_at(): Wrong number of arguments given ({} for 2)",
            args.len()
        ))),
    }
}

/// `hash`.
pub(crate) fn hash(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    match args.first() {
        None => Err(err("hash(): Wrong number of arguments given (0 for 1)")),
        Some(Value::Array(a)) => {
            let flat = flatten(a);
            if !flat.len().is_multiple_of(2) {
                Err(err("hash(): Unable to compute hash from array given"))
            } else {
                let mut m = Map::default();
                for pair in flat.chunks(2) {
                    m.insert(pair[0].clone(), pair[1].clone());
                }
                Ok(Value::hash(m))
            }
        }
        Some(_) => Err(err("hash(): Requires array to work with")),
    }
}

/// `range`.
pub(crate) fn range(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    stdlib_range(args)
}

/// `grep`, `reject`.
pub(crate) fn grep(
    _ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    if args.len() != 2 {
        return Err(err(format!(
            "{name}(): Wrong number of arguments given {} for 2",
            args.len()
        )));
    }
    let re = regexp_arg(&args[1])?;
    let keep = name == "grep";
    match &args[0] {
        Value::Array(a) => Ok(Value::array(
            a.iter()
                .filter(|v| matches!(v, Value::Str(s) if re.is_match(s)) == keep)
                .cloned()
                .collect(),
        )),
        other => Err(err(format!(
            "undefined method `{name}' for {}:{}",
            inspect(other),
            ruby_class(other)
        ))),
    }
}

/// `values_at`.
pub(crate) fn values_at(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    stdlib_values_at(args)
}

/// `union`, `difference`, `intersection`.
pub(crate) fn union(
    _ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    if args.len() < 2 {
        return Err(err(format!(
            "{name}(): Wrong number of arguments given ({} for 2)",
            args.len()
        )));
    }
    let mut arrays = Vec::new();
    for a in args {
        match a {
            Value::Array(x) => arrays.push(x.clone()),
            _ if name == "union" => return Err(err("union(): Every parameter must be an array")),
            _ => return Err(err(format!("{name}(): Requires 2 arrays"))),
        }
    }
    let mut out: Vec<Value> = Vec::new();
    match name {
        "union" => {
            for a in &arrays {
                for v in a.iter() {
                    if !out.contains(v) {
                        out.push(v.clone());
                    }
                }
            }
        }
        "difference" => {
            for v in arrays[0].iter() {
                if !arrays[1].contains(v) {
                    out.push(v.clone());
                }
            }
        }
        _ => {
            for v in arrays[0].iter() {
                if arrays[1].contains(v) && !out.contains(v) {
                    out.push(v.clone());
                }
            }
        }
    }
    Ok(Value::array(out))
}

/// `dig44`.
pub(crate) fn dig44(
    _ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    stdlib_dig44(args)
}
fn deep_merge(a: &Value, b: &Value) -> Value {
    troupe_values::limits::grow(|| match (a, b) {
        (Value::Hash(x), Value::Hash(y)) => {
            let mut out = (**x).clone();
            for (k, v) in y.iter() {
                let merged = match out.get(k) {
                    Some(old @ Value::Hash(_)) if matches!(v, Value::Hash(_)) => deep_merge(old, v),
                    _ => v.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::hash(out)
        }
        (_, b) => b.clone(),
    })
}
/// A regex argument of a 3.x function: `Regexp.new(arg)` (a Regexp or its source text).
fn regexp_arg(v: &Value) -> EResult<std::rc::Rc<troupe_values::value::Regexp>> {
    match v {
        Value::Regex(r) => Ok(r.clone()),
        other => troupe_values::value::Regexp::new(&troupe_ruby::object::ruby_to_s(other))
            .map(std::rc::Rc::new)
            .map_err(err),
    }
}
fn stdlib_range(args: &[Value]) -> EResult<Value> {
    if args.is_empty() {
        return Err(err("range(): Wrong number of arguments given (0 for 1)"));
    }
    let text = troupe_ruby::object::ruby_to_s;
    let (start, stop, step, exclusive) = if args.len() > 1 {
        let step = match args.get(2) {
            None | Some(Value::Undef) => 1,
            Some(v) => ruby_to_i(&text(v)).abs(),
        };
        if step == 0 {
            return Err(err(
                "range(): 3rd arg (step size) must be a non zero integer (e.g. 1 or -1)",
            ));
        }
        (text(&args[0]), text(&args[1]), step, false)
    } else {
        let v = text(&args[0]);
        // ^(\w+)(\.\.\.?|\-)(\w+)$
        let word = |t: &str| !t.is_empty() && t.chars().all(|c| c.is_alphanumeric() || c == '_');
        let split = ["...", "..", "-"]
            .iter()
            .find_map(|sep| v.find(sep).map(|i| (&v[..i], *sep, &v[i + sep.len()..])));
        match split {
            Some((a, sep, b)) if word(a) && word(b) => {
                (a.to_string(), b.to_string(), 1, sep == "...")
            }
            _ if !v.is_empty() => {
                return Err(err(format!(
                    "range(): Unable to compute range from the value: {v}"
                )))
            }
            _ => return Err(err(format!("range(): Unknown range format: {v}"))),
        }
    };
    let mut out = Vec::new();
    if !start.is_empty() && start.bytes().all(|b| b.is_ascii_digit()) {
        let (a, b) = (ruby_to_i(&start), ruby_to_i(&stop));
        let end = if exclusive { b - 1 } else { b };
        let mut i = a;
        while i <= end && out.len() < 1_000_000 {
            out.push(Value::Int(i));
            i += step;
        }
    } else {
        for (n, s) in ruby_string_upto(&start, &stop, exclusive)
            .into_iter()
            .enumerate()
        {
            if n as i64 % step == 0 {
                out.push(Value::str(s));
            }
        }
    }
    Ok(Value::array(out))
}
fn stdlib_values_at(args: &[Value]) -> EResult<Value> {
    if args.len() < 2 {
        return Err(err(format!(
            "values_at(): Wrong number of arguments given ({} for 2)",
            args.len()
        )));
    }
    let Value::Array(array) = &args[0] else {
        return Err(err("values_at(): Requires array to work with"));
    };
    let indices = flatten(&args[1..2]);
    if indices.is_empty() {
        return Err(err(
            "values_at(): You must provide at least one positive index to collect",
        ));
    }
    let mut list: Vec<usize> = Vec::new();
    let size = array.len() as i64;
    for i in &indices {
        let t = troupe_ruby::object::ruby_to_s(i);
        let digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
        let range = ["...", "..", "-"]
            .iter()
            .find_map(|sep| t.find(sep).map(|p| (&t[..p], *sep, &t[p + sep.len()..])));
        match range {
            Some((a, sep, b)) if digits(a) && digits(b) => {
                let (start, stop) = (ruby_to_i(a), ruby_to_i(b));
                if start > stop {
                    return Err(err("values_at(): Stop index in given indices range is smaller than the start index"));
                }
                if stop > size - 1 {
                    return Err(err(
                        "values_at(): Stop index in given indices range exceeds array size",
                    ));
                }
                let end = if sep == "..." { stop } else { stop + 1 };
                list.extend((start..end).map(|x| x as usize));
            }
            _ => {
                if !digits(&t) {
                    return Err(err("values_at(): Unknown format of given index"));
                }
                let n = ruby_to_i(&t);
                if n > size - 1 {
                    return Err(err("values_at(): Given index exceeds array size"));
                }
                list.push(n as usize);
            }
        }
    }
    Ok(Value::array(
        list.into_iter()
            .map(|i| array[i].clone())
            .filter(|v| !v.is_undef())
            .collect(),
    ))
}
fn stdlib_dig44(args: &[Value]) -> EResult<Value> {
    if args.len() < 2 {
        return Err(err(format!(
            "dig44(): Wrong number of arguments given ({} for at least 2)",
            args.len()
        )));
    }
    let (data, path, default) = (
        &args[0],
        &args[1],
        args.get(2).cloned().unwrap_or(Value::Undef),
    );
    if !matches!(data, Value::Hash(_) | Value::Array(_)) {
        return Err(err(format!(
            "dig44(): first argument must be a hash or an array, given {}",
            ruby_class(data)
        )));
    }
    let Value::Array(path) = path else {
        return Err(err(format!(
            "dig44(): second argument must be an array, given {}",
            ruby_class(path)
        )));
    };
    let mut cur = data.clone();
    for key in path.iter() {
        let next = match (&cur, key) {
            (Value::Hash(h), k) => h.get(k).cloned(),
            (Value::Array(a), Value::Int(i)) => {
                let i = if *i < 0 { a.len() as i64 + i } else { *i };
                a.get(i as usize).cloned()
            }
            (Value::Array(a), Value::Str(s)) => s.trim().parse::<i64>().ok().and_then(|i| {
                let i = if i < 0 { a.len() as i64 + i } else { i };
                a.get(i as usize).cloned()
            }),
            _ => None,
        };
        match next {
            Some(v) if !v.is_undef() => cur = v,
            _ => return Ok(default),
        }
    }
    Ok(cur)
}
