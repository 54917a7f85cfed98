//! Creates the stack's tables, queues and bucket on an emulator (MiniStack, LocalStack) by
//! reading them from `template.yaml`, so the local schema cannot drift from the deployed one.
//!
//! Only the properties that shape behaviour are read: table keys, indexes, billing mode and TTL;
//! queue names, visibility timeouts and redrive policies; bucket names; the functions' reserved
//! concurrency (for the gateway, which applies that of the functions behind the Function URL and
//! the HTTP API). Intrinsics are resolved for the few forms the template uses (`!Sub` with
//! `${TenantName}` / `${AWS::AccountId}`, `!GetAtt Queue.Arn`; `!If`/`!Ref` for the reservations,
//! in [`crate::concurrency`]). Every step is idempotent.

use std::collections::BTreeMap;
use std::path::Path;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_yaml::Value;

/// Account id the emulators use.
const LOCAL_ACCOUNT: &str = "000000000000";

/// What the bootstrap created, as the functions' environment needs it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LocalResources {
    /// `TABLE_NAME`.
    pub table_name: String,
    /// `OUTBOUND_QUEUE_URL`.
    pub outbound_queue_url: String,
    /// `PUSH_RETRY_QUEUE_URL`.
    pub push_retry_queue_url: String,
    /// `MEDIA_BUCKET`.
    pub media_bucket: String,
    /// Each function's reserved concurrency, by crate name, with the parameters' defaults
    /// ([`crate::concurrency::reservations`]); the gateway applies it.
    pub reserved_concurrency: BTreeMap<String, u32>,
}

impl LocalResources {
    /// `KEY=value` lines for a shell or an env file.
    pub fn env_lines(&self) -> String {
        format!(
            "TABLE_NAME={}\nOUTBOUND_QUEUE_URL={}\nPUSH_RETRY_QUEUE_URL={}\nMEDIA_BUCKET={}\n",
            self.table_name, self.outbound_queue_url, self.push_retry_queue_url, self.media_bucket
        )
    }
}

/// A bootstrap failure, with the resource it concerns.
#[derive(Debug, thiserror::Error)]
#[error("bootstrap: {0}")]
pub struct BootstrapError(pub String);

fn err(context: &str, e: impl std::fmt::Display) -> BootstrapError {
    BootstrapError(format!("{context}: {e}"))
}

/// Creates every table, queue and bucket of `template` for `tenant` (idempotent).
pub async fn bootstrap(sdk: &SdkConfig, template: &Path, tenant: &str) -> Result<LocalResources, BootstrapError> {
    let text = std::fs::read_to_string(template).map_err(|e| err(&template.display().to_string(), e))?;
    let doc: Value = serde_yaml::from_str(&text).map_err(|e| err("template.yaml", e))?;
    let resources = doc
        .get("Resources")
        .and_then(Value::as_mapping)
        .ok_or_else(|| BootstrapError("template has no Resources".into()))?;
    let by_type = |kind: &str| -> Vec<(String, Value)> {
        resources
            .iter()
            .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some(kind))
            .filter_map(|(name, r)| {
                Some((name.as_str()?.to_owned(), r.get("Properties").cloned().unwrap_or(Value::Null)))
            })
            .collect()
    };
    let resolve = |v: &Value| resolve_string(v, tenant);
    let mut out =
        LocalResources { reserved_concurrency: crate::concurrency::reservations(&doc), ..LocalResources::default() };

    let dynamo = aws_sdk_dynamodb::Client::new(sdk);
    for (logical, props) in by_type("AWS::DynamoDB::Table") {
        let name =
            props.get("TableName").and_then(resolve).ok_or_else(|| BootstrapError(format!("{logical}: TableName")))?;
        create_table(&dynamo, &name, &props).await?;
        if logical == "ChatTable" {
            out.table_name = name;
        }
    }

    let sqs = aws_sdk_sqs::Client::new(sdk);
    let queues = by_type("AWS::SQS::Queue");
    let mut arns: BTreeMap<String, String> = BTreeMap::new();
    let mut urls: BTreeMap<String, String> = BTreeMap::new();
    // Dead-letter queues first: the others refer to their ARNs.
    let (plain, redriven): (Vec<_>, Vec<_>) = queues.into_iter().partition(|(_, p)| p.get("RedrivePolicy").is_none());
    for (logical, props) in plain.into_iter().chain(redriven) {
        let name =
            props.get("QueueName").and_then(resolve).ok_or_else(|| BootstrapError(format!("{logical}: QueueName")))?;
        let mut attributes = BTreeMap::new();
        if let Some(v) = props.get("VisibilityTimeout").and_then(scalar) {
            attributes.insert(QueueAttributeName::VisibilityTimeout, v);
        }
        if let Some(v) = props.get("MessageRetentionPeriod").and_then(scalar) {
            attributes.insert(QueueAttributeName::MessageRetentionPeriod, v);
        }
        if let Some(policy) = props.get("RedrivePolicy") {
            let target = policy.get("deadLetterTargetArn").and_then(get_att_target).unwrap_or_default();
            let arn = arns.get(&target).ok_or_else(|| BootstrapError(format!("{logical}: unknown DLQ {target}")))?;
            let max = policy.get("maxReceiveCount").and_then(scalar).unwrap_or_else(|| "5".into());
            attributes.insert(
                QueueAttributeName::RedrivePolicy,
                serde_json::json!({ "deadLetterTargetArn": arn, "maxReceiveCount": max }).to_string(),
            );
        }
        let attributes: std::collections::HashMap<_, _> = attributes.into_iter().collect();
        let created = sqs.create_queue().queue_name(&name).set_attributes(Some(attributes.clone())).send().await;
        let url = match created {
            Ok(output) => output.queue_url.ok_or_else(|| BootstrapError(format!("{name}: no queue url")))?,
            // The queue exists from an earlier run with other settings: bring it up to date, as
            // a CloudFormation update would.
            Err(e) if e.as_service_error().is_some_and(|s| s.is_queue_name_exists()) => {
                let url = sqs
                    .get_queue_url()
                    .queue_name(&name)
                    .send()
                    .await
                    .map_err(|e| err(&name, aws_sdk_sqs::error::DisplayErrorContext(&e)))?
                    .queue_url
                    .ok_or_else(|| BootstrapError(format!("{name}: no queue url")))?;
                sqs.set_queue_attributes()
                    .queue_url(&url)
                    .set_attributes(Some(attributes))
                    .send()
                    .await
                    .map_err(|e| err(&name, aws_sdk_sqs::error::DisplayErrorContext(&e)))?;
                url
            }
            Err(e) => return Err(err(&name, aws_sdk_sqs::error::DisplayErrorContext(&e))),
        };
        let arn = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| err(&name, aws_sdk_sqs::error::DisplayErrorContext(&e)))?
            .attributes
            .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
            .unwrap_or_else(|| format!("arn:aws:sqs:us-east-1:{LOCAL_ACCOUNT}:{name}"));
        arns.insert(logical.clone(), arn);
        urls.insert(logical, url);
    }
    out.outbound_queue_url = urls.get("OutboundQueue").cloned().unwrap_or_default();
    out.push_retry_queue_url = urls.get("PushRetryQueue").cloned().unwrap_or_default();

    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(sdk).force_path_style(true).build());
    for (logical, props) in by_type("AWS::S3::Bucket") {
        let name = props
            .get("BucketName")
            .and_then(resolve)
            .ok_or_else(|| BootstrapError(format!("{logical}: BucketName")))?;
        let exists = s3.head_bucket().bucket(&name).send().await.is_ok();
        if !exists {
            s3.create_bucket()
                .bucket(&name)
                .send()
                .await
                .map_err(|e| err(&name, aws_sdk_s3::error::DisplayErrorContext(&e)))?;
        }
        if logical == "MediaBucket" {
            out.media_bucket = name;
        }
    }
    Ok(out)
}

async fn create_table(client: &aws_sdk_dynamodb::Client, name: &str, props: &Value) -> Result<(), BootstrapError> {
    if client.describe_table().table_name(name).send().await.is_ok() {
        return Ok(());
    }
    let key_schema = |v: Option<&Value>| -> Vec<KeySchemaElement> {
        v.and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .filter_map(|k| {
                KeySchemaElement::builder()
                    .attribute_name(k.get("AttributeName")?.as_str()?)
                    .key_type(KeyType::from(k.get("KeyType")?.as_str()?))
                    .build()
                    .ok()
            })
            .collect()
    };
    let attributes: Vec<AttributeDefinition> = props
        .get("AttributeDefinitions")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(|a| {
            AttributeDefinition::builder()
                .attribute_name(a.get("AttributeName")?.as_str()?)
                .attribute_type(ScalarAttributeType::from(a.get("AttributeType")?.as_str()?))
                .build()
                .ok()
        })
        .collect();
    let indexes: Vec<GlobalSecondaryIndex> = props
        .get("GlobalSecondaryIndexes")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(|i| {
            let projection =
                i.get("Projection").and_then(|p| p.get("ProjectionType")).and_then(Value::as_str).unwrap_or("ALL");
            GlobalSecondaryIndex::builder()
                .index_name(i.get("IndexName")?.as_str()?)
                .set_key_schema(Some(key_schema(i.get("KeySchema"))))
                .projection(Projection::builder().projection_type(ProjectionType::from(projection)).build())
                .build()
                .ok()
        })
        .collect();
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(attributes))
        .set_key_schema(Some(key_schema(props.get("KeySchema"))))
        .set_global_secondary_indexes((!indexes.is_empty()).then_some(indexes))
        .send()
        .await
        .map_err(|e| err(name, aws_sdk_dynamodb::error::DisplayErrorContext(&e)))?;
    if let Some(ttl) = props.get("TimeToLiveSpecification")
        && let Some(attribute) = ttl.get("AttributeName").and_then(Value::as_str)
    {
        let spec = TimeToLiveSpecification::builder()
            .attribute_name(attribute)
            .enabled(true)
            .build()
            .map_err(|e| err(name, e))?;
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(spec)
            .send()
            .await
            .map_err(|e| err(name, aws_sdk_dynamodb::error::DisplayErrorContext(&e)))?;
    }
    Ok(())
}

/// A string property: plain, or `!Sub` with the parameters the local stack knows.
fn resolve_string(value: &Value, tenant: &str) -> Option<String> {
    let raw = match value {
        Value::String(s) => s.clone(),
        Value::Tagged(tagged) if tagged.tag == "!Sub" => tagged.value.as_str()?.to_owned(),
        _ => return None,
    };
    Some(
        raw.replace("${TenantName}", tenant)
            .replace("${AWS::AccountId}", LOCAL_ACCOUNT)
            .replace("${AWS::Region}", "us-east-1"),
    )
}

/// A number or string scalar as text.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// The logical id in `!GetAtt Name.Arn`.
fn get_att_target(value: &Value) -> Option<String> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "!GetAtt" => {
            tagged.value.as_str().and_then(|s| s.split('.').next()).map(str::to_owned)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_the_intrinsics_the_template_uses() {
        let doc: Value =
            serde_yaml::from_str("a: !Sub \"${TenantName}-chat\"\nb: !GetAtt Dlq.Arn\nc: plain\n").unwrap();
        assert_eq!(resolve_string(&doc["a"], "t1").as_deref(), Some("t1-chat"));
        assert_eq!(get_att_target(&doc["b"]).as_deref(), Some("Dlq"));
        assert_eq!(resolve_string(&doc["c"], "t1").as_deref(), Some("plain"));
    }

    #[test]
    fn the_template_declares_what_the_functions_need() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
        let doc: Value = serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let resources = doc["Resources"].as_mapping().unwrap();
        for name in [
            "ChatTable",
            "OutboundQueue",
            "OutboundDeadLetterQueue",
            "PushRetryQueue",
            "PushRetryDeadLetterQueue",
            "MediaBucket",
        ] {
            assert!(resources.contains_key(name), "{name} missing from template.yaml");
        }
        let table = &doc["Resources"]["ChatTable"]["Properties"];
        assert_eq!(table["TimeToLiveSpecification"]["AttributeName"].as_str(), Some("expires_at"));
        assert_eq!(table["GlobalSecondaryIndexes"][0]["IndexName"].as_str(), Some("gsi1"));
    }

    #[test]
    fn every_function_crate_has_a_resource_and_every_resource_a_crate() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let doc: Value = serde_yaml::from_str(&std::fs::read_to_string(root.join("template.yaml")).unwrap()).unwrap();
        let mut binaries: Vec<String> = doc["Resources"]
            .as_mapping()
            .unwrap()
            .values()
            .filter(|r| r["Type"].as_str() == Some("AWS::Serverless::Function"))
            .map(|r| {
                assert_eq!(r["Metadata"]["BuildMethod"].as_str(), Some("rust-cargolambda"));
                r["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap().to_owned()
            })
            .collect();
        let mut crates: Vec<String> = std::fs::read_dir(root.join("functions"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        binaries.sort();
        crates.sort();
        assert_eq!(binaries, crates);
    }
}
