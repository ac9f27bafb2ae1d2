//! Puppet's label provider (`Puppet::Pops::Model::ModelLabelProvider`) for values.

use crate::value::Value;

/// How Puppet's `ModelLabelProvider` names a value: in "Comparison of: ..." errors and in
/// `compare()`'s messages.
pub fn label(v: &Value) -> String {
    match v {
        Value::Str(_) => "String".into(),
        Value::Int(_) => "Integer".into(),
        Value::Float(_) => "Float".into(),
        Value::Bool(_) => "Boolean".into(),
        Value::Undef => "Undef Value".into(),
        Value::Array(_) => "Array".into(),
        Value::Hash(_) => "Hash".into(),
        Value::Regex(_) => "Regexp".into(),
        Value::Sensitive(_) => "Sensitive".into(),
        Value::Binary(_) => "Binary".into(),
        Value::Timestamp(_) => "Timestamp".into(),
        Value::Timespan(_) => "Timespan".into(),
        Value::SemVer(_) => "Semver".into(),
        Value::SemVerRange(_) => "SemverRange".into(),
        Value::Type(t) => match &**t {
            crate::types::Type::Resource(_, Some(_)) => {
                format!("{} Resource-Reference", v.to_display())
            }
            _ => format!("{}-Type", v.to_display()),
        },
        Value::Default | Value::Deferred(_) | Value::Object(_) => "Object".into(),
    }
}
