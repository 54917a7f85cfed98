//! Keeps `docs/openapi.yaml` true: every REST answer the end-to-end tests receive is checked
//! against the documented operation, status and JSON schema. An undocumented path, method or
//! status fails the test, and so does a body that does not match its schema.
//!
//! Schemas are checked by [`crate::schema`].

use serde_json::Value;

use crate::client::Answer;

fn document() -> &'static Value {
    crate::schema::document("openapi.yaml")
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
        crate::schema::validate(document(), schema, &answer.body, "$", &mut errors);
        assert!(
            errors.is_empty(),
            "{method} {template} {status} does not match docs/openapi.yaml: {errors:?}\nbody: {}",
            answer.text
        );
    }
}

fn resolve(value: &Value) -> &Value {
    crate::schema::resolve(document(), value).1
}
