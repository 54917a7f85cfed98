//! The DynamoDB implementation of the store port: one table, every access pattern of
//! `docs/data-model.md`.
//!
//! The table has a string partition key `pk`, a string sort key `sk`, one global secondary index
//! (`gsi1pk`/`gsi1sk`: conversation lists, and the outbox of queued staff messages) and a TTL
//! attribute `expires_at`. Every item that must be found by something other than its own key has
//! a small pointer item written in the same transaction, so that all lookups on the hot paths are
//! strongly consistent reads of the base table; only the conversation lists of the dashboard and
//! the outbox sweep read the (eventually consistent) index.
//!
//! One file per aggregate, each implementing its trait of the port: `directory` (hotels, staff,
//! guests, stays), `conversations` (lifecycle and lists), `messages` (appending, reading
//! history), `reads` (read state), `outbox` (delivery status, the send claim, the outbox),
//! `connections` (sockets), with the append protocol of `messages` in `append`; [`codec`] and
//! [`keys`] are the item format.

mod append;
pub mod codec;
mod connections;
mod conversations;
mod directory;
pub mod keys;
mod messages;
mod outbox;
mod reads;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update};

use codec::Item;

use super::StoreError;

impl<E, R> From<SdkError<E, R>> for StoreError
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    fn from(err: SdkError<E, R>) -> Self {
        StoreError::Aws(DisplayErrorContext(&err).to_string())
    }
}

/// Runs a query to its last page, strongly consistent.
async fn all_pages(
    query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
) -> Result<Vec<Item>, StoreError> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let out = query.clone().consistent_read(true).set_exclusive_start_key(start).send().await?;
        items.extend(out.items.unwrap_or_default());
        match out.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => return Ok(items),
        }
    }
}

/// Handle on the chat table. Cheap to clone; build one per process.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
    /// Message and conversation retention in days (0 = forever).
    retention_days: u32,
}

impl DynamoStore {
    /// Wraps a DynamoDB client and a table name.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore { client, table: table.into(), retention_days: 0 }
    }

    /// Sets how long messages and conversations are kept (enforced by TTL).
    pub fn with_retention_days(mut self, days: u32) -> Self {
        self.retention_days = days;
        self
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The raw client (bootstrap and tests).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// TTL of a record written at `now` under the retention policy.
    fn retention_expiry(&self, now: chrono::DateTime<chrono::Utc>) -> Option<i64> {
        (self.retention_days > 0).then(|| now.timestamp() + i64::from(self.retention_days) * 86_400)
    }

    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(codec::Keys::key(pk, sk)))
            .consistent_read(true)
            .send()
            .await?;
        Ok(out.item)
    }

    async fn get_entity<T: serde::de::DeserializeOwned>(&self, pk: &str, sk: &str) -> Result<Option<T>, StoreError> {
        self.get(pk, sk).await?.as_ref().map(codec::from_item).transpose()
    }

    /// Reads every item of a partition whose sort key starts with `prefix` (strongly consistent).
    /// Every item of partition `pk` with a sort key from `low` to `high` (inclusive), strongly
    /// consistent, all pages.
    async fn query_between(&self, pk: &str, low: &str, high: &str) -> Result<Vec<Item>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :low AND :high")
            .expression_attribute_values(":pk", codec::s(pk))
            .expression_attribute_values(":low", codec::s(low))
            .expression_attribute_values(":high", codec::s(high));
        all_pages(query).await
    }

    /// Every item of partition `pk` whose sort key starts with `prefix` (all of them for an
    /// empty prefix), strongly consistent, all pages.
    async fn query_prefix(&self, pk: &str, prefix: &str) -> Result<Vec<Item>, StoreError> {
        let query = self.client.query().table_name(&self.table).expression_attribute_values(":pk", codec::s(pk));
        // DynamoDB refuses an empty begins_with operand: no prefix means the whole partition.
        let query = if prefix.is_empty() {
            query.key_condition_expression("pk = :pk")
        } else {
            query
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":prefix", codec::s(prefix))
        };
        all_pages(query).await
    }

    /// Reads items by key with `BatchGetItem` (strongly consistent), 100 keys a request, asking
    /// again for the keys DynamoDB left unprocessed. The items come in no particular order.
    async fn batch_get(&self, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(100) {
            let mut pending = Some(chunk.to_vec());
            let mut round = 0;
            while let Some(keys) = pending.take().filter(|k| !k.is_empty()) {
                if round > 0 {
                    contention_pause(round).await;
                }
                round += 1;
                if round > MAX_ATTEMPTS {
                    return Err(StoreError::Aws("batch read left keys unprocessed".into()));
                }
                let request = aws_sdk_dynamodb::types::KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError::Aws(e.to_string()))?;
                let out = self.client.batch_get_item().request_items(&self.table, request).send().await?;
                items.extend(out.responses.and_then(|mut r| r.remove(&self.table)).unwrap_or_default());
                pending = out.unprocessed_keys.and_then(|mut u| u.remove(&self.table)).map(|k| k.keys);
            }
        }
        Ok(items)
    }

    /// Runs a transaction. On cancellation, returns the index of every item whose condition
    /// failed, so callers can tell *which* rule refused the write.
    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), TxError> {
        let result = self.client.transact_write_items().set_transact_items(Some(items)).send().await;
        match result {
            Ok(_) => Ok(()),
            Err(err) => match err.into_service_error() {
                TransactWriteItemsError::TransactionCanceledException(cancel) => {
                    let failed: Vec<usize> = cancel
                        .cancellation_reasons()
                        .iter()
                        .enumerate()
                        .filter(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
                        .map(|(i, _)| i)
                        .collect();
                    if failed.is_empty() {
                        // Cancelled for a conflicting concurrent transaction: the caller retries.
                        Err(TxError::Conditions(Vec::new()))
                    } else {
                        Err(TxError::Conditions(failed))
                    }
                }
                other => Err(TxError::DynamoStore(StoreError::Aws(DisplayErrorContext(&other).to_string()))),
            },
        }
    }

    /// A transactional put, with an optional condition and its expression values.
    fn put(
        &self,
        item: Item,
        condition: Option<&str>,
        values: &[(&str, AttributeValue)],
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_values(values_map(values))
            .build()
            .map_err(|e| StoreError::Aws(e.to_string()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// A transactional delete of one key, optionally conditional.
    fn delete(
        &self,
        pk: &str,
        sk: &str,
        condition: Option<&str>,
        values: &[(&str, AttributeValue)],
    ) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(codec::Keys::key(pk, sk)))
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_values(values_map(values))
            .build()
            .map_err(|e| StoreError::Aws(e.to_string()))?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// A transactional update of one key.
    fn update(&self, pk: &str, sk: &str, update: UpdateSpec<'_>) -> Result<TransactWriteItem, StoreError> {
        let built = Update::builder()
            .table_name(&self.table)
            .set_key(Some(codec::Keys::key(pk, sk)))
            .update_expression(update.expression)
            .set_condition_expression(update.condition.map(str::to_owned))
            .set_expression_attribute_values(values_map(update.values))
            .set_expression_attribute_names(names_map(update.names))
            .build()
            .map_err(|e| StoreError::Aws(e.to_string()))?;
        Ok(TransactWriteItem::builder().update(built).build())
    }

    /// A transactional check that an item exists.
    fn exists(&self, pk: &str, sk: &str) -> Result<TransactWriteItem, StoreError> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(codec::Keys::key(pk, sk)))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(|e| StoreError::Aws(e.to_string()))?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }
}

/// One update expression with its condition, values and names.
#[derive(Default)]
struct UpdateSpec<'a> {
    expression: String,
    condition: Option<&'a str>,
    values: &'a [(&'a str, AttributeValue)],
    names: &'a [(&'a str, &'a str)],
}

fn values_map(values: &[(&str, AttributeValue)]) -> Option<HashMap<String, AttributeValue>> {
    (!values.is_empty()).then(|| values.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect())
}

fn names_map(names: &[(&str, &str)]) -> Option<HashMap<String, String>> {
    (!names.is_empty()).then(|| names.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
}

/// Why a transaction did not commit.
#[derive(Debug)]
enum TxError {
    /// Cancelled; the indexes of the items whose condition failed (empty: a concurrent
    /// transaction interfered, try again).
    Conditions(Vec<usize>),
    /// Anything else.
    DynamoStore(StoreError),
}

impl From<StoreError> for TxError {
    fn from(e: StoreError) -> Self {
        TxError::DynamoStore(e)
    }
}

/// Condition that an item is new.
const NEW_ITEM: &str = "attribute_not_exists(pk)";

/// How many times an optimistic write is tried before giving up with
/// [`StoreError::Contention`]: enough for the twenty messages an album or a busy minute sends to
/// one conversation at once, each losing round waiting a little longer ([`contention_pause`]).
const MAX_ATTEMPTS: usize = 24;

/// The pause after the `attempt`th lost optimistic write: exponential from 5 ms, at most 160 ms,
/// with ±50 % jitter so that writers who collided do not collide again (about 2.5 s in all when
/// every attempt is lost).
async fn contention_pause(attempt: usize) {
    let base = 5u64 << attempt.min(5);
    let jitter = u64::try_from(uuid::Uuid::new_v4().as_u128() % 1000).unwrap_or(500); // 0..1000
    let millis = base * (500 + jitter) / 1000;
    tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
}

/// Whether an SDK error is a failed condition expression.
fn is_condition_failure<E, R>(err: &aws_sdk_dynamodb::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    err.as_service_error().and_then(|e| e.code()).is_some_and(|code| code == "ConditionalCheckFailedException")
}

/// Whether a conditional write applied: `false` when its condition failed.
fn applied<T, E, R>(result: Result<T, SdkError<E, R>>) -> Result<bool, StoreError>
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(e) if is_condition_failure(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}
