//! Checks of what a client sends, so that a malformed request is a 4xx naming what is wrong,
//! never a 500: node names in paths, catalog facts, reports and their `transaction_uuid`.

use serde_json::Value as J;

/// The longest node name accepted (a DNS name is at most 253 characters).
pub const MAX_NODE_NAME: usize = 253;

/// The longest `transaction_uuid` accepted (a UUID is 36 characters).
pub const MAX_TRANSACTION_UUID: usize = 64;

/// A node name in a `/puppet/v3/<kind>/<name>` path.
pub fn node_name(name: &str) -> Result<(), String> {
    if name.len() > MAX_NODE_NAME {
        return Err(format!(
            "Invalid node name: {} characters (at most {MAX_NODE_NAME})",
            name.len()
        ));
    }
    troupe_ca::valid_name(name)
        .map_err(|e| format!("Invalid node name '{}': {}", name.escape_debug(), e.message))
}

/// A report's `transaction_uuid`: absent, or letters, digits and `-`, at most 64 of them.
pub fn transaction_uuid(report: &J) -> Result<Option<&str>, String> {
    match report.get("transaction_uuid") {
        None | Some(J::Null) => Ok(None),
        Some(J::String(s)) => {
            if s.is_empty() || s.len() > MAX_TRANSACTION_UUID {
                return Err(format!(
                    "transaction_uuid must be 1 to {MAX_TRANSACTION_UUID} characters, not {}",
                    s.len()
                ));
            }
            if !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return Err("transaction_uuid may hold only letters, digits and '-'".into());
            }
            Ok(Some(s))
        }
        Some(other) => Err(format!(
            "transaction_uuid must be a string, not {}",
            kind(other)
        )),
    }
}

fn kind(v: &J) -> &'static str {
    match v {
        J::Null => "null",
        J::Bool(_) => "a boolean",
        J::Number(_) => "a number",
        J::String(_) => "a string",
        J::Array(_) => "an array",
        J::Object(_) => "an object",
    }
}

/// A report: a JSON object with a string `host`, and Puppet's report fields of the right
/// types where present.
pub fn report(v: &J) -> Result<(), String> {
    let Some(o) = v.as_object() else {
        return Err(format!("a report must be a JSON object, not {}", kind(v)));
    };
    match o.get("host") {
        Some(J::String(h)) if !h.is_empty() => {}
        Some(other) => {
            return Err(format!(
                "the report's 'host' must be a name, not {}",
                kind(other)
            ))
        }
        None => return Err("the report has no 'host'".into()),
    }
    for (key, want) in [
        ("time", "a string"),
        ("status", "a string"),
        ("configuration_version", "a string or a number"),
        ("logs", "an array"),
        ("metrics", "an object"),
        ("resource_statuses", "an object"),
    ] {
        let Some(val) = o.get(key) else { continue };
        let ok = match want {
            "a string" => val.is_string(),
            "an array" => val.is_array(),
            "an object" => val.is_object(),
            _ => val.is_string() || val.is_number() || val.is_null(),
        };
        if !ok {
            return Err(format!(
                "the report's '{key}' must be {want}, not {}",
                kind(val)
            ));
        }
    }
    transaction_uuid(v).map(|_| ())
}

/// The facts of a catalog request (form parameters, already split), decoded as the catalog
/// handler decodes them: an error when they are given but are not a JSON object.
pub fn catalog_facts(params: &[(String, String)]) -> Result<(), String> {
    let Some(f) = params
        .iter()
        .find(|(k, _)| k == "facts")
        .map(|(_, v)| v.as_str())
    else {
        return Ok(());
    };
    let once = crate::respond::form_decode(f);
    let facts = if once.trim_start().starts_with('{') || !f.trim_start().starts_with('{') {
        once
    } else {
        f.to_string()
    };
    match serde_json::from_str::<J>(&facts) {
        Ok(J::Object(_)) => Ok(()),
        Ok(other) => Err(format!(
            "The facts are not a JSON object but {}",
            kind(&other)
        )),
        Err(e) => Err(format!("The facts are not valid JSON: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reports_and_their_uuids() {
        assert!(report(&json!({"host": "n1", "transaction_uuid": "0b2d-ff"})).is_ok());
        assert!(report(&json!([1])).is_err());
        assert!(report(&json!({})).is_err());
        assert!(report(&json!({"host": "n1", "logs": {}})).is_err());
        let long = "a".repeat(65);
        assert!(report(&json!({"host": "n1", "transaction_uuid": long})).is_err());
        assert!(report(&json!({"host": "n1", "transaction_uuid": "../x"})).is_err());
        assert!(report(&json!({"host": "n1", "transaction_uuid": 7})).is_err());
    }

    #[test]
    fn node_names() {
        assert!(node_name("node1.example.test").is_ok());
        assert!(node_name(&"a".repeat(254)).is_err());
        assert!(node_name("UPPER").is_err());
        assert!(node_name("a/b").is_err());
    }

    #[test]
    fn facts_are_a_json_object() {
        let p = |v: &str| vec![("facts".to_string(), v.to_string())];
        assert!(catalog_facts(&[]).is_ok());
        assert!(catalog_facts(&p("%7B%22a%22%3A1%7D")).is_ok());
        assert!(catalog_facts(&p("{\"a\":1}")).is_ok());
        assert!(catalog_facts(&p("%7B%22a%22%3A")).is_err());
        assert!(catalog_facts(&p("[1,2]")).is_err());
        assert!(catalog_facts(&p("garbage")).is_err());
    }
}
