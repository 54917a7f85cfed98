//! Field-by-field validation of JSON bodies, collecting every problem into the
//! `{"error": "Invalid data", "details": {...}}` answer instead of stopping at the first.

use serde_json::{Map, Value};

use crate::department::Department;
use crate::http::{Details, HttpError};
use crate::limits;

/// Message of a missing required field.
pub const REQUIRED: &str = "This field is required.";

/// A body being validated.
pub struct Form<'a> {
    body: &'a Map<String, Value>,
    details: Details,
}

impl<'a> Form<'a> {
    /// Starts validating `body`.
    pub fn new(body: &'a Map<String, Value>) -> Self {
        Form { body, details: Details::new() }
    }

    /// Records a problem with `field`.
    pub fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.details.entry(field.to_owned()).or_default().push(message.into());
    }

    /// Whether `key` already failed validation.
    pub fn failed(&self, key: &str) -> bool {
        self.details.contains_key(key)
    }

    fn present(&self, key: &str) -> Option<&'a Value> {
        self.body.get(key).filter(|v| !v.is_null())
    }

    /// A positive integer id (number or numeric string).
    pub fn id(&mut self, key: &str, required: bool) -> Option<u64> {
        match self.present(key) {
            None => {
                if required {
                    self.fail(key, REQUIRED);
                }
                None
            }
            Some(value) => match crate::frames::conversation_id(Some(value)) {
                Ok(id) => Some(id),
                Err(_) => {
                    self.fail(key, "A valid integer is required.");
                    None
                }
            },
        }
    }

    /// A short string (trimmed, at most [`limits::NAME_CHARS`]); `required` also refuses blank.
    pub fn text(&mut self, key: &str, required: bool) -> Option<String> {
        self.text_within(key, required, limits::NAME_CHARS, &limits::too_long(limits::NAME_CHARS))
    }

    /// A string (trimmed) of at most `max` characters, else `too_long` under `key`; `required`
    /// also refuses blank.
    pub fn text_within(&mut self, key: &str, required: bool, max: usize, too_long: &str) -> Option<String> {
        let text = match self.present(key) {
            None => {
                if required {
                    self.fail(key, REQUIRED);
                }
                return None;
            }
            Some(Value::String(s)) if required && s.trim().is_empty() => {
                self.fail(key, "This field may not be blank.");
                return None;
            }
            Some(Value::String(s)) => s.trim().to_owned(),
            Some(Value::Number(n)) => n.to_string(),
            Some(_) => {
                self.fail(key, "Not a valid string.");
                return None;
            }
        };
        if limits::over(&text, max) {
            self.fail(key, too_long);
            return None;
        }
        Some(text)
    }

    /// A boolean (defaults to `default` when absent).
    pub fn boolean(&mut self, key: &str, default: bool) -> bool {
        match self.present(key) {
            None => default,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                self.fail(key, "Must be a valid boolean.");
                default
            }
        }
    }

    /// An optional integer (floors and the like).
    pub fn integer(&mut self, key: &str) -> Option<i64> {
        match self.present(key) {
            None => None,
            Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64(),
            Some(Value::String(s)) if s.trim().parse::<i64>().is_ok() => s.trim().parse().ok(),
            Some(_) => {
                self.fail(key, "A valid integer is required.");
                None
            }
        }
    }

    /// A department name (docs/api.md §2).
    pub fn department(&mut self, key: &str, required: bool) -> Option<Department> {
        let raw = self.text(key, required)?;
        match Department::parse(&raw) {
            Ok(d) => Some(d),
            Err(e) => {
                self.fail(key, e.to_string());
                None
            }
        }
    }

    /// A list of departments.
    pub fn departments(&mut self, key: &str) -> Option<Vec<Department>> {
        match self.present(key) {
            None => None,
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                for item in items {
                    match item.as_str().map(Department::parse) {
                        Some(Ok(d)) if !out.contains(&d) => out.push(d),
                        Some(Ok(_)) => {}
                        Some(Err(e)) => self.fail(key, e.to_string()),
                        None => self.fail(key, "Expected a list of department names."),
                    }
                }
                Some(out)
            }
            Some(_) => {
                self.fail(key, "Expected a list of department names.");
                None
            }
        }
    }

    /// A list of at most [`limits::MESSAGE_IDS`] ids.
    pub fn ids(&mut self, key: &str) -> Option<Vec<u64>> {
        match self.present(key) {
            None => None,
            Some(Value::Array(items)) if items.len() > limits::MESSAGE_IDS => {
                self.fail(key, format!("Ensure this field has no more than {} elements.", limits::MESSAGE_IDS));
                None
            }
            Some(Value::Array(items)) => {
                let ids: Option<Vec<u64>> =
                    items.iter().map(|v| crate::frames::conversation_id(Some(v)).ok()).collect();
                if ids.is_none() {
                    self.fail(key, "Expected a list of integers.");
                }
                ids
            }
            Some(_) => {
                self.fail(key, "Expected a list of integers.");
                None
            }
        }
    }

    /// One of the spellings `parse` accepts.
    pub fn choice<T>(&mut self, key: &str, required: bool, parse: impl Fn(&str) -> Option<T>) -> Option<T> {
        let raw = self.text(key, required)?;
        let parsed = parse(&raw);
        if parsed.is_none() {
            self.fail(key, format!("\"{raw}\" is not a valid choice."));
        }
        parsed
    }

    /// The 400 answer when anything failed.
    pub fn finish(self) -> Result<(), HttpError> {
        if self.details.is_empty() { Ok(()) } else { Err(HttpError::invalid(self.details)) }
    }
}
