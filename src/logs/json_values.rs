//! Reading JSON the way every ingest path does: what kind a value is, for
//! the errors that name it, and an object of labels, whose values must be
//! strings.

use serde_json::{Map, Value};

/// `null`, `a boolean`, `a number`, `a string`, `an array`, `an object`.
pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A label object as name–value pairs, in its order; `Err` names the
/// first label that is not a string and the kind it is.
pub fn string_labels(object: Map<String, Value>) -> Result<Vec<(String, String)>, (String, &'static str)> {
    let mut labels = Vec::with_capacity(object.len());
    for (name, value) in object {
        match value {
            Value::String(v) => labels.push((name, v)),
            other => return Err((name, json_kind(&other))),
        }
    }
    Ok(labels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn labels_must_be_strings() {
        let ok = json!({"app": "lms", "env": "prod"});
        assert_eq!(
            string_labels(ok.as_object().unwrap().clone()).unwrap(),
            [
                ("app".to_string(), "lms".to_string()),
                ("env".to_string(), "prod".to_string())
            ]
        );
        let bad = json!({"app": "lms", "x": [1]});
        assert_eq!(
            string_labels(bad.as_object().unwrap().clone()),
            Err(("x".to_string(), "an array"))
        );
        assert_eq!(json_kind(&json!(null)), "null");
    }
}
