//! Attributes of Puppet's built-in Object values read with method-call syntax
//! (`$d.name`, `$d.arguments` of a Deferred), which Puppet resolves before looking for a
//! function of that name.

use troupe_values::value::Value;

/// The attribute `name` of `v`, when `v` is an Object value that has it.
pub fn attribute(v: &Value, name: &str) -> Option<Value> {
    match (v, name) {
        (Value::Deferred(d), "name") => Some(Value::str(d.0.as_str())),
        (Value::Deferred(d), "arguments") => Some(Value::array(d.1.clone())),
        _ => None,
    }
}
