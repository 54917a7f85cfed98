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
