//! Every AWS call a process makes, as the IAM action it needs and the resource it names.
//!
//! The emulator enforces no IAM, so the end-to-end suite proves the template's permissions
//! another way: the local gateway runs each handler inside [`FUNCTION`] (the Lambda it stands
//! for), a [`CallLog`] interceptor on every AWS client reads each request as it is signed (a
//! presigned URL is signed too, and needs the same action when it is used), and the permissions
//! check compares what each function did with what its role in `template.yaml` allows.
//!
//! Requests are read at the wire level, so one rule covers each protocol: DynamoDB's JSON target
//! and body (a transaction counts once per item, with the item's own action), SQS's JSON or
//! query body, S3's method and path, and the Management API's `@connections` path. Deployed
//! Lambdas never install the interceptor.
//!
//! The same interceptor counts: every request (each attempt of a retried one) per function and
//! operation ([`Counts`]), with the items it carried (a transaction's or a batch's entries) and,
//! for a log made by [`CallLog::asking_capacity`], the DynamoDB capacity units the response
//! reports consumed (the interceptor adds `ReturnConsumedCapacity: TOTAL` to each request that
//! takes it). The benchmarks read these counts; the permissions check reads the distinct calls.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextMut, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use serde::{Deserialize, Serialize};
use serde_json::Value;

tokio::task_local! {
    /// The function whose handler is running (its crate name, e.g. `ws-default`).
    pub static FUNCTION: &'static str;
}

/// The AWS service a client talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// DynamoDB (JSON 1.0, `X-Amz-Target`).
    DynamoDb,
    /// SQS (JSON or query protocol).
    Sqs,
    /// S3 (REST, path or virtual-host style).
    S3,
    /// API Gateway Management API (`/{stage}/@connections/{id}`).
    Management,
    /// SSM Parameter Store (JSON 1.1, `X-Amz-Target`): the secrets read at start-up.
    Ssm,
}

/// One call: who made it, the IAM action it needs, the resource it names (a table, a table's
/// index as `table/index/name`, a queue URL, `bucket/key`, or `stage/METHOD/@connections/id`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AwsCall {
    /// The function (crate name); calls made outside any handler are not recorded.
    pub function: String,
    /// IAM action, e.g. `dynamodb:ConditionCheckItem`.
    pub action: String,
    /// The resource as the request names it.
    pub resource: String,
}

/// What requests of one operation cost.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    /// Requests sent (each attempt of a retried call counts, as the services bill them).
    pub requests: u64,
    /// Items they carried: a transaction's or a batch's entries, one for any other request.
    pub items: u64,
    /// DynamoDB read capacity units the responses reported (only when asked for).
    pub read_units: f64,
    /// DynamoDB write capacity units the responses reported (only when asked for).
    pub write_units: f64,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.requests += other.requests;
        self.items += other.items;
        self.read_units += other.read_units;
        self.write_units += other.write_units;
    }
}

/// Requests per function and operation (`dynamodb:GetItem`, `sqs:SendMessage`,
/// `execute-api:POST` for a push, …), as [`CallLog::counts`] returns them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Counts(pub BTreeMap<String, BTreeMap<String, Tally>>);

impl Counts {
    /// What was counted after `earlier` (a snapshot of the same log).
    pub fn since(&self, earlier: &Counts) -> Counts {
        let mut out = BTreeMap::new();
        for (function, operations) in &self.0 {
            for (operation, now) in operations {
                let before = earlier.0.get(function).and_then(|o| o.get(operation)).cloned().unwrap_or_default();
                let tally = Tally {
                    requests: now.requests.saturating_sub(before.requests),
                    items: now.items.saturating_sub(before.items),
                    read_units: now.read_units - before.read_units,
                    write_units: now.write_units - before.write_units,
                };
                if tally.requests > 0 {
                    out.entry(function.clone()).or_insert_with(BTreeMap::new).insert(operation.clone(), tally);
                }
            }
        }
        Counts(out)
    }

    /// Every function's requests summed per operation.
    pub fn by_operation(&self) -> BTreeMap<String, Tally> {
        let mut out: BTreeMap<String, Tally> = BTreeMap::new();
        for (operation, tally) in self.0.values().flatten() {
            out.entry(operation.clone()).or_default().add(tally);
        }
        out
    }

    /// The sum of the operations whose name starts with `prefix` (`dynamodb:`, `sqs:`, or `""`
    /// for all).
    pub fn total(&self, prefix: &str) -> Tally {
        let mut sum = Tally::default();
        for (operation, tally) in self.0.values().flatten() {
            if operation.starts_with(prefix) {
                sum.add(tally);
            }
        }
        sum
    }
}

/// The distinct calls seen so far, and how many requests of each operation, shared by the
/// interceptors of every client of an [`crate::app::App`].
#[derive(Debug, Default)]
pub struct CallLog {
    calls: Mutex<BTreeSet<AwsCall>>,
    counts: Mutex<Counts>,
    ask_capacity: bool,
}

impl CallLog {
    /// A log that also asks DynamoDB for the capacity each request consumed (the requests change:
    /// each gets `ReturnConsumedCapacity: TOTAL`), for the benchmarks.
    pub fn asking_capacity() -> CallLog {
        CallLog { ask_capacity: true, ..CallLog::default() }
    }

    /// The distinct calls seen so far.
    pub fn calls(&self) -> Vec<AwsCall> {
        self.calls.lock().map(|c| c.iter().cloned().collect()).unwrap_or_default()
    }

    /// The requests counted so far.
    pub fn counts(&self) -> Counts {
        self.counts.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// An interceptor that records `service` requests into this log.
    pub fn interceptor(self: &Arc<Self>, service: Service) -> Recorder {
        Recorder { log: self.clone(), service }
    }

    fn record(&self, function: &str, found: Vec<(String, String)>) {
        if let Ok(mut calls) = self.calls.lock() {
            for (action, resource) in found {
                calls.insert(AwsCall { function: function.to_owned(), action, resource });
            }
        }
    }

    fn count(&self, function: &str, operation: &str, tally: &Tally) {
        if let Ok(mut counts) = self.counts.lock() {
            let operations = counts.0.entry(function.to_owned()).or_default();
            match operations.get_mut(operation) {
                Some(known) => known.add(tally),
                None => {
                    operations.insert(operation.to_owned(), tally.clone());
                }
            }
        }
    }
}

/// The operation of a request in flight, from signing to its response (in the request's
/// configuration bag), so that the consumed capacity of the response is counted with it.
#[derive(Debug, Clone)]
struct InFlight {
    function: &'static str,
    operation: String,
}

impl Storable for InFlight {
    type Storer = StoreReplace<Self>;
}

/// DynamoDB operations that take `ReturnConsumedCapacity`, and whether they read.
fn capacity_operation(operation: &str) -> Option<bool> {
    match operation {
        "GetItem" | "Query" | "Scan" | "BatchGetItem" | "TransactGetItems" => Some(true),
        "PutItem" | "UpdateItem" | "DeleteItem" | "BatchWriteItem" | "TransactWriteItems" => Some(false),
        _ => None,
    }
}

/// The DynamoDB operation a request's `X-Amz-Target` names (`DynamoDB_20120810.GetItem` → `GetItem`).
fn target_operation(target: Option<&str>) -> &str {
    target.and_then(|t| t.rsplit('.').next()).unwrap_or_default()
}

/// The capacity units a DynamoDB response reports (one object, or one per table for batches
/// and transactions).
fn consumed_units(body: &[u8]) -> f64 {
    let Ok(body) = serde_json::from_slice::<Value>(body) else { return 0.0 };
    let units = |v: &Value| v.get("CapacityUnits").and_then(Value::as_f64).unwrap_or_default();
    match body.get("ConsumedCapacity") {
        Some(Value::Array(list)) => list.iter().map(units).sum(),
        Some(one) => units(one),
        None => 0.0,
    }
}

/// The interceptor of one client.
#[derive(Debug, Clone)]
pub struct Recorder {
    log: Arc<CallLog>,
    service: Service,
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "lobbybee-call-recorder"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if !self.log.ask_capacity || self.service != Service::DynamoDb || FUNCTION.try_with(|_| ()).is_err() {
            return Ok(());
        }
        let request = context.request_mut();
        if capacity_operation(target_operation(request.headers().get("x-amz-target"))).is_none() {
            return Ok(());
        }
        let Some(Ok(Value::Object(mut body))) = request.body().bytes().map(serde_json::from_slice::<Value>) else {
            return Ok(());
        };
        body.insert("ReturnConsumedCapacity".into(), Value::from("TOTAL"));
        let bytes = serde_json::to_vec(&body)?;
        request.headers_mut().insert("content-length", bytes.len().to_string());
        *request.body_mut() = SdkBody::from(bytes);
        Ok(())
    }

    fn read_before_signing(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Ok(function) = FUNCTION.try_with(|f| *f) else {
            return Ok(()); // test setup, the gateway's own polling: not a function's call
        };
        let request = context.request();
        let body = request.body().bytes().unwrap_or_default();
        let target = request.headers().get("x-amz-target");
        let (found, operation, items) = match self.service {
            Service::DynamoDb => {
                let operation = target_operation(target);
                let parsed: Value = serde_json::from_slice(body).unwrap_or_default();
                (dynamodb_actions(operation, &parsed), format!("dynamodb:{operation}"), dynamodb_items(&parsed))
            }
            Service::Sqs => {
                let request = sqs_request(target, body);
                (sqs_actions(&request), format!("sqs:{}", request.operation), request.entries)
            }
            Service::S3 => {
                let found = s3(request.method(), request.uri());
                let operation = found.first().map(|(action, _)| action.clone()).unwrap_or_default();
                (found, operation, 1)
            }
            Service::Management => {
                (management(request.method(), request.uri()), format!("execute-api:{}", request.method()), 1)
            }
            Service::Ssm => {
                let found = ssm(target, body);
                let items = found.len();
                (found, format!("ssm:{}", target_operation(target)), items)
            }
        };
        self.log.record(function, found);
        self.log.count(function, &operation, &Tally { requests: 1, items: items as u64, ..Tally::default() });
        cfg.interceptor_state().store_put(InFlight { function, operation });
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if !self.log.ask_capacity || self.service != Service::DynamoDb {
            return Ok(());
        }
        let Some(in_flight) = cfg.load::<InFlight>() else { return Ok(()) };
        let operation = in_flight.operation.trim_start_matches("dynamodb:");
        let Some(read) = capacity_operation(operation) else { return Ok(()) };
        let units = consumed_units(context.response().body().bytes().unwrap_or_default());
        let tally = if read {
            Tally { read_units: units, ..Tally::default() }
        } else {
            Tally { write_units: units, ..Tally::default() }
        };
        self.log.count(in_flight.function, &in_flight.operation, &tally);
        Ok(())
    }
}

/// DynamoDB: the operation from `X-Amz-Target`, the table (and index) from the body;
/// transactions and batches give one action per item.
pub fn dynamodb(target: Option<&str>, body: &[u8]) -> Vec<(String, String)> {
    dynamodb_actions(target_operation(target), &serde_json::from_slice(body).unwrap_or_default())
}

/// The entries of a DynamoDB request: a transaction's or a batch's items, one otherwise.
fn dynamodb_items(body: &Value) -> usize {
    if let Some(items) = body.get("TransactItems").and_then(Value::as_array) {
        return items.len();
    }
    match body.get("RequestItems").and_then(Value::as_object) {
        Some(tables) => tables
            .values()
            .map(|requests| match requests {
                Value::Array(writes) => writes.len(),
                reads => reads.get("Keys").and_then(Value::as_array).map_or(0, Vec::len),
            })
            .sum(),
        None => 1,
    }
}

fn dynamodb_actions(operation: &str, body: &Value) -> Vec<(String, String)> {
    let action = |name: &str| format!("dynamodb:{name}");
    let table_of = |v: &Value| v.get("TableName").and_then(Value::as_str).unwrap_or_default().to_owned();
    match operation {
        "TransactWriteItems" | "TransactGetItems" => body["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| {
                let (kind, inner) = item.as_object()?.iter().next()?;
                let name = match kind.as_str() {
                    "Put" => "PutItem",
                    "Update" => "UpdateItem",
                    "Delete" => "DeleteItem",
                    "ConditionCheck" => "ConditionCheckItem",
                    "Get" => "GetItem",
                    _ => return None,
                };
                Some((action(name), table_of(inner)))
            })
            .collect(),
        "BatchWriteItem" | "BatchGetItem" => body["RequestItems"]
            .as_object()
            .into_iter()
            .flatten()
            .flat_map(|(table, requests)| {
                let names: BTreeSet<&str> = match requests {
                    Value::Array(writes) => writes
                        .iter()
                        .filter_map(|w| match w.as_object()?.keys().next()?.as_str() {
                            "PutRequest" => Some("PutItem"),
                            "DeleteRequest" => Some("DeleteItem"),
                            _ => None,
                        })
                        .collect(),
                    _ => BTreeSet::from(["BatchGetItem"]),
                };
                names.into_iter().map(|n| (action(n), table.clone())).collect::<Vec<_>>()
            })
            .collect(),
        "" => Vec::new(),
        _ => {
            let mut resource = table_of(body);
            if let Some(index) = body.get("IndexName").and_then(Value::as_str) {
                resource = format!("{resource}/index/{index}");
            }
            vec![(action(operation), resource)]
        }
    }
}

/// SQS: the JSON protocol (`AmazonSQS.SendMessage` with `QueueUrl` in the body) or the query
/// protocol (`Action=…&QueueUrl=…`).
pub fn sqs(target: Option<&str>, body: &[u8]) -> Vec<(String, String)> {
    sqs_actions(&sqs_request(target, body))
}

/// An SQS request as read from the wire: operation, queue URL and the entries of a batch.
struct SqsRequest {
    operation: String,
    queue: String,
    entries: usize,
}

fn sqs_request(target: Option<&str>, body: &[u8]) -> SqsRequest {
    match target {
        Some(target) => {
            let body: Value = serde_json::from_slice(body).unwrap_or_default();
            SqsRequest {
                operation: target.rsplit('.').next().unwrap_or_default().to_owned(),
                queue: body.get("QueueUrl").and_then(Value::as_str).unwrap_or_default().to_owned(),
                entries: body.get("Entries").and_then(Value::as_array).map_or(1, Vec::len),
            }
        }
        None => {
            let form: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
            let get = |key: &str| form.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap_or_default();
            let entries = form.iter().filter(|(k, _)| k.contains("Entry.") && k.ends_with(".Id")).count();
            SqsRequest { operation: get("Action"), queue: get("QueueUrl"), entries: entries.max(1) }
        }
    }
}

fn sqs_actions(request: &SqsRequest) -> Vec<(String, String)> {
    // A batch send is authorised as `sqs:SendMessage`.
    let operation = request.operation.trim_end_matches("Batch");
    if operation.is_empty() { Vec::new() } else { vec![(format!("sqs:{operation}"), request.queue.clone())] }
}

/// S3 object requests: the action from the method, `bucket/key` from the path (path style) or
/// the host (virtual-host style).
pub fn s3(method: &str, uri: &str) -> Vec<(String, String)> {
    let Ok(uri) = uri.parse::<lambda_http::http::Uri>() else { return Vec::new() };
    let path = uri.path().trim_start_matches('/');
    let host = uri.host().unwrap_or_default();
    let object = match host.split_once(".s3.") {
        Some((bucket, _)) => format!("{bucket}/{path}"),
        None => path.to_owned(),
    };
    let action = match method {
        "GET" | "HEAD" => "s3:GetObject",
        "PUT" | "POST" => "s3:PutObject",
        "DELETE" => "s3:DeleteObject",
        _ => return Vec::new(),
    };
    vec![(action.to_owned(), object)]
}

/// Parameter Store: one `ssm:GetParameters` (or other operation) per parameter, on
/// `parameter/{name}` as its ARN ends.
pub fn ssm(target: Option<&str>, body: &[u8]) -> Vec<(String, String)> {
    let operation = target.and_then(|t| t.rsplit('.').next()).unwrap_or_default();
    let body: Value = serde_json::from_slice(body).unwrap_or_default();
    let names: Vec<&str> = match body.get("Names").and_then(Value::as_array) {
        Some(names) => names.iter().filter_map(Value::as_str).collect(),
        None => body.get("Name").and_then(Value::as_str).into_iter().collect(),
    };
    names.into_iter().map(|name| (format!("ssm:{operation}"), format!("parameter{name}"))).collect()
}

/// Management API: `execute-api:ManageConnections` on `stage/METHOD/@connections/id`.
pub fn management(method: &str, uri: &str) -> Vec<(String, String)> {
    let Ok(uri) = uri.parse::<lambda_http::http::Uri>() else { return Vec::new() };
    let path = uri.path().trim_start_matches('/');
    let Some((stage, connection)) = path.split_once("/@connections/") else { return Vec::new() };
    vec![("execute-api:ManageConnections".to_owned(), format!("{stage}/{method}/@connections/{connection}"))]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(a, r)| (a.to_string(), r.to_string())).collect()
    }

    #[test]
    fn a_transaction_needs_each_items_own_action() {
        let body = br#"{"TransactItems":[{"Put":{"TableName":"t","Item":{}}},{"ConditionCheck":{"TableName":"t","Key":{}}},{"Update":{"TableName":"t"}},{"Delete":{"TableName":"t"}}]}"#;
        assert_eq!(
            dynamodb(Some("DynamoDB_20120810.TransactWriteItems"), body),
            pairs(&[
                ("dynamodb:PutItem", "t"),
                ("dynamodb:ConditionCheckItem", "t"),
                ("dynamodb:UpdateItem", "t"),
                ("dynamodb:DeleteItem", "t")
            ])
        );
    }

    #[test]
    fn single_item_calls_and_index_queries() {
        assert_eq!(
            dynamodb(Some("DynamoDB_20120810.Query"), br#"{"TableName":"t","IndexName":"gsi1"}"#),
            pairs(&[("dynamodb:Query", "t/index/gsi1")])
        );
        assert_eq!(
            dynamodb(Some("DynamoDB_20120810.GetItem"), br#"{"TableName":"t"}"#),
            pairs(&[("dynamodb:GetItem", "t")])
        );
        assert_eq!(
            dynamodb(
                Some("DynamoDB_20120810.BatchWriteItem"),
                br#"{"RequestItems":{"t":[{"DeleteRequest":{}},{"DeleteRequest":{}}]}}"#
            ),
            pairs(&[("dynamodb:DeleteItem", "t")])
        );
    }

    #[test]
    fn parameters_are_read_one_by_one() {
        assert_eq!(
            ssm(
                Some("AmazonSSM.GetParameters"),
                br#"{"Names":["/lobbybee/t/jwt_key","/lobbybee/t/guest_token_secret"],"WithDecryption":true}"#
            ),
            pairs(&[
                ("ssm:GetParameters", "parameter/lobbybee/t/jwt_key"),
                ("ssm:GetParameters", "parameter/lobbybee/t/guest_token_secret")
            ])
        );
    }

    #[test]
    fn queues_objects_and_connections() {
        assert_eq!(
            sqs(Some("AmazonSQS.SendMessage"), br#"{"QueueUrl":"http://q/1/out"}"#),
            pairs(&[("sqs:SendMessage", "http://q/1/out")])
        );
        assert_eq!(sqs(None, b"Action=SendMessageBatch&QueueUrl=u"), pairs(&[("sqs:SendMessage", "u")]));
        assert_eq!(
            s3("PUT", "http://127.0.0.1:4566/media/uploads/h/1/x/a.jpg"),
            pairs(&[("s3:PutObject", "media/uploads/h/1/x/a.jpg")])
        );
        assert_eq!(
            s3("GET", "https://media.s3.eu-west-1.amazonaws.com/whatsapp/h/1/m?X-Amz-Signature=x"),
            pairs(&[("s3:GetObject", "media/whatsapp/h/1/m")])
        );
        assert_eq!(
            management("POST", "http://127.0.0.1:8080/local/@connections/abc%3D"),
            pairs(&[("execute-api:ManageConnections", "local/POST/@connections/abc%3D")])
        );
    }

    #[test]
    fn requests_count_their_entries() {
        let parse = |text: &str| serde_json::from_str::<Value>(text).unwrap_or_default();
        assert_eq!(dynamodb_items(&parse(r#"{"TransactItems":[{"Put":{}},{"Update":{}},{"Put":{}}]}"#)), 3);
        assert_eq!(dynamodb_items(&parse(r#"{"RequestItems":{"t":[{"DeleteRequest":{}},{"PutRequest":{}}]}}"#)), 2);
        assert_eq!(dynamodb_items(&parse(r#"{"RequestItems":{"t":{"Keys":[{},{},{}]}}}"#)), 3);
        assert_eq!(dynamodb_items(&parse(r#"{"TableName":"t","Key":{}}"#)), 1);
        let batch = sqs_request(Some("AmazonSQS.SendMessageBatch"), br#"{"QueueUrl":"u","Entries":[{},{}]}"#);
        assert_eq!((batch.operation.as_str(), batch.entries), ("SendMessageBatch", 2));
        let form = sqs_request(
            None,
            b"Action=DeleteMessageBatch&QueueUrl=u&DeleteMessageBatchRequestEntry.1.Id=a&DeleteMessageBatchRequestEntry.2.Id=b",
        );
        assert_eq!((form.operation.as_str(), form.entries), ("DeleteMessageBatch", 2));
        assert_eq!(sqs_request(Some("AmazonSQS.SendMessage"), br#"{"QueueUrl":"u"}"#).entries, 1);
    }

    #[test]
    fn consumed_capacity_of_one_table_or_several() {
        assert_eq!(consumed_units(br#"{"ConsumedCapacity":{"TableName":"t","CapacityUnits":1.5}}"#), 1.5);
        assert_eq!(
            consumed_units(br#"{"ConsumedCapacity":[{"TableName":"t","CapacityUnits":4.0},{"CapacityUnits":2.0}]}"#),
            6.0
        );
        assert_eq!(consumed_units(br#"{"Item":{}}"#), 0.0);
        assert_eq!(capacity_operation("Query"), Some(true));
        assert_eq!(capacity_operation("TransactWriteItems"), Some(false));
        assert_eq!(capacity_operation("DescribeTable"), None);
    }

    #[test]
    fn counts_since_a_snapshot() {
        let log = CallLog::default();
        let one = Tally { requests: 1, items: 1, ..Tally::default() };
        log.count("guest-webhook", "dynamodb:GetItem", &one);
        let before = log.counts();
        log.count("guest-webhook", "dynamodb:GetItem", &one);
        log.count("guest-webhook", "dynamodb:TransactWriteItems", &Tally { requests: 1, items: 4, ..Tally::default() });
        log.count("ws-default", "execute-api:POST", &one);
        let since = log.counts().since(&before);
        assert_eq!(since.total("").requests, 3);
        assert_eq!(since.total("dynamodb:").items, 5);
        assert_eq!(since.by_operation()["execute-api:POST"].requests, 1);
        assert_eq!(since.0["guest-webhook"]["dynamodb:GetItem"].requests, 1);
        assert!(log.counts().since(&log.counts()).0.is_empty());
    }
}
