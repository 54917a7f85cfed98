use std::collections::BTreeSet;
use std::path::PathBuf;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayWebsocketProxyRequest};
use aws_lambda_events::event::sqs::SqsEvent;
use axum::http::{HeaderValue, Method, Uri, Version};
use base64::Engine;
use chrono::{TimeZone, Utc};
use lambda_http::RequestExt;
use lambda_http::request::{LambdaRequest, RequestContext};

use super::events::{self, HttpRequestInfo, SocketInfo};
use super::paths::{self, Route};
use super::*;

const ACCOUNT: &str = events::ACCOUNT_ID;

/// `tests/fixtures/{name}` of this repository.
fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn key_paths(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    if let Value::Object(map) = value {
        for (k, v) in map {
            let path = format!("{prefix}/{k}");
            key_paths(v, &path, out);
            out.insert(path);
        }
    }
}

fn assert_same_keys(ours: &Value, fixture: &Value) {
    let (mut a, mut b) = (BTreeSet::new(), BTreeSet::new());
    key_paths(ours, "", &mut a);
    key_paths(fixture, "", &mut b);
    let extra: Vec<_> = a.difference(&b).collect();
    let missing: Vec<_> = b.difference(&a).collect();
    assert!(extra.is_empty() && missing.is_empty(), "keys not in the fixture: {extra:?}; missing: {missing:?}");
}

fn socket() -> SocketInfo {
    SocketInfo {
        connection_id: "Bq3vXdFoDoECJdA=".into(),
        connected_at: Utc.timestamp_millis_opt(1_795_514_531_000).unwrap(),
        stage: "local".into(),
        domain: "127.0.0.1:8080".into(),
        source_ip: "127.0.0.1".into(),
        user_agent: Some("Mozilla/5.0".into()),
    }
}

fn now() -> chrono::DateTime<Utc> {
    Utc.timestamp_millis_opt(1_795_514_531_012).unwrap()
}

/// The headers a browser's upgrade request carries that the fixture shows (and the
/// hop-by-hop ones API Gateway drops).
fn upgrade_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("host", "127.0.0.1:8080"),
        ("connection", "Upgrade"),
        ("upgrade", "websocket"),
        ("sec-websocket-extensions", "permessage-deflate; client_max_window_bits"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("sec-websocket-version", "13"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    events::with_forwarding_headers(&headers, "127.0.0.1", 8080, "http", now())
}

#[test]
fn the_connect_event_has_the_fixture_shape_and_deserialises() {
    let query = vec![("token".to_owned(), "t".to_owned()), ("department".to_owned(), "Room Service".to_owned())];
    let connect = events::connect_event(&socket(), &upgrade_headers(), &query, now());
    assert_same_keys(&connect, &fixture("apigw-ws-connect.json"));
    assert_eq!(connect["headers"]["Sec-WebSocket-Key"], "dGhlIHNhbXBsZSBub25jZQ==");
    assert_eq!(connect["headers"]["X-Forwarded-For"], "127.0.0.1");
    assert_eq!(connect["multiValueHeaders"]["X-Forwarded-Port"], json!(["8080"]));
    assert_eq!(connect["multiValueQueryStringParameters"]["department"], json!(["Room Service"]));
    assert_eq!(connect["requestContext"]["requestTime"], "24/Nov/2026:10:02:11 +0000");
    assert_eq!(connect["requestContext"]["connectedAt"], 1_795_514_531_000_i64);
    assert_eq!(connect["requestContext"]["requestTimeEpoch"], 1_795_514_531_012_i64);
    assert_eq!(connect["requestContext"]["requestId"], connect["requestContext"]["extendedRequestId"]);

    let parsed: ApiGatewayWebsocketProxyRequest = parse_event(&connect).unwrap();
    assert_eq!(parsed.query_string_parameters.first("department"), Some("Room Service"));
    assert_eq!(parsed.query_string_parameters.first("token"), Some("t"));
    assert_eq!(parsed.headers.get("sec-websocket-key").unwrap(), "dGhlIHNhbXBsZSBub25jZQ==");
    assert!(parsed.headers.get("connection").is_none());
    let ctx = &parsed.request_context;
    assert_eq!(ctx.connection_id.as_deref(), Some("Bq3vXdFoDoECJdA="));
    assert_eq!(ctx.route_key.as_deref(), Some("$connect"));
    assert_eq!(ctx.event_type.as_deref(), Some("CONNECT"));
    assert_eq!(ctx.stage.as_deref(), Some("local"));
    assert_eq!(ctx.domain_name.as_deref(), Some("127.0.0.1:8080"));
    assert_eq!(ctx.apiid.as_deref(), Some(API_ID));
    assert_eq!(ctx.connected_at, 1_795_514_531_000);
    assert_eq!(ctx.identity.source_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(ctx.identity.user_agent.as_deref(), Some("Mozilla/5.0"));
}

#[test]
fn a_connect_without_query_leaves_the_query_maps_out() {
    let connect = events::connect_event(&socket(), &upgrade_headers(), &[], now());
    assert!(connect.get("queryStringParameters").is_none());
    assert!(connect.get("multiValueQueryStringParameters").is_none());
    let parsed: ApiGatewayWebsocketProxyRequest = parse_event(&connect).unwrap();
    assert!(parsed.query_string_parameters.is_empty());
}

#[test]
fn the_message_event_has_the_fixture_shape_and_deserialises() {
    let body = r#"{"type":"text","conversation_id":1,"content":"Towels are on the way"}"#;
    let message = events::message_event(&socket(), body, now());
    assert_same_keys(&message, &fixture("apigw-ws-message.json"));
    let parsed: ApiGatewayWebsocketProxyRequest = parse_event(&message).unwrap();
    assert_eq!(parsed.body.as_deref(), Some(body));
    assert_eq!(parsed.request_context.route_key.as_deref(), Some("$default"));
    assert_eq!(parsed.request_context.event_type.as_deref(), Some("MESSAGE"));
    assert!(parsed.request_context.message_id.is_some());
    assert!(parsed.request_context.identity.user_agent.is_none());
}

#[test]
fn the_disconnect_event_has_the_fixture_shape_and_deserialises() {
    let disconnect = events::disconnect_event(&socket(), 1001, "Going away", now());
    assert_same_keys(&disconnect, &fixture("apigw-ws-disconnect.json"));
    let parsed: ApiGatewayWebsocketProxyRequest = parse_event(&disconnect).unwrap();
    assert_eq!(parsed.request_context.route_key.as_deref(), Some("$disconnect"));
    assert_eq!(parsed.request_context.event_type.as_deref(), Some("DISCONNECT"));
    assert_eq!(parsed.request_context.disconnect_status_code, Some(1001));
    assert_eq!(parsed.request_context.disconnect_reason.as_deref(), Some("Going away"));
    assert_eq!(parsed.headers.get("host").unwrap(), "127.0.0.1:8080");
}

#[test]
fn the_fixtures_deserialise() {
    for name in ["apigw-ws-connect.json", "apigw-ws-message.json", "apigw-ws-disconnect.json"] {
        let event: ApiGatewayWebsocketProxyRequest = parse_event(&fixture(name)).unwrap();
        assert_eq!(event.request_context.connection_id.as_deref(), Some("Bq3vXdFoDoECJdA="), "{name}");
    }
}

#[test]
fn ids_look_like_api_gateway_ids() {
    let ids: BTreeSet<String> = (0..200).map(|_| events::new_id()).collect();
    assert_eq!(ids.len(), 200);
    for id in &ids {
        assert_eq!(id.len(), 16, "{id}");
        assert!(id.ends_with('=') && !id[..15].contains('='), "{id}");
        assert!(!id.contains(['+', '/']), "{id}");
        let bytes = base64::engine::general_purpose::URL_SAFE.decode(id).unwrap();
        assert_eq!(bytes.len(), 11);
    }
}

#[test]
fn header_names_are_canonical() {
    assert_eq!(events::canonical_header("sec-websocket-key"), "Sec-WebSocket-Key");
    assert_eq!(events::canonical_header("x-amzn-trace-id"), "X-Amzn-Trace-Id");
    assert_eq!(events::canonical_header("host"), "Host");
    assert_eq!(events::canonical_header("x-forwarded-for"), "X-Forwarded-For");
}

#[test]
fn forwarding_headers_are_added_like_api_gateway() {
    let mut headers = HeaderMap::new();
    headers.insert("x-forwarded-for", HeaderValue::from_static("10.0.0.1"));
    headers.insert("x-forwarded-proto", HeaderValue::from_static("https"));
    headers.insert("x-amzn-trace-id", HeaderValue::from_static("Root=1-abc"));
    headers.insert("connection", HeaderValue::from_static("keep-alive"));
    let out = events::with_forwarding_headers(&headers, "127.0.0.1", 9000, "http", now());
    assert_eq!(out["x-forwarded-for"], "10.0.0.1, 127.0.0.1");
    assert_eq!(out["x-forwarded-proto"], "http");
    assert_eq!(out["x-forwarded-port"], "9000");
    assert_eq!(out["x-amzn-trace-id"], "Root=1-abc");
    assert!(!out.contains_key("connection"));
    let fresh = events::with_forwarding_headers(&HeaderMap::new(), "127.0.0.1", 9000, "http", now());
    let trace = fresh["x-amzn-trace-id"].to_str().unwrap();
    assert!(trace.starts_with(&format!("Root=1-{:08x}-", now().timestamp())) && trace.len() == 7 + 8 + 1 + 24);
}

#[test]
fn django_paths_map_onto_query_parameters() {
    let pair = |k: &str, v: &str| vec![(k.to_owned(), v.to_owned())];
    assert_eq!(paths::route("/", "local"), Route::Socket(vec![]));
    assert_eq!(paths::route("/local", "local"), Route::Socket(vec![]));
    assert_eq!(paths::route("/local/", "local"), Route::Socket(vec![]));
    assert_eq!(paths::route("/ws/chat/", "local"), Route::Socket(vec![]));
    assert_eq!(paths::route("/ws/chat", "local"), Route::Socket(vec![]));
    assert_eq!(paths::route("/ws/chat/Reception/", "local"), Route::Socket(pair("department", "Reception")));
    assert_eq!(paths::route("/ws/chat/Room%20Service", "local"), Route::Socket(pair("department", "Room Service")));
    assert_eq!(paths::route("/ws/chat/Caf%C3%A9/", "local"), Route::Socket(pair("department", "Café")));
    assert_eq!(
        paths::route("/ws/guest/%2B919876543210/", "local"),
        Route::Socket(pair("whatsapp_number", "+919876543210"))
    );
    assert_eq!(
        paths::route("/ws/guest/+919876543210", "local"),
        Route::Socket(pair("whatsapp_number", "+919876543210"))
    );
    for not_a_socket in ["/ws/chat//", "/ws/guest/", "/ws/chat/a/b/", "/ws", "/other", "//", "/prod"] {
        assert_eq!(paths::route(not_a_socket, "local"), Route::NotFound, "{not_a_socket}");
    }
    assert_eq!(
        paths::query_pairs(Some("token=a.b.c&department=Room+Service&x=%41")),
        vec![
            ("token".to_owned(), "a.b.c".to_owned()),
            ("department".to_owned(), "Room Service".to_owned()),
            ("x".to_owned(), "A".to_owned()),
        ]
    );
    assert!(paths::query_pairs(None).is_empty());
    assert_eq!(paths::log_path("/ws/guest/+15551234567/"), "/ws/guest/{whatsapp_number}/");
    assert_eq!(paths::log_path("/ws/chat/Reception/"), "/ws/chat/Reception/");
}

#[test]
fn other_paths_are_classified() {
    assert_eq!(paths::route("/health", "local"), Route::Health);
    assert_eq!(paths::route("/api/chat/guest-webhook/", "local"), Route::FunctionUrl);
    assert_eq!(paths::route("/api/chat/guest-webhook", "local"), Route::FunctionUrl);
    assert_eq!(paths::route("/api/chat/conversations/", "local"), Route::HttpApi);
    assert_eq!(paths::route("/api/chat", "local"), Route::HttpApi);
    assert_eq!(paths::route("/api/chatter", "local"), Route::NotFound);
    assert_eq!(paths::route("/api/other/", "local"), Route::NotFound);
}

#[test]
fn connection_ids_are_decoded_from_management_paths() {
    let id = |path: &str| paths::management_connection_id(path);
    assert_eq!(id("/@connections/Bq3vXdFoDoECJdA%3D").as_deref(), Some("Bq3vXdFoDoECJdA="));
    assert_eq!(id("/local/@connections/Bq3vXdFoDoECJdA%3d").as_deref(), Some("Bq3vXdFoDoECJdA="));
    assert_eq!(id("/prod/@connections/Bq3vXdFoDoECJdA=").as_deref(), Some("Bq3vXdFoDoECJdA="));
    assert_eq!(id("/local/@connections/a-b_c%2Bd").as_deref(), Some("a-b_c+d"));
    assert_eq!(id("/@connections/"), None);
    assert_eq!(id("//@connections/x"), None);
    assert_eq!(id("/a/b/@connections/x"), None);
    assert_eq!(id("/@connections/x/y"), None);
    assert_eq!(paths::route("/local/@connections/x%3D", "local"), Route::Management("x=".into()));
}

#[test]
fn hosts_are_validated() {
    for good in ["127.0.0.1:8080", "localhost", "abc123defg.execute-api.eu-west-1.amazonaws.com", "[::1]:8080", "[::1]"]
    {
        assert!(is_valid_host(good), "{good}");
    }
    for bad in ["", ":80", "a b", "a:b", "1.2.3.999", "host:99999", "user@host", "[::1", "[::1]x", "a..b", "h/x"] {
        assert!(!is_valid_host(bad), "{bad}");
    }
}

fn http_request(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    account_id: &'static str,
) -> (Value, lambda_http::Request) {
    let headers = events::with_forwarding_headers(headers, "127.0.0.1", 8080, "http", now());
    let info = HttpRequestInfo {
        method,
        uri,
        version: Version::HTTP_11,
        headers: &headers,
        body,
        source_ip: "127.0.0.1",
        domain: "127.0.0.1:8080",
        account_id,
        request_id: "LV7fzho-PHcEJPw=",
    };
    let event = events::http_event(&info, now());
    let lambda: LambdaRequest = parse_event(&event).unwrap();
    assert!(matches!(lambda, LambdaRequest::ApiGatewayV2(_)));
    (event, lambda_http::Request::from(lambda))
}

#[test]
fn http_events_become_the_requests_lambda_http_builds() {
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("127.0.0.1:8080"));
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("authorization", HeaderValue::from_static("Bearer x.y.z"));
    headers.append("accept", HeaderValue::from_static("text/html"));
    headers.append("accept", HeaderValue::from_static("application/json"));
    headers.insert("cookie", HeaderValue::from_static("a=1; b=2"));
    let uri: Uri = "/api/chat/conversations/?status=all&limit=5&tag=x&tag=y&q=Room+Service".parse().unwrap();
    let (event, request) = http_request(&Method::POST, &uri, &headers, br#"{"a":1}"#, ACCOUNT);
    assert_eq!(event["headers"]["accept"], "text/html,application/json");
    assert_eq!(event["cookies"], json!(["a=1", "b=2"]));
    assert!(event["headers"].get("cookie").is_none());
    assert_eq!(event["queryStringParameters"]["tag"], "x,y");
    assert_eq!(event["rawQueryString"], "status=all&limit=5&tag=x&tag=y&q=Room+Service");
    assert_eq!(event["requestContext"]["time"], "24/Nov/2026:10:02:11 +0000");
    assert_eq!(event["requestContext"]["timeEpoch"], 1_795_514_531_012_i64);
    assert_eq!(event["requestContext"]["domainPrefix"], "127");
    assert_eq!(event["body"], r#"{"a":1}"#);
    assert_eq!(event["isBase64Encoded"], false);

    assert_eq!(request.method(), Method::POST);
    assert_eq!(request.uri().path(), "/api/chat/conversations/");
    assert_eq!(request.uri().host(), Some("127.0.0.1"));
    assert_eq!(request.uri().query(), Some("status=all&limit=5&tag=x&tag=y&q=Room+Service"));
    assert_eq!(request.raw_http_path(), "/api/chat/conversations/");
    let query = request.query_string_parameters();
    assert_eq!(query.first("status"), Some("all"));
    assert_eq!(query.all("tag"), Some(vec!["x", "y"]));
    assert_eq!(query.first("q"), Some("Room Service"));
    assert_eq!(request.headers()["cookie"], "a=1; b=2");
    assert_eq!(request.headers()["authorization"], "Bearer x.y.z");
    assert_eq!(request.headers()["x-forwarded-proto"], "http");
    assert_eq!(request.body().as_ref(), br#"{"a":1}"#);
    match request.request_context() {
        RequestContext::ApiGatewayV2(ctx) => {
            assert_eq!(ctx.http.method, Method::POST);
            assert_eq!(ctx.http.source_ip.as_deref(), Some("127.0.0.1"));
            assert_eq!(ctx.stage.as_deref(), Some("$default"));
            assert_eq!(ctx.request_id.as_deref(), Some("LV7fzho-PHcEJPw="));
            assert_eq!(ctx.account_id.as_deref(), Some(ACCOUNT));
        }
        other => panic!("unexpected context {other:?}"),
    }
}

#[test]
fn binary_and_multipart_bodies_are_base64_encoded() {
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("127.0.0.1:8080"));
    let uri: Uri = "/api/chat/guest-webhook/".parse().unwrap();
    let (event, request) = http_request(&Method::POST, &uri, &headers, &[0xff, 0x00, 0x41], "anonymous");
    assert_eq!(event["isBase64Encoded"], true);
    assert_eq!(event["body"], "/wBB");
    assert!(event.get("queryStringParameters").is_none());
    assert!(event.get("cookies").is_none());
    assert_eq!(request.body().as_ref(), &[0xff, 0x00, 0x41]);
    assert!(request.query_string_parameters().is_empty());

    headers.insert("content-type", HeaderValue::from_static("multipart/form-data; boundary=x"));
    let (event, request) = http_request(&Method::POST, &uri, &headers, b"--x\r\n", "anonymous");
    assert_eq!(event["isBase64Encoded"], true);
    assert_eq!(request.body().as_ref(), b"--x\r\n");

    let (event, request) = http_request(&Method::GET, &uri, &HeaderMap::new(), b"", "anonymous");
    assert!(event.get("body").is_none());
    assert!(request.body().is_empty());
    assert_eq!(request.uri().host(), Some("127.0.0.1"), "falls back on requestContext.domainName");

    assert!(events::is_text_content_type(None));
    assert!(events::is_text_content_type(Some("application/json; charset=utf-8")));
    assert!(events::is_text_content_type(Some("application/vnd.api+json")));
    assert!(events::is_text_content_type(Some("text/plain")));
    assert!(!events::is_text_content_type(Some("image/jpeg")));
    assert!(!events::is_text_content_type(Some("application/octet-stream")));
}

#[test]
fn the_http_event_has_api_gateways_v2_shape() {
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("127.0.0.1:8080"));
    headers.insert("user-agent", HeaderValue::from_static("curl/8"));
    let uri: Uri = "/api/chat/conversations/".parse().unwrap();
    let (event, _) = http_request(&Method::GET, &uri, &headers, b"", ACCOUNT);
    let parsed: ApiGatewayV2httpRequest = parse_event(&event).unwrap();
    assert_eq!(parsed.version.as_deref(), Some("2.0"));
    assert_eq!(parsed.route_key.as_deref(), Some("$default"));
    assert_eq!(parsed.raw_path.as_deref(), Some("/api/chat/conversations/"));
    assert_eq!(parsed.request_context.http.protocol.as_deref(), Some("HTTP/1.1"));
    assert_eq!(parsed.request_context.http.user_agent.as_deref(), Some("curl/8"));
    assert_eq!(parsed.request_context.route_key.as_deref(), Some("$default"));
    assert_eq!(parsed.request_context.apiid.as_deref(), Some(API_ID));
    let mut keys = BTreeSet::new();
    key_paths(&event, "", &mut keys);
    for key in [
        "/version",
        "/routeKey",
        "/rawPath",
        "/rawQueryString",
        "/headers/x-forwarded-for",
        "/headers/x-forwarded-port",
        "/headers/x-forwarded-proto",
        "/headers/x-amzn-trace-id",
        "/requestContext/accountId",
        "/requestContext/domainName",
        "/requestContext/domainPrefix",
        "/requestContext/http/method",
        "/requestContext/http/path",
        "/requestContext/http/sourceIp",
        "/requestContext/requestId",
        "/requestContext/stage",
        "/requestContext/time",
        "/requestContext/timeEpoch",
        "/isBase64Encoded",
    ] {
        assert!(keys.contains(key), "{key} missing");
    }
}

#[test]
fn sqs_batches_have_lambdas_shape() {
    use aws_sdk_sqs::types::{Message, MessageAttributeValue, MessageSystemAttributeName as A};
    let message = Message::builder()
        .message_id("m-1")
        .receipt_handle("rh-1")
        .body(r#"{"job":1}"#)
        .md5_of_body("d41d8cd98f00b204e9800998ecf8427e")
        .md5_of_message_attributes("582c92c5c5b6ac403040a4f3ab3115c9")
        .attributes(A::ApproximateReceiveCount, "2")
        .attributes(A::SentTimestamp, "1520621625029")
        .attributes(A::SenderId, "AROAIWPX5BD2BHG722MW4:sender")
        .attributes(A::ApproximateFirstReceiveTimestamp, "1520621634884")
        .attributes(A::DeadLetterQueueSourceArn, "arn:aws:sqs:us-east-1:000000000000:x")
        .message_attributes(
            "kind",
            MessageAttributeValue::builder().data_type("String").string_value("text").build().unwrap(),
        )
        .message_attributes(
            "raw",
            MessageAttributeValue::builder()
                .data_type("Binary")
                .binary_value(aws_sdk_sqs::primitives::Blob::new(b"1100".to_vec()))
                .build()
                .unwrap(),
        )
        .build();
    let bare = Message::builder().message_id("m-2").receipt_handle("rh-2").body("x").build();
    let url = "http://127.0.0.1:4566/000000000000/e2e-outbound";
    let event = events::sqs_event(url, "eu-west-1", &[message, bare]);
    let record = &event["Records"][0];
    assert_eq!(record["eventSourceARN"], "arn:aws:sqs:eu-west-1:000000000000:e2e-outbound");
    assert_eq!(record["eventSource"], "aws:sqs");
    assert_eq!(record["awsRegion"], "eu-west-1");
    assert!(record["attributes"].get("DeadLetterQueueSourceArn").is_none());
    assert_eq!(record["messageAttributes"]["raw"]["binaryValue"], "MTEwMA==");
    assert_eq!(
        record["messageAttributes"]["kind"],
        json!({"stringValue": "text", "stringListValues": [], "binaryListValues": [], "dataType": "String"})
    );
    assert!(event["Records"][1].get("md5OfMessageAttributes").is_none());

    let parsed: SqsEvent = parse_event(&event).unwrap();
    assert_eq!(parsed.records.len(), 2);
    let first = &parsed.records[0];
    assert_eq!(first.message_id.as_deref(), Some("m-1"));
    assert_eq!(first.receipt_handle.as_deref(), Some("rh-1"));
    assert_eq!(first.body.as_deref(), Some(r#"{"job":1}"#));
    assert_eq!(first.attributes.get("ApproximateReceiveCount").map(String::as_str), Some("2"));
    assert_eq!(first.attributes.len(), 4);
    assert_eq!(first.message_attributes["kind"].string_value.as_deref(), Some("text"));
    assert_eq!(first.event_source_arn.as_deref(), Some("arn:aws:sqs:eu-west-1:000000000000:e2e-outbound"));

    // The Lambda fixture's keys, record by record.
    let lambda_record = json!({
        "messageId": "", "receiptHandle": "", "body": "", "md5OfBody": "", "md5OfMessageAttributes": "",
        "eventSourceARN": "", "eventSource": "", "awsRegion": "",
        "attributes": { "ApproximateReceiveCount": "", "SentTimestamp": "", "SenderId": "",
                        "ApproximateFirstReceiveTimestamp": "" },
        "messageAttributes": {
            "kind": { "stringValue": "", "stringListValues": [], "binaryListValues": [], "dataType": "" },
            "raw": { "binaryValue": "", "stringListValues": [], "binaryListValues": [], "dataType": "" },
        },
    });
    assert_same_keys(record, &lambda_record);
    assert_eq!(
        events::queue_arn("https://sqs.eu-west-1.amazonaws.com/123456789012/q", "eu-west-1"),
        "arn:aws:sqs:eu-west-1:123456789012:q"
    );
    assert_eq!(events::queue_arn("http://localhost:4566/queue/q", "us-east-1"), "arn:aws:sqs:us-east-1:000000000000:q");
}

// -----------------------------------------------------------------------------------------
// The server itself, with handlers that answer without AWS (refusals and unknown ids).

fn offline_app() -> App {
    let config = lobbybee::config::Config::from_lookup(&[], |key| {
        match key {
            "TABLE_NAME" => Some("offline"),
            "JWT_SECRET" => Some("offline-secret"),
            "WS_ENDPOINT" => Some("http://127.0.0.1:9/local"),
            _ => None,
        }
        .map(str::to_owned)
    })
    .expect("config");
    let sdk = aws_config::SdkConfig::builder()
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url("http://127.0.0.1:9")
        .behavior_version(aws_config::BehaviorVersion::latest())
        .http_client(lobbybee::app::aws_http_client())
        .build();
    App::new(config, &sdk)
}

/// Sends one raw HTTP/1.1 request and reads one response (head and `Content-Length` body).
async fn raw_http(addr: SocketAddr, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let read = async {
        let mut chunk = [0u8; 4096];
        loop {
            let n = stream.read(&mut chunk).await.unwrap_or(0);
            out.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&out).to_ascii_lowercase();
            if let Some(head_end) = text.find("\r\n\r\n") {
                let length = text[..head_end]
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if out.len() >= head_end + 4 + length {
                    break;
                }
            }
            if n == 0 {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read).await.expect("response within 10 s");
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn the_server_routes_refuses_and_reports_gone() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gateway = start(offline_app(), listener, GatewayOptions::default()).await.unwrap();
    let addr = gateway.addr;

    let health = raw_http(addr, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
    assert!(health.starts_with("HTTP/1.1 200") && health.ends_with("ok"), "{health}");
    let missing = raw_http(addr, "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
    assert!(missing.starts_with("HTTP/1.1 404") && missing.ends_with(r#"{"error":"Not found"}"#), "{missing}");

    // `$connect` without a token answers 401: the handshake is refused with it.
    let handshake = |path: &str| {
        format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        )
    };
    for path in ["/", "/ws/chat/Room%20Service/", "/local?token=not-a-jwt"] {
        let refused = raw_http(addr, &handshake(path)).await;
        assert!(refused.starts_with("HTTP/1.1 401"), "{path}: {refused}");
    }
    assert_eq!(gateway.open_sockets(), 0);

    // The REST handler refuses an unauthenticated call, through lambda_http's conversion.
    let rest =
        raw_http(addr, "GET /api/chat/conversations/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").await;
    assert!(rest.starts_with("HTTP/1.1 401"), "{rest}");
    assert!(rest.to_ascii_lowercase().contains("apigw-requestid: "), "{rest}");
    let bad_host =
        raw_http(addr, "GET /api/chat/conversations/ HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n").await;
    assert!(bad_host.starts_with("HTTP/1.1 400"), "{bad_host}");

    // The real management client maps unknown ids to GoneException.
    let config = aws_sdk_apigatewaymanagement::config::Builder::new()
        .behavior_version(aws_sdk_apigatewaymanagement::config::BehaviorVersion::latest())
        .http_client(lobbybee::app::aws_http_client())
        .region(aws_sdk_apigatewaymanagement::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_apigatewaymanagement::config::Credentials::new("a", "b", None, None, "t"))
        .endpoint_url(gateway.management_endpoint())
        .build();
    let client = aws_sdk_apigatewaymanagement::Client::from_conf(config);
    let posted = client
        .post_to_connection()
        .connection_id("Bq3vXdFoDoECJdA=")
        .data(aws_sdk_apigatewaymanagement::primitives::Blob::new(b"{}".to_vec()))
        .send()
        .await;
    assert!(posted.unwrap_err().into_service_error().is_gone_exception());
    let got = client.get_connection().connection_id("Bq3vXdFoDoECJdA=").send().await;
    assert!(got.unwrap_err().into_service_error().is_gone_exception());
    let deleted = client.delete_connection().connection_id("Bq3vXdFoDoECJdA=").send().await;
    assert!(deleted.unwrap_err().into_service_error().is_gone_exception());

    gateway.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "still listening after shutdown");
}
