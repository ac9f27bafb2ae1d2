//! Ruby's `json` library as templates use it: `to_json`, `JSON.generate`/`dump`,
//! `JSON.pretty_generate` (Ruby's exact layout) and `JSON.parse`.

use super::robj::as_obj;
use super::Ctx;
use crate::json::{ruby_json, JsonLayout};
use troupe_values::error::EResult;
use troupe_values::value::Value;

/// Whether `v` holds an object with no JSON form here (an IPAddr, a constant, ...).
fn has_object(v: &Value) -> bool {
    if as_obj(v).is_some() {
        return true;
    }
    match v {
        Value::Array(a) => a.iter().any(has_object),
        Value::Hash(h) => h.iter().any(|(k, v)| has_object(k) || has_object(v)),
        _ => false,
    }
}

/// Symbols are written as their names.
fn symbols_as_strings(v: &Value) -> Value {
    if let Some(n) = super::robj::symbol_name(v) {
        return Value::str(n);
    }
    match v {
        Value::Array(a) => Value::array(a.iter().map(symbols_as_strings).collect()),
        Value::Hash(h) if as_obj(v).is_none() => Value::hash(
            h.iter()
                .map(|(k, x)| (symbols_as_strings(k), symbols_as_strings(x)))
                .collect(),
        ),
        _ => v.clone(),
    }
}

impl Ctx<'_> {
    fn generate(&self, v: &Value, layout: &JsonLayout) -> EResult<Value> {
        let v = &symbols_as_strings(v);
        if has_object(v) {
            return Err(self.unsupported("JSON of a Ruby object"));
        }
        ruby_json(v, layout)
            .map(Value::str)
            .map_err(|m| self.err(format!("JSON::GeneratorError: {m}")))
    }

    /// `x.to_json`.
    pub(super) fn json_method(&self, r: &Value, _name: &str, args: &[Value]) -> EResult<Value> {
        if !args.is_empty() {
            return Err(self.unsupported("to_json with arguments"));
        }
        self.generate(r, &JsonLayout::default())
    }

    /// `JSON.generate`, `JSON.dump`, `JSON.pretty_generate`, `JSON.parse`.
    pub(super) fn json_class_method(&self, name: &str, args: &[Value]) -> EResult<Value> {
        match (name, args) {
            ("generate" | "dump", [v]) => self.generate(v, &JsonLayout::default()),
            ("pretty_generate", [v]) => self.generate(v, &JsonLayout::pretty()),
            ("parse", [Value::Str(s)]) => match serde_json::from_str::<serde_json::Value>(s) {
                Ok(j) => Ok(troupe_values::value::from_json(&j)),
                Err(e) => Err(self.err(format!("JSON::ParserError: {e}"))),
            },
            _ => Err(self.unsupported(format!("JSON.{name} with these arguments"))),
        }
    }
}
