//! `tree_each`: walks an Array's or Hash's tree, depth first (containers before their
//! contents) or breadth first, with the options `include_root`, `include_containers`,
//! `include_values` and `order`.

use crate::functions::host::Host;
use crate::functions::sigs::dispatch;
use std::collections::VecDeque;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::{EResult, EvalError, Flow};
use troupe_values::value::Value;

struct Options {
    root: bool,
    containers: bool,
    values: bool,
    depth_first: bool,
}

fn options(v: Option<&Value>) -> EResult<Options> {
    let get = |k: &str| -> Option<Value> {
        match v {
            Some(Value::Hash(h)) => h.get(&Value::str(k)).cloned(),
            _ => None,
        }
    };
    let flag = |k: &str| !matches!(get(k), Some(Value::Bool(false)));
    let containers = flag("include_containers");
    let values = flag("include_values");
    if !containers && !values {
        return Err(EvalError::new(
            "Options 'include_containers' and 'include_values' cannot both be false",
        ));
    }
    Ok(Options {
        root: containers && flag("include_root"),
        containers,
        values,
        depth_first: !matches!(get("order").as_ref(), Some(Value::Str(s)) if &**s == "breadth_first"),
    })
}

fn is_container(v: &Value) -> bool {
    matches!(v, Value::Array(_) | Value::Hash(_))
}

fn children(v: &Value) -> Vec<(Value, Value)> {
    match v {
        Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, x)| (Value::Int(i as i64), x.clone()))
            .collect(),
        Value::Hash(h) => h.iter().map(|(k, x)| (k.clone(), x.clone())).collect(),
        _ => Vec::new(),
    }
}

fn wanted(o: &Options, v: &Value) -> bool {
    if is_container(v) {
        o.containers
    } else {
        o.values
    }
}

/// Depth first, a container before its contents.
fn depth(o: &Options, v: &Value, path: &mut Vec<Value>, out: &mut Vec<(Vec<Value>, Value)>) {
    troupe_values::limits::grow(|| {
        for (k, x) in children(v) {
            path.push(k);
            if wanted(o, &x) {
                out.push((path.clone(), x.clone()));
            }
            depth(o, &x, path, out);
            path.pop();
        }
    })
}

/// The `[path, value]` entries `tree_each` visits, in order.
fn walk(o: &Options, tree: &Value) -> Vec<(Vec<Value>, Value)> {
    let mut out = Vec::new();
    if o.root {
        out.push((Vec::new(), tree.clone()));
    }
    if o.depth_first {
        depth(o, tree, &mut Vec::new(), &mut out);
    } else {
        let mut queue: VecDeque<(Vec<Value>, Value)> = VecDeque::new();
        queue.push_back((Vec::new(), tree.clone()));
        while let Some((path, v)) = queue.pop_front() {
            for (k, x) in children(&v) {
                let mut p = path.clone();
                p.push(k);
                if wanted(o, &x) {
                    out.push((p.clone(), x.clone()));
                }
                if is_container(&x) {
                    queue.push_back((p, x));
                }
            }
        }
    }
    out
}

/// `tree_each`.
pub(crate) fn tree_each(
    ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    dispatch(ev, name, super::sigs::TREE_EACH, &args, lambda)?;
    let o = options(args.get(1))?;
    let items = walk(&o, &args[0]);
    let Some(l) = lambda else {
        // Without a block: the `[path, value]` entries.
        return Ok(Value::array(
            items
                .into_iter()
                .map(|(p, v)| Value::array(vec![Value::array(p), v]))
                .collect(),
        ));
    };
    let two = l.params.len() >= 2;
    for (path, v) in items {
        let a = if two {
            vec![Value::array(path), v]
        } else {
            vec![v]
        };
        match ev.call_lambda(l, &a, e) {
            Err(EvalError {
                flow: Some(Flow::Break),
                ..
            }) => break,
            Err(err) => return Err(err),
            Ok(_) => {}
        }
    }
    Ok(args[0].clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nest() -> Value {
        // [7, [8, [9], 10], 11]
        Value::array(vec![
            Value::Int(7),
            Value::array(vec![
                Value::Int(8),
                Value::array(vec![Value::Int(9)]),
                Value::Int(10),
            ]),
            Value::Int(11),
        ])
    }

    fn values(o: &Options) -> Vec<String> {
        walk(o, &nest())
            .into_iter()
            .map(|(p, v)| format!("{}={}", Value::array(p).to_display(), v.to_display()))
            .collect()
    }

    #[test]
    fn depth_first_puts_containers_before_contents() {
        let o = Options {
            root: false,
            containers: false,
            values: true,
            depth_first: true,
        };
        assert_eq!(
            values(&o),
            ["[0]=7", "[1, 0]=8", "[1, 1, 0]=9", "[1, 2]=10", "[2]=11"]
        );
    }

    #[test]
    fn breadth_first_walks_level_by_level() {
        let o = Options {
            root: false,
            containers: false,
            values: true,
            depth_first: false,
        };
        assert_eq!(
            values(&o),
            ["[0]=7", "[2]=11", "[1, 0]=8", "[1, 2]=10", "[1, 1, 0]=9"]
        );
    }

    #[test]
    fn options_refuse_neither_containers_nor_values() {
        let mut h = troupe_values::value::Map::default();
        h.insert(Value::str("include_containers"), Value::Bool(false));
        h.insert(Value::str("include_values"), Value::Bool(false));
        let e = options(Some(&Value::hash(h))).err().map(|e| e.msg);
        assert_eq!(
            e.as_deref(),
            Some("Options 'include_containers' and 'include_values' cannot both be false")
        );
        // The root is a container: without containers there is no root.
        let mut h = troupe_values::value::Map::default();
        h.insert(Value::str("include_containers"), Value::Bool(false));
        assert!(options(Some(&Value::hash(h))).is_ok_and(|o| !o.root));
    }
}
