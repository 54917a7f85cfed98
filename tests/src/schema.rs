//! The subset of JSON Schema that `docs/openapi.yaml` and `docs/asyncapi.yaml` use, checked
//! against live answers and frames: `$ref` (within a document, or `file.yaml#/…` into another
//! document of `docs/`), `type` (also as a list,
//! for nullable fields), `properties`, `required`, `additionalProperties` (`false` or a schema),
//! `items`, `enum`, `oneOf`, `minimum`, `maximum` and `maxLength`.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

/// A document of `docs/` by file name, parsed once.
pub fn document(name: &str) -> &'static Value {
    static DOCS: OnceLock<Mutex<HashMap<String, &'static Value>>> = OnceLock::new();
    let mut docs = DOCS.get_or_init(Default::default).lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    docs.entry(name.to_owned()).or_insert_with(|| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs").join(name);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let value: Value = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("docs/{name} does not parse: {e}"));
        Box::leak(Box::new(value))
    })
}

/// Follows `$ref`s until a schema without one; returns it with the document it lives in
/// (`#/…` stays in `doc`, `other.yaml#/…` moves to that document of `docs/`).
pub fn resolve<'a>(doc: &'a Value, value: &'a Value) -> (&'a Value, &'a Value) {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let (file, pointer) = reference.split_once('#').unwrap_or((reference, ""));
            let doc = if file.is_empty() { doc } else { document(file) };
            let target = doc.pointer(pointer).unwrap_or_else(|| panic!("dangling $ref {reference}"));
            resolve(doc, target)
        }
        None => (doc, value),
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

/// Validates `value` against `schema` (a schema of `document`), collecting every mismatch with
/// its JSON path.
pub fn validate(document: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let (document, schema) = resolve(document, schema);
    if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
        let fits = options.iter().any(|option| {
            let mut inner = Vec::new();
            validate(document, option, value, at, &mut inner);
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
    if let (Some(n), Some(min)) = (value.as_f64(), schema.get("minimum").and_then(Value::as_f64))
        && n < min
    {
        errors.push(format!("{at}: {n} is below the minimum {min}"));
    }
    if let (Some(n), Some(max)) = (value.as_f64(), schema.get("maximum").and_then(Value::as_f64))
        && n > max
    {
        errors.push(format!("{at}: {n} is above the maximum {max}"));
    }
    if let (Some(text), Some(max)) = (value.as_str(), schema.get("maxLength").and_then(Value::as_u64))
        && text.chars().count() as u64 > max
    {
        errors.push(format!("{at}: longer than {max} characters"));
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
                Some(property) => validate(document, property, child, &format!("{at}.{key}"), errors),
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    errors.push(format!("{at}: undocumented property `{key}`"));
                }
                None => {
                    if let Some(extra) = schema.get("additionalProperties").filter(|v| v.is_object()) {
                        validate(document, extra, child, &format!("{at}.{key}"), errors);
                    }
                }
            }
        }
    }
    if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            validate(document, item_schema, item, &format!("{at}[{i}]"), errors);
        }
    }
}
