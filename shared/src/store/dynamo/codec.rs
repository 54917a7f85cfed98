//! Conversion between serde values and DynamoDB attribute maps.
//!
//! Entities are stored as their serde form (see [`crate::model`]) plus the key attributes of
//! the single-table design (`pk`, `sk`, `gsi1pk`, `gsi1sk`, `expires_at`), converted by
//! `serde_dynamo`: one definition of each stored shape, no hand-written attribute mapping. Absent
//! optional fields are left out of the item rather than stored as `NULL`.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::StoreError;

/// A DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

/// Attributes that belong to the table layout, not to the entity.
/// (`expires_at` is kept: entities that carry their own expiry, like connections, read it back.)
const LAYOUT: [&str; 4] = ["pk", "sk", "gsi1pk", "gsi1sk"];

/// Serialises `entity` and adds the key attributes.
pub fn to_item<T: Serialize>(entity: &T, keys: Keys) -> Result<Item, StoreError> {
    let mut item: Item = serde_dynamo::to_item(entity).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    item.retain(|_, v| !matches!(v, AttributeValue::Null(_)));
    keys.apply(&mut item);
    Ok(item)
}

/// Reads an entity back, ignoring the layout attributes.
pub fn from_item<T: DeserializeOwned>(item: &Item) -> Result<T, StoreError> {
    let entity: Item =
        item.iter().filter(|(k, _)| !LAYOUT.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
    serde_dynamo::from_item(entity).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The key attributes of one item.
#[derive(Debug, Clone, Default)]
pub struct Keys {
    /// Partition key.
    pub pk: String,
    /// Sort key.
    pub sk: String,
    /// GSI1 partition key (conversation lists).
    pub gsi1: Option<(String, String)>,
    /// TTL, epoch seconds.
    pub expires_at: Option<i64>,
}

impl Keys {
    /// Keys of an item that lives only in the base table.
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Keys { pk: pk.into(), sk: sk.into(), ..Keys::default() }
    }

    /// Adds a GSI1 entry.
    pub fn gsi1(mut self, pk: impl Into<String>, sk: impl Into<String>) -> Self {
        self.gsi1 = Some((pk.into(), sk.into()));
        self
    }

    /// Adds a TTL.
    pub fn expires(mut self, at: Option<i64>) -> Self {
        self.expires_at = at;
        self
    }

    fn apply(self, item: &mut Item) {
        item.insert("pk".into(), AttributeValue::S(self.pk));
        item.insert("sk".into(), AttributeValue::S(self.sk));
        if let Some((pk, sk)) = self.gsi1 {
            item.insert("gsi1pk".into(), AttributeValue::S(pk));
            item.insert("gsi1sk".into(), AttributeValue::S(sk));
        }
        if let Some(at) = self.expires_at {
            item.insert("expires_at".into(), AttributeValue::N(at.to_string()));
        }
    }

    /// The primary key alone, for Get/Update/Delete.
    pub fn key(pk: &str, sk: &str) -> Item {
        HashMap::from([
            ("pk".to_owned(), AttributeValue::S(pk.to_owned())),
            ("sk".to_owned(), AttributeValue::S(sk.to_owned())),
        ])
    }
}

/// Shorthand for a string attribute.
pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// Shorthand for a number attribute.
pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Reads a string attribute.
pub fn get_s<'a>(item: &'a Item, key: &str) -> Option<&'a str> {
    item.get(key).and_then(|v| v.as_s().ok()).map(String::as_str)
}

/// Reads an unsigned number attribute.
pub fn get_u64(item: &Item, key: &str) -> Option<u64> {
    item.get(key).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Sample {
        id: u64,
        name: String,
        tags: Vec<String>,
        maybe: Option<i64>,
        nested: Option<Box<Sample>>,
        flag: bool,
    }

    #[test]
    fn round_trips_through_an_item() {
        let sample = Sample {
            id: 9_007_199_254_740_991,
            name: "Café".into(),
            tags: vec!["a".into()],
            maybe: None,
            nested: Some(Box::new(Sample {
                id: 1,
                name: String::new(),
                tags: vec![],
                maybe: Some(-4),
                nested: None,
                flag: false,
            })),
            flag: true,
        };
        let item = to_item(&sample, Keys::new("P", "S").expires(Some(5))).unwrap();
        assert_eq!(get_s(&item, "pk"), Some("P"));
        assert_eq!(get_u64(&item, "expires_at"), Some(5));
        assert!(!item.contains_key("maybe"), "nulls are not stored");
        let back: Sample = from_item(&item).unwrap();
        assert_eq!(back, sample);
    }

    #[test]
    fn corrupt_items_are_errors_not_panics() {
        let item = HashMap::from([("id".to_owned(), s("not a number"))]);
        assert!(matches!(from_item::<Sample>(&item), Err(StoreError::Corrupt(_))));
    }
}
