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

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
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

/// The distinct calls seen so far, shared by the interceptors of every client of an [`crate::app::App`].
#[derive(Debug, Default)]
pub struct CallLog {
    calls: Mutex<BTreeSet<AwsCall>>,
}

impl CallLog {
    /// The distinct calls seen so far.
    pub fn calls(&self) -> Vec<AwsCall> {
        self.calls.lock().map(|c| c.iter().cloned().collect()).unwrap_or_default()
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

    fn read_before_signing(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Ok(function) = FUNCTION.try_with(|f| *f) else {
            return Ok(()); // test setup, the gateway's own polling: not a function's call
        };
        let request = context.request();
        let body = request.body().bytes().unwrap_or_default();
        let target = request.headers().get("x-amz-target");
        let found = match self.service {
            Service::DynamoDb => dynamodb(target, body),
            Service::Sqs => sqs(target, body),
            Service::S3 => s3(request.method(), request.uri()),
            Service::Management => management(request.method(), request.uri()),
            Service::Ssm => ssm(target, body),
        };
        self.log.record(function, found);
        Ok(())
    }
}

/// DynamoDB: the operation from `X-Amz-Target`, the table (and index) from the body;
/// transactions and batches give one action per item.
pub fn dynamodb(target: Option<&str>, body: &[u8]) -> Vec<(String, String)> {
    let operation = target.and_then(|t| t.rsplit('.').next()).unwrap_or_default();
    let body: Value = serde_json::from_slice(body).unwrap_or_default();
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
            let mut resource = table_of(&body);
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
    let (operation, queue) = match target {
        Some(target) => {
            let body: Value = serde_json::from_slice(body).unwrap_or_default();
            let queue = body.get("QueueUrl").and_then(Value::as_str).unwrap_or_default().to_owned();
            (target.rsplit('.').next().unwrap_or_default().to_owned(), queue)
        }
        None => {
            let form: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
            let get = |key: &str| form.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap_or_default();
            (get("Action"), get("QueueUrl"))
        }
    };
    // A batch send is authorised as `sqs:SendMessage`.
    let operation = operation.trim_end_matches("Batch");
    if operation.is_empty() { Vec::new() } else { vec![(format!("sqs:{operation}"), queue)] }
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
}
