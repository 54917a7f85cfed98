//! The IAM actions (and resources) of one request, read from its wire format per service.

use std::collections::BTreeSet;

use serde_json::Value;

use super::target_operation;

/// DynamoDB: the operation from `X-Amz-Target`, the table (and index) from the body;
/// transactions and batches give one action per item.
pub fn dynamodb(target: Option<&str>, body: &[u8]) -> Vec<(String, String)> {
    dynamodb_actions(target_operation(target), &serde_json::from_slice(body).unwrap_or_default())
}

/// The entries of a DynamoDB request: a transaction's or a batch's items, one otherwise.
pub(super) fn dynamodb_items(body: &Value) -> usize {
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

pub(super) fn dynamodb_actions(operation: &str, body: &Value) -> Vec<(String, String)> {
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
pub(super) struct SqsRequest {
    pub(super) operation: String,
    queue: String,
    pub(super) entries: usize,
}

pub(super) fn sqs_request(target: Option<&str>, body: &[u8]) -> SqsRequest {
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

pub(super) fn sqs_actions(request: &SqsRequest) -> Vec<(String, String)> {
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
