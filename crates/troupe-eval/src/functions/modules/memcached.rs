//! The memcached module's Ruby functions, natively.

use crate::functions::host::Host;
use crate::functions::stdlib::err;
use troupe_ruby::object::ruby_to_f;
use troupe_ruby::object::ruby_to_i;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::EResult;
use troupe_values::value::Value;

/// memcached: the cache size in MB from a size or a percentage of memorysize.
pub(crate) fn memcached_max_memory(
    ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = &args[..];
    let arg = args.first().cloned().unwrap_or(Value::Undef);
    let text = arg.to_display();
    if !arg.is_undef() && !matches!(arg, Value::Bool(false)) && !text.ends_with('%') {
        return Ok(Value::Int(ruby_to_i(&text)));
    }
    let pct = if arg.is_undef() {
        "95%".to_string()
    } else {
        text
    };
    let memsize = match ev.facts() {
        Value::Hash(h) => h
            .get(&Value::str("memorysize"))
            .map(|v| v.to_display())
            .unwrap_or_default(),
        _ => String::new(),
    };
    let num: String = memsize
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | '+' | '-'))
        .collect();
    let rest = memsize[num.len()..].trim_start();
    let prefix = rest.chars().next().filter(|c| *c != 'b' && *c != 'B');
    let mut value: f64 = ruby_to_f(&num);
    value *= match prefix {
        None => 1.0,
        Some('k') => (1u64 << 10) as f64,
        Some('M') => (1u64 << 20) as f64,
        Some('G') => (1u64 << 30) as f64,
        Some('T') => (1u64 << 40) as f64,
        Some('E') => (1u64 << 50) as f64,
        Some(p) => return Err(err(format!("memcached_max_memory(): Unknown prefix {p}"))),
    };
    let value = value as i64;
    let mb = ((value / (1 << 20)) as f64 * (ruby_to_f(&pct) / 100.0)).floor();
    Ok(Value::Int(mb as i64))
}
