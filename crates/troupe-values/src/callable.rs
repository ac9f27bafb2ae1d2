//! `Callable[...]` with parameters: the parameter types, the count range and the block type,
//! kept for the type's text (`Callable[Integer, String, 1, 3, Callable[String]]`).

use crate::types::Type;
use crate::value::Value;

#[derive(Debug, Clone)]
pub struct CallableSig {
    pub params: Vec<Type>,
    /// `(min, max)` when given; `None` stands for `default`.
    pub size: Option<(Option<i64>, Option<i64>)>,
    pub block: Option<Type>,
    /// `Callable[[params], Return]`.
    pub ret: Option<Type>,
}

impl CallableSig {
    /// Reads `Callable[...]`'s arguments as Puppet's type parser does: a last `Callable` (or
    /// `Optional[Callable]`) is the block, integers and `default` before it the count range.
    pub fn from_args(args: &[Value]) -> Result<CallableSig, String> {
        if let [Value::Array(ps), ret] = args {
            let mut sig = CallableSig::from_args(ps)?;
            sig.ret = Some(match ret {
                Value::Type(t) => (**t).clone(),
                other => {
                    return Err(format!(
                        "Callable return type must be a type, got {}",
                        crate::types::infer_for_message(other)
                    ))
                }
            });
            return Ok(sig);
        }
        let mut args: Vec<Value> = args.to_vec();
        let mut block = None;
        if let Some(Value::Type(t)) = args.last() {
            let is_block = match t.resolved() {
                Type::Callable | Type::CallableOf(_) => true,
                Type::Optional(Some(i)) => {
                    matches!(i.resolved(), Type::Callable | Type::CallableOf(_))
                }
                _ => false,
            };
            if is_block {
                block = Some((**t).clone());
                args.pop();
            }
        }
        let bound = |v: &Value| match v {
            Value::Int(i) => Some(Some(*i)),
            Value::Default => Some(None),
            _ => None,
        };
        let mut size = None;
        let n = args.len();
        if n >= 2 {
            if let (Some(a), Some(b)) = (bound(&args[n - 2]), bound(&args[n - 1])) {
                size = Some((a, b));
                args.truncate(n - 2);
            }
        }
        if size.is_none() {
            if let Some(a) = args.last().and_then(bound) {
                size = Some((a, None));
                args.pop();
            }
        }
        let mut params = Vec::new();
        for a in args {
            match &a {
                Value::Type(t) => params.push((**t).clone()),
                Value::Str(s) => params.push(Type::Enum(vec![s.to_string()], false)),
                other => {
                    return Err(format!(
                        "Callable parameter must be a type, got {}",
                        crate::types::infer_for_message(other)
                    ))
                }
            }
        }
        Ok(CallableSig {
            params,
            size,
            block,
            ret: None,
        })
    }

    pub fn text(&self) -> String {
        let mut parts: Vec<String> = self.params.iter().map(|t| t.to_string()).collect();
        if self.params.is_empty() {
            parts.push("0".into());
            parts.push("0".into());
        } else if let Some((min, max)) = self.size {
            if min.is_some() || max.is_some() {
                parts.push(min.map_or("default".into(), |m| m.to_string()));
                if let Some(m) = max {
                    parts.push(m.to_string());
                }
            }
        }
        if let Some(b) = &self.block {
            parts.push(b.to_string());
        }
        match &self.ret {
            Some(r) => format!("Callable[[{}], {r}]", parts.join(", ")),
            None => format!("Callable[{}]", parts.join(", ")),
        }
    }
}
