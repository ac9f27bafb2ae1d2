//! `dig`, `get` and `getvar`: walking into nested data by keys, by a dotted navigation string
//! (`1."k.j".0`), or from a variable (`name.1.0`), with Puppet's errors: the walked path of a
//! step into a non-collection or of a non-Integer index into an array.

use crate::functions::host::Host;
use crate::functions::sigs::{dispatch, Sig};
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::{EResult, EvalError};
use troupe_values::value::{Map, Value};

const DIG: &[Sig] = &[Sig {
    params: &[("Optional[Collection]", "data"), ("Any", "arg*")],
    block: None,
}];

const GET: &[Sig] = &[Sig {
    params: &[
        ("Any", "value"),
        ("String", "dotted_string"),
        ("Any", "default_value?"),
    ],
    block: crate::functions::sigs::opt_block("Callable[1, 1]", 1),
}];

/// A failed step: its message and Puppet's issue code.
struct DigError {
    msg: String,
    issue: &'static str,
}

/// The name Puppet's `TypeCalculator.infer` gives a value in a dig error.
fn type_name(v: &Value) -> String {
    match v {
        Value::Str(_) => "String".into(),
        other => troupe_values::infer::infer_type(other).to_string(),
    }
}

fn walk(data: &Value, keys: &[Value]) -> Result<Value, DigError> {
    let mut walked: Vec<Value> = Vec::new();
    let mut d = data.clone();
    for k in keys {
        if d.is_undef() || k.is_undef() {
            return Ok(Value::Undef);
        }
        if !matches!(d, Value::Array(_) | Value::Hash(_)) {
            return Err(DigError {
                msg: format!(
                    "The given data does not contain a Collection at {}, got '{}'",
                    troupe_ruby::object::inspect(&Value::array(walked)),
                    type_name(&d)
                ),
                issue: "EXPECTED_COLLECTION",
            });
        }
        walked.push(k.clone());
        d = match (&d, k) {
            (Value::Array(a), Value::Int(i)) => {
                let i = if *i < 0 { a.len() as i64 + i } else { *i };
                usize::try_from(i)
                    .ok()
                    .and_then(|i| a.get(i))
                    .cloned()
                    .unwrap_or(Value::Undef)
            }
            (Value::Array(_), k) => {
                return Err(DigError {
                    msg: format!(
                        "The given data requires an Integer index at {}, got '{}'",
                        troupe_ruby::object::inspect(&Value::array(walked)),
                        type_name(k)
                    ),
                    issue: "EXPECTED_INTEGER_INDEX",
                })
            }
            (Value::Hash(h), k) => h.get(k).cloned().unwrap_or(Value::Undef),
            _ => Value::Undef,
        };
    }
    Ok(d)
}

/// `dig`.
pub(crate) fn dig(
    ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    dispatch(ev, name, DIG, &args, lambda)?;
    walk(&args[0], &args[1..]).map_err(|d| EvalError::new(d.msg))
}

/// Puppet's `SubLookup#split_key` of `x.<nav>`, without its first segment.
fn split_nav(nav: &str) -> EResult<Vec<Value>> {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(r#"\s*"[^"]+"\s*|\s*'[^']+'\s*|[^'".]+"#).expect("static regexp")
    });
    let key = format!("x.{nav}");
    let syntax = || EvalError::new("Syntax error in dotted-navigation string");
    // Ruby's `split` with a captured separator: the text between matches, and the matches.
    let mut pieces: Vec<&str> = Vec::new();
    let mut last = 0;
    for m in re.find_iter(&key) {
        pieces.push(&key[last..m.start()]);
        pieces.push(m.as_str());
        last = m.end();
    }
    pieces.push(&key[last..]);
    while pieces.last().is_some_and(|p| p.is_empty()) {
        pieces.pop();
    }
    if pieces.is_empty() || !pieces.remove(0).is_empty() {
        return Err(syntax());
    }
    let count = pieces.len();
    pieces.retain(|p| *p != ".");
    if count == 0 || pieces.len() * 2 != count + 1 {
        return Err(syntax());
    }
    static INT: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let int = INT.get_or_init(|| regex::Regex::new(r"^:?[+-]?[0-9]+$").expect("static regexp"));
    let mut out: Vec<Value> = pieces
        .into_iter()
        .map(|p| {
            let p = p.trim();
            if p.starts_with('"') || p.starts_with('\'') {
                Value::str(p.get(1..p.len() - 1).unwrap_or(""))
            } else if int.is_match(p) {
                Value::Int(troupe_ruby::object::ruby_to_i(p))
            } else {
                Value::str(p)
            }
        })
        .collect();
    out.remove(0);
    Ok(out)
}

/// `get`'s walk of `value` by `nav`, shared with `getvar`.
fn get_from(
    ev: &mut dyn Host,
    value: &Value,
    nav: &str,
    default: Value,
    lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    if value.is_undef() {
        return Ok(default);
    }
    if nav.is_empty() {
        return Ok(value.clone());
    }
    let keys = split_nav(nav)?;
    match walk(value, &keys) {
        Ok(Value::Undef) => Ok(default),
        Ok(v) => Ok(v),
        Err(d) => match lambda {
            // The block gets the error's data (troupe has no Error values yet: as a hash).
            Some(l) => {
                let mut h = Map::default();
                h.insert(Value::str("msg"), Value::str(d.msg.as_str()));
                h.insert(Value::str("kind"), Value::str("SLICE_ERROR"));
                h.insert(Value::str("issue_code"), Value::str(d.issue));
                ev.call_lambda(l, &[Value::hash(h)], e)
            }
            None => Err(EvalError::new(d.msg)),
        },
    }
}

/// `get`.
pub(crate) fn get_fn(
    ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    dispatch(ev, name, GET, &args, lambda)?;
    let nav = match &args[1] {
        Value::Str(s) => s.to_string(),
        _ => String::new(),
    };
    let default = args.get(2).cloned().unwrap_or(Value::Undef);
    get_from(ev, &args[0], &nav, default, lambda, e)
}

/// `getvar`.
pub(crate) fn getvar(
    ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    crate::functions::args::arity(name, &args, 1, 2)?;
    let nav = crate::functions::args::str_arg(name, &args[0], "'get_string'")?.to_string();
    static VALID: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    static SPLIT: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let valid = VALID.get_or_init(|| {
        regex::Regex::new(r"\A(?:::)?(?:[a-z]\w*::)*[a-z_]\w*(?:\.|\z)").expect("static regexp")
    });
    if !valid.is_match(&nav) {
        return Err(EvalError::new(format!(
            "'{name}' The given string does not start with a valid variable name"
        )));
    }
    let split = SPLIT.get_or_init(|| {
        regex::Regex::new(r"(?s)\A((?:::)?(?:\w+::)*\w+)(.*)\z").expect("static regexp")
    });
    let (var, rest) = match split.captures(&nav) {
        Some(c) => (
            c.get(1).map_or("", |m| m.as_str()).to_string(),
            c.get(2).map_or("", |m| m.as_str()).to_string(),
        ),
        None => (nav.clone(), String::new()),
    };
    let rest = match rest.strip_prefix('.') {
        Some(r) => r.to_string(),
        None if rest.is_empty() => rest,
        None => {
            return Err(EvalError::new(format!(
                "First character after var name in get string must be a '.' - got {}",
                rest.chars().next().unwrap_or(' ')
            )))
        }
    };
    let default = args.get(1).cloned().unwrap_or(Value::Undef);
    let var = var.trim_start_matches("::");
    if !ev.var_defined(var) {
        return Ok(default);
    }
    let value = ev.lookup_var(var)?;
    get_from(ev, &value, &rest, default, lambda, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nav(s: &str) -> Result<Vec<String>, String> {
        split_nav(s)
            .map(|v| v.iter().map(troupe_ruby::object::inspect).collect())
            .map_err(|e| e.msg)
    }

    fn ok(v: &[&str]) -> Result<Vec<String>, String> {
        Ok(v.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn navigation_strings_split_as_puppet_splits_them() {
        assert_eq!(nav("1.0"), ok(&["1", "0"]));
        assert_eq!(nav("m.0"), ok(&["\"m\"", "0"]));
        assert_eq!(nav("\"k.j\".1.0"), ok(&["\"k.j\"", "1", "0"]));
        assert_eq!(nav("'7'.0"), ok(&["\"7\"", "0"]));
        assert_eq!(nav("-1"), ok(&["-1"]));
        for bad in ["1....", "1..2", ".1", "1."] {
            assert_eq!(
                nav(bad).err().as_deref(),
                Some("Syntax error in dotted-navigation string"),
                "{bad}"
            );
        }
    }

    #[test]
    fn walk_reports_the_walked_path() {
        let data = Value::array(vec![
            Value::str("no"),
            Value::array(vec![Value::str("yes")]),
        ]);
        let e = walk(&data, &[Value::Int(1), Value::str("word")])
            .err()
            .map(|d| d.msg);
        assert_eq!(
            e.as_deref(),
            Some("The given data requires an Integer index at [1, \"word\"], got 'String'")
        );
        let e = walk(&data, &[Value::Int(0), Value::Int(0)])
            .err()
            .map(|d| d.msg);
        assert_eq!(
            e.as_deref(),
            Some("The given data does not contain a Collection at [0], got 'String'")
        );
        assert!(walk(&data, &[Value::Int(5), Value::Int(0)]).is_ok_and(|v| v.is_undef()));
    }
}
