//! The range parameters of `Timespan[from, to]` and `Timestamp[from, to]`: made from strings
//! (parsed with the default formats), seconds (Integer or Float) or `default`, and printed as
//! Puppet's TypeFormatter prints them (`Timespan['0-02:00:00.0']`, `Timestamp[default, '...']`).

use crate::time::{parse_timespan, parse_timestamp, secs_to_nsecs, timespan_to_s, timestamp_to_s};
use crate::types::{INT_MAX, INT_MIN};
use crate::value::{puppet_quote, Value};
use std::fmt;

/// One bound in nanoseconds; `None` for `default` (unbounded).
pub fn bound(stamp: bool, v: &Value) -> Result<Option<i64>, String> {
    let ns: i128 = match v {
        Value::Default | Value::Undef => return Ok(None),
        Value::Int(i) => *i as i128 * crate::time::NS_PER_SEC,
        Value::Float(f) => secs_to_nsecs(*f),
        Value::Str(s) if stamp => parse_timestamp(s, None, None)?,
        Value::Str(s) => parse_timespan(s, None)?,
        Value::Timestamp(t) if stamp => *t as i128,
        Value::Timespan(t) if !stamp => *t as i128,
        other => {
            return Err(format!(
                "{} parameters must be strings, numbers or default, got {}",
                if stamp { "Timestamp" } else { "Timespan" },
                crate::types::infer_for_message(other)
            ))
        }
    };
    Ok(Some(
        ns.clamp(INT_MIN as i128 + 1, INT_MAX as i128 - 1) as i64
    ))
}

/// The range of `Name[args]`: one argument is the lower bound only.
pub fn range(stamp: bool, args: &[Value]) -> Result<(i64, i64), String> {
    let from = match args.first() {
        Some(v) => bound(stamp, v)?,
        None => None,
    };
    let to = match args.get(1) {
        Some(v) => bound(stamp, v)?,
        None => None,
    };
    Ok((from.unwrap_or(INT_MIN), to.unwrap_or(INT_MAX)))
}

pub(crate) fn write(f: &mut fmt::Formatter<'_>, name: &str, a: i64, b: i64) -> fmt::Result {
    f.write_str(name)?;
    if a == INT_MIN && b == INT_MAX {
        return Ok(());
    }
    let text = |n: i64| {
        puppet_quote(&if name == "Timestamp" {
            timestamp_to_s(n as i128)
        } else {
            timespan_to_s(n as i128)
        })
    };
    f.write_str("[")?;
    if a == INT_MIN {
        f.write_str("default")?;
    } else {
        f.write_str(&text(a))?;
    }
    if b != INT_MAX && b != a {
        write!(f, ", {}", text(b))?;
    }
    f.write_str("]")
}
