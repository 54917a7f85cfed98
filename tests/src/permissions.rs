//! The IAM check the emulator cannot do: every AWS call each function made during the
//! end-to-end suite (recorded by `lobbybee::calls`) must be allowed by that function's role in
//! `template.yaml`, and every grant of a role must be used by some call of its function.
//!
//! Each test binary saves the distinct calls it saw ([`save`]); `permissions` (the binary of the
//! same name, run by the test command after the suite) reads them all and [`check`]s them.
//!
//! Resources are compared in the template's own terms: a recorded table, queue or bucket name
//! is mapped to the logical id whose name pattern (`!Sub "${TenantName}-chat"`) it fits, and a
//! policy's `!GetAtt ChatTable.Arn` / `!Sub "${MediaBucket.Arn}/uploads/*"` become `ChatTable`
//! and `MediaBucket/uploads/*`. Parameters and pseudo parameters stand for any value (`*`), as
//! IAM's own wildcard does.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use lobbybee::calls::AwsCall;
use serde_yaml::Value;

/// Where the suite's recorded calls go: `LOBBYBEE_CALLS_DIR`, else `.local/aws-calls`.
pub fn calls_dir() -> PathBuf {
    std::env::var_os("LOBBYBEE_CALLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.local/aws-calls"))
}

/// Saves the calls one test binary saw (its own file, rewritten whole).
pub fn save(binary: &str, calls: &[AwsCall]) {
    let dir = calls_dir();
    let written = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(dir.join(format!("{binary}.json")), serde_json::to_vec_pretty(calls)?));
    if let Err(e) = written {
        eprintln!("could not save the recorded AWS calls: {e}");
    }
}

/// Every call saved by the suite's binaries.
pub fn load_all() -> Vec<AwsCall> {
    let mut calls = BTreeSet::new();
    for entry in std::fs::read_dir(calls_dir()).into_iter().flatten().flatten() {
        let text = std::fs::read(entry.path()).unwrap_or_default();
        calls.extend(serde_json::from_slice::<Vec<AwsCall>>(&text).unwrap_or_default());
    }
    calls.into_iter().collect()
}

/// One `Allow` statement, in symbolic terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// IAM actions (may hold `*`).
    pub actions: Vec<String>,
    /// Resource patterns (`ChatTable`, `ChatTable/index/*`, `MediaBucket/uploads/*`, …).
    pub resources: Vec<String>,
    /// A statement whose `Sid` starts with `OnFailure` serves a failure path the suite need not
    /// drive for every function (a push deferred to the retry queue), so it may go unused.
    pub on_failure: bool,
    /// A statement under `!If [Condition, statement, !Ref AWS::NoValue]` (the customer-managed
    /// key's) exists only in some deployments: it may go unused, and it allows no recorded call,
    /// since the default deployment must work without it.
    pub conditional: bool,
}

/// What `template.yaml` says: each function's grants and each named resource's name pattern.
#[derive(Debug, Clone, Default)]
pub struct Template {
    /// Function crate name (`Metadata.BuildProperties.Binary`) → its `Policies` statements.
    pub grants: BTreeMap<String, Vec<Grant>>,
    /// Physical name pattern (`*-chat`) → logical id (`ChatTable`).
    pub names: Vec<(String, String)>,
}

impl Template {
    /// Reads a SAM template.
    pub fn parse(text: &str) -> Result<Template, String> {
        let doc: Value = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
        let resources = doc.get("Resources").and_then(Value::as_mapping).ok_or("no Resources")?;
        let mut template = Template::default();
        for (logical, resource) in resources {
            let logical = logical.as_str().unwrap_or_default();
            let props = &resource["Properties"];
            for key in ["TableName", "QueueName", "BucketName"] {
                if let Some(name) = props.get(key) {
                    template.names.push((symbol(name), logical.to_owned()));
                }
            }
            if resource["Type"] != "AWS::Serverless::Function" {
                continue;
            }
            let binary = resource["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap_or(logical).to_owned();
            let statements = props["Policies"]
                .as_sequence()
                .into_iter()
                .flatten()
                .flat_map(|policy| policy["Statement"].as_sequence().cloned().unwrap_or_default());
            let grants = statements
                .map(unconditional)
                .filter(|(s, _)| s.get("Effect").is_none_or(|e| e == "Allow"))
                .map(|(s, conditional)| Grant {
                    actions: strings(&s["Action"]),
                    resources: strings(&s["Resource"]),
                    on_failure: s["Sid"].as_str().is_some_and(|sid| sid.starts_with("OnFailure")),
                    conditional,
                })
                .collect();
            template.grants.insert(binary, grants);
        }
        Ok(template)
    }

    /// A recorded resource in the template's terms (`e2e-x-chat/index/gsi1` → `ChatTable/index/gsi1`).
    pub fn symbolic(&self, call: &AwsCall) -> String {
        let raw = match call.action.split(':').next() {
            // A queue URL ends with the queue name.
            Some("sqs") => call.resource.rsplit('/').next().unwrap_or_default().to_owned(),
            // Only one WebSocket API exists per stack.
            Some("execute-api") => return format!("WebSocketApi/{}", call.resource),
            _ => call.resource.clone(),
        };
        let (name, rest) = raw.split_once('/').map_or((raw.as_str(), ""), |(n, r)| (n, r));
        match self.names.iter().find(|(pattern, _)| glob(pattern, name)) {
            Some((_, logical)) if rest.is_empty() => logical.clone(),
            Some((_, logical)) => format!("{logical}/{rest}"),
            None => raw,
        }
    }
}

/// A statement, or the statement inside `!If [Condition, statement, !Ref AWS::NoValue]`, with
/// whether it was conditional.
fn unconditional(statement: Value) -> (Value, bool) {
    match statement {
        Value::Tagged(tagged) if tagged.tag == "!If" => {
            (tagged.value.as_sequence().and_then(|branches| branches.get(1)).cloned().unwrap_or(Value::Null), true)
        }
        other => (other, false),
    }
}

/// A policy value as a list of strings (a string or a sequence of them).
fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::Sequence(items) => items.iter().map(symbol).collect(),
        other => vec![symbol(other)],
    }
}

/// A template expression as a symbolic pattern: `!GetAtt X.Arn` → `X`; `!Sub` replaces
/// `${X.Arn}` with `X`, `${Resource}` with `Resource`, parameters and `${AWS::…}` with `*`, and
/// keeps what follows the last `:` of an ARN.
fn symbol(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Tagged(tagged) if tagged.tag == "!GetAtt" => {
            tagged.value.as_str().unwrap_or_default().trim_end_matches(".Arn").to_owned()
        }
        Value::Tagged(tagged) if tagged.tag == "!Ref" => tagged.value.as_str().unwrap_or_default().to_owned(),
        Value::Tagged(tagged) if tagged.tag == "!Sub" => {
            let text = tagged.value.as_str().unwrap_or_default();
            let mut out = String::new();
            let mut rest = text;
            while let Some(start) = rest.find("${") {
                out.push_str(&rest[..start]);
                let Some(end) = rest[start..].find('}') else { break };
                let inner = &rest[start + 2..start + end];
                out.push_str(&substitute(inner));
                rest = &rest[start + end + 1..];
            }
            out.push_str(rest);
            if out.starts_with("arn:") { out.rsplit(':').next().unwrap_or_default().to_owned() } else { out }
        }
        _ => String::new(),
    }
}

fn substitute(inner: &str) -> String {
    if let Some(resource) = inner.strip_suffix(".Arn") {
        resource.to_owned()
    } else if inner.starts_with("AWS::") || !inner.ends_with("Api") {
        // Pseudo parameters and template parameters: any value. Resource references used in
        // ARNs here are the APIs (`${WebSocketApi}`).
        "*".to_owned()
    } else {
        inner.to_owned()
    }
}

/// IAM-style matching: `*` matches any run of characters (slashes included), `?` one.
pub fn glob(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

/// The outcome: one line per problem.
#[derive(Debug, Default)]
pub struct Report {
    /// Checks that held.
    pub passed: usize,
    /// What failed, readable.
    pub failures: Vec<String>,
}

/// A grant (statement `grant` of `function`) that served a call, with the action and resource
/// pattern that matched.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Use {
    function: String,
    grant: usize,
    action: String,
    resource: String,
}

/// Checks the calls against the template.
pub fn check(template: &Template, calls: &[AwsCall]) -> Report {
    let mut report = Report::default();
    let mut used: BTreeSet<Use> = BTreeSet::new();
    for call in calls {
        let resource = template.symbolic(call);
        let Some(grants) = template.grants.get(&call.function) else {
            report.failures.push(format!("{}: no such function in template.yaml", call.function));
            continue;
        };
        let mut allowed = false;
        for (i, grant) in grants.iter().enumerate().filter(|(_, g)| !g.conditional) {
            let action = grant.actions.iter().find(|a| glob(a, &call.action));
            let target = grant.resources.iter().find(|r| glob(r, &resource));
            if let (Some(action), Some(target)) = (action, target) {
                allowed = true;
                used.insert(Use {
                    function: call.function.clone(),
                    grant: i,
                    action: action.clone(),
                    resource: target.clone(),
                });
            }
        }
        if allowed {
            report.passed += 1;
        } else {
            report
                .failures
                .push(format!("{} calls {} on {resource}: its role does not allow it", call.function, call.action));
        }
    }
    // No dead grants: each action and each resource of a statement served some call.
    for (function, grants) in &template.grants {
        for (i, grant) in grants.iter().enumerate().filter(|(_, g)| !g.on_failure && !g.conditional) {
            let served =
                |f: &dyn Fn(&Use) -> bool| used.iter().any(|u| u.function == *function && u.grant == i && f(u));
            for action in &grant.actions {
                if served(&|u| u.action == *action) {
                    report.passed += 1;
                } else {
                    report
                        .failures
                        .push(format!("{function} is granted {action} on {:?} but no call used it", grant.resources));
                }
            }
            for resource in &grant.resources {
                if served(&|u| u.resource == *resource) {
                    report.passed += 1;
                } else {
                    report
                        .failures
                        .push(format!("{function} is granted {:?} on {resource} but no call used it", grant.actions));
                }
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
Resources:
  ChatTable:
    Type: AWS::DynamoDB::Table
    Properties: { TableName: !Sub "${TenantName}-chat" }
  OutboundQueue:
    Type: AWS::SQS::Queue
    Properties: { QueueName: !Sub "${TenantName}-outbound" }
  MediaBucket:
    Type: AWS::S3::Bucket
    Properties: { BucketName: !Sub "${TenantName}-chat-media-${AWS::AccountId}" }
  Fn:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: rest-api } }
    Properties:
      Policies:
        - Statement:
            - Effect: Allow
              Action: [dynamodb:GetItem, dynamodb:Query]
              Resource: [!GetAtt ChatTable.Arn, !Sub "${ChatTable.Arn}/index/*"]
            - Effect: Allow
              Action: [sqs:SendMessage]
              Resource: !GetAtt OutboundQueue.Arn
            - Effect: Allow
              Action: [s3:PutObject]
              Resource: !Sub "${MediaBucket.Arn}/uploads/*"
            - Sid: OnFailureDeferPushes
              Effect: Allow
              Action: [sqs:SendMessage]
              Resource: !GetAtt PushRetryQueue.Arn
            - Effect: Allow
              Action: [execute-api:ManageConnections]
              Resource: !Sub "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${WebSocketApi}/${Stage}/*/@connections/*"
            - !If
              - HasCustomerKey
              - Sid: CustomerKey
                Effect: Allow
                Action: [kms:Decrypt, kms:GenerateDataKey]
                Resource: !GetAtt DataKey.Arn
              - !Ref AWS::NoValue
"#;

    fn call(action: &str, resource: &str) -> AwsCall {
        AwsCall { function: "rest-api".into(), action: action.into(), resource: resource.into() }
    }

    #[test]
    fn resources_become_template_symbols() {
        let template = Template::parse(TEMPLATE).unwrap();
        let grants = &template.grants["rest-api"];
        assert_eq!(grants[0].resources, vec!["ChatTable", "ChatTable/index/*"]);
        assert_eq!(grants[2].resources, vec!["MediaBucket/uploads/*"]);
        assert!(grants[3].on_failure && !grants[2].on_failure);
        assert_eq!(grants[4].resources, vec!["WebSocketApi/*/*/@connections/*"]);
        assert!(grants[5].conditional && !grants[4].conditional);
        assert_eq!((grants[5].actions.len(), grants[5].resources.as_slice()), (2, ["DataKey".to_owned()].as_slice()));
        assert_eq!(template.symbolic(&call("dynamodb:Query", "e2e-rest-chat/index/gsi1")), "ChatTable/index/gsi1");
        assert_eq!(template.symbolic(&call("sqs:SendMessage", "http://h/000/e2e-rest-outbound")), "OutboundQueue");
        assert_eq!(
            template.symbolic(&call("s3:PutObject", "e2e-rest-chat-media-000000000000/uploads/h/1/a/b.jpg")),
            "MediaBucket/uploads/h/1/a/b.jpg"
        );
    }

    #[test]
    fn every_call_needs_a_grant_and_every_grant_a_call() {
        let template = Template::parse(TEMPLATE).unwrap();
        let calls = vec![
            call("dynamodb:GetItem", "e2e-rest-chat"),
            call("dynamodb:Query", "e2e-rest-chat/index/gsi1"),
            call("sqs:SendMessage", "http://h/000/e2e-rest-outbound"),
            call("s3:PutObject", "e2e-rest-chat-media-000000000000/uploads/h/1/a/b.jpg"),
            call("execute-api:ManageConnections", "local/POST/@connections/abc="),
        ];
        let report = check(&template, &calls);
        assert!(report.failures.is_empty(), "{:?}", report.failures);

        // The conditional grant allows nothing (the default deployment has no such statement).
        let report = check(&template, &[calls.clone(), vec![call("kms:Decrypt", "DataKey")]].concat());
        assert_eq!(report.failures, vec!["rest-api calls kms:Decrypt on DataKey: its role does not allow it"]);

        let mut more = calls.clone();
        more.push(call("dynamodb:ConditionCheckItem", "e2e-rest-chat"));
        more.push(call("s3:GetObject", "e2e-rest-chat-media-000000000000/uploads/h/1/a/b.jpg"));
        let report = check(&template, &more);
        assert_eq!(report.failures.len(), 2, "{:?}", report.failures);
        assert!(report.failures[0].contains("ConditionCheckItem"));

        let report = check(&template, &calls[1..]);
        assert_eq!(
            report.failures,
            vec![
                r#"rest-api is granted dynamodb:GetItem on ["ChatTable", "ChatTable/index/*"] but no call used it"#,
                r#"rest-api is granted ["dynamodb:GetItem", "dynamodb:Query"] on ChatTable but no call used it"#,
            ]
        );
    }

    #[test]
    fn globs() {
        assert!(glob("ChatTable/index/*", "ChatTable/index/gsi1"));
        assert!(glob("*-chat", "e2e-x-chat"));
        assert!(!glob("*-chat", "e2e-x-chat-media-1"));
        assert!(glob("dynamodb:*", "dynamodb:Query"));
        assert!(!glob("ChatTable", "ChatTable/index/gsi1"));
    }
}
