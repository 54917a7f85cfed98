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

mod actions;

pub use actions::{dynamodb, management, s3, sqs, ssm};
use actions::{dynamodb_actions, dynamodb_items, sqs_actions, sqs_request};

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

#[cfg(test)]
mod tests;
