//! Time: `strftime`.

use crate::functions::args::arity;
use crate::functions::host::Host;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::EResult;
use troupe_values::error::EvalError;
use troupe_values::value::Value;

/// `strftime`.
pub(crate) fn strftime(
    _ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    // The deprecated (format, timezone?) form takes one argument.
    let min = if matches!(args.first(), Some(Value::Str(_))) {
        1
    } else {
        2
    };
    arity(name, &args, min, 3)?;
    let fmt = |i: usize| -> EResult<String> {
        match args.get(i) {
            Some(Value::Str(s)) => Ok(s.to_string()),
            Some(other) => Err(EvalError::new(format!(
                "'strftime' parameter 'format' expects a String value, got {}",
                troupe_values::types::infer_for_message(other)
            ))),
            None => Ok(String::new()),
        }
    };
    match &args[0] {
                    Value::Timespan(t) => {
                        arity(name, &args, 2, 2)?;
                        troupe_values::time::format_timespan(*t as i128, &fmt(1)?)
                            .map(Value::str)
                            .map_err(EvalError::new)
                    }
                    Value::Timestamp(t) => {
                        let tz = args.get(2).map(|v| v.to_display());
                        troupe_values::time::format_timestamp(*t as i128, &fmt(1)?, tz.as_deref())
                            .map(Value::str)
                            .map_err(EvalError::new)
                    }
                    Value::Str(f) => {
                        // The deprecated (format, timezone) form formats the current time.
                        let tz = args.get(1).map(|v| v.to_display());
                        troupe_values::time::format_timestamp(troupe_values::time::now(), f, tz.as_deref())
                            .map(Value::str)
                            .map_err(EvalError::new)
                    }
                    other => Err(EvalError::new(format!(
                        "'strftime' expects one of:\n  (Timespan time_object, String format)\n    rejected: parameter 'time_object' expects a Timespan value, got {t}\n  (Timestamp time_object, String format, String timezone?)\n    rejected: parameter 'time_object' expects a Timestamp value, got {t}\n  (String format, String timezone?)\n    rejected: parameter 'format' expects a String value, got {t}",
                        t = troupe_values::types::infer_for_message(other)
                    ))),
                }
}
