//! Keeps `docs/openapi.yaml` true: every REST answer the end-to-end tests receive is checked
//! against the documented operation, status and JSON schema. An undocumented path, method or
//! status fails the test, and so does a body that does not match its schema.
//!
//! The validator covers the subset of JSON Schema the document uses: `$ref`, `type` (also as a
//! list, for nullable fields), `properties`, `required`, `additionalProperties: false`, `items`,
//! `enum` and `oneOf`.

use std::sync::OnceLock;

use serde_json::Value;

use crate::client::Answer;

fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.yaml");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_yaml::from_str(&text).expect("docs/openapi.yaml parses")
    })
}

/// The documented path template matching a concrete path (relative to `/api/chat/`).
fn template_for(path: &str) -> Option<(&'static str, &'static Value)> {
    let concrete: Vec<&str> = path.split('?').next().unwrap_or_default().split('/').filter(|s| !s.is_empty()).collect();
    let paths = document()["paths"].as_object()?;
    paths.iter().find_map(|(template, item)| {
        let parts: Vec<&str> = template.trim_start_matches("/api/chat").split('/').filter(|s| !s.is_empty()).collect();
        let wildcard = parts.last().is_some_and(|p| p.ends_with("+}"));
        let matches = if wildcard {
            concrete.len() >= parts.len()
                && parts[..parts.len() - 1].iter().zip(&concrete).all(|(t, c)| t.starts_with('{') || t == c)
        } else {
            parts.len() == concrete.len() && parts.iter().zip(&concrete).all(|(t, c)| t.starts_with('{') || t == c)
        };
        matches.then_some((template.as_str(), item))
    })
}

/// Checks one answer; panics with a readable message when the document does not describe it.
pub fn check_answer(method: &str, path: &str, answer: &Answer) {
    let (template, item) =
        template_for(path).unwrap_or_else(|| panic!("{path} is not documented in docs/openapi.yaml"));
    let operation = &item[method.to_ascii_lowercase()];
    assert!(operation.is_object(), "{method} {template} is not documented in docs/openapi.yaml");
    let status = answer.status.to_string();
    let response = operation["responses"].get(&status).unwrap_or_else(|| {
        panic!("{method} {template} answered {status}, which docs/openapi.yaml does not list: {}", answer.text)
    });
    let response = resolve(response);
    if let Some(schema) = response.pointer("/content/application~1json/schema") {
        let mut errors = Vec::new();
        validate(schema, &answer.body, "$", &mut errors);
        assert!(
            errors.is_empty(),
            "{method} {template} {status} does not match docs/openapi.yaml: {errors:?}\nbody: {}",
            answer.text
        );
    }
}

fn resolve(value: &Value) -> &Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.trim_start_matches('#');
            resolve(document().pointer(pointer).unwrap_or_else(|| panic!("dangling $ref {reference}")))
        }
        None => value,
    }
}

fn type_matches(kind: &str, value: &Value) -> bool {
    match kind {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_u64() || value.is_i64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => false,
    }
}

/// Validates `value` against `schema`, collecting every mismatch with its JSON path.
pub fn validate(schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let schema = resolve(schema);
    if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
        let fits = options.iter().any(|option| {
            let mut inner = Vec::new();
            validate(option, value, at, &mut inner);
            inner.is_empty()
        });
        if !fits {
            errors.push(format!("{at}: matches none of oneOf"));
        }
        return;
    }
    let kinds: Vec<&str> = match schema.get("type") {
        Some(Value::String(kind)) => vec![kind.as_str()],
        Some(Value::Array(kinds)) => kinds.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !kinds.is_empty() && !kinds.iter().any(|k| type_matches(k, value)) {
        errors.push(format!("{at}: expected {kinds:?}, got {value}"));
        return;
    }
    if let Some(choices) = schema.get("enum").and_then(Value::as_array).filter(|c| !c.contains(value)) {
        errors.push(format!("{at}: {value} is not one of {choices:?}"));
    }
    if let Value::Object(map) = value {
        let properties = schema.get("properties").and_then(Value::as_object);
        for required in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
            let key = required.as_str().unwrap_or_default();
            if !map.contains_key(key) {
                errors.push(format!("{at}: missing required `{key}`"));
            }
        }
        for (key, child) in map {
            match properties.and_then(|p| p.get(key)) {
                Some(property) => validate(property, child, &format!("{at}.{key}"), errors),
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    errors.push(format!("{at}: undocumented property `{key}`"));
                }
                None => {
                    if let Some(extra) = schema.get("additionalProperties").filter(|v| v.is_object()) {
                        validate(extra, child, &format!("{at}.{key}"), errors);
                    }
                }
            }
        }
    }
    if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            validate(item_schema, item, &format!("{at}[{i}]"), errors);
        }
    }
}
