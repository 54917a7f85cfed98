//! The answer of a function behind a Function URL or the HTTP API (payload format 2.0), built
//! exactly as `lambda_http::run` builds it, without the `encoding_rs` decoder it links for
//! charsets no function answers in (docs/decisions.md, "Lambda binary size").
//!
//! `lambda_http` turns a handler's body into text when the response is textual (no
//! `Content-Type`, a text type, or `x-lambda-http-content-encoding: text`, and no
//! `Content-Encoding`), decoding it in the `charset` of its `Content-Type` with a byte order mark
//! taking precedence; anything else is sent base64-encoded. Every textual answer here is UTF-8
//! (`application/json`, `text/plain; charset=utf-8`, empty), so UTF-8 is the only charset
//! decoded; a byte order mark is honoured as `lambda_http` honours it. The tests hold this to
//! `lambda_http`'s own conversion.

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use lambda_http::http::HeaderMap;
use lambda_http::http::header::{CONTENT_ENCODING, CONTENT_TYPE, SET_COOKIE};
use lambda_http::{Body, Response};

/// `lambda_http`'s switch that marks any content type as text.
const X_LAMBDA_HTTP_CONTENT_ENCODING: &str = "x-lambda-http-content-encoding";

/// The content types `lambda_http` sends as text: these prefixes...
const TEXT_PREFIXES: [&str; 5] =
    ["text", "application/json", "application/javascript", "application/xml", "application/yaml"];

/// ... and these suffixes of the media type.
const TEXT_SUFFIXES: [&str; 3] = ["+xml", "+yaml", "+json"];

/// The payload format 2.0 answer of `response`.
pub(crate) fn v2_response(response: Response<Body>) -> ApiGatewayV2httpResponse {
    let (parts, body) = response.into_parts();
    let bytes = match body {
        Body::Text(text) => text.into_bytes(),
        Body::Binary(bytes) => bytes,
        _ => Vec::new(),
    };
    let body = if is_text(&parts.headers) { Body::Text(decode(&bytes)) } else { Body::Binary(bytes) };
    let mut headers = parts.headers;
    // Payload format 2.0 carries cookies apart from the headers.
    let cookies = headers.get_all(SET_COOKIE).iter().map(|v| v.to_str().ok().unwrap_or_default().to_string()).collect();
    headers.remove(SET_COOKIE);
    let mut answer = ApiGatewayV2httpResponse::default();
    answer.is_base64_encoded = matches!(body, Body::Binary(_));
    answer.body = Some(body);
    answer.status_code = i64::from(parts.status.as_u16());
    answer.cookies = cookies;
    answer.headers = headers;
    answer.multi_value_headers = HeaderMap::new();
    answer
}

/// Whether `lambda_http` sends a body with these headers as text.
fn is_text(headers: &HeaderMap) -> bool {
    if headers.get(CONTENT_ENCODING).is_some() {
        return false;
    }
    let Some(content_type) = headers.get(CONTENT_TYPE) else { return true };
    let content_type = content_type.to_str().unwrap_or_default();
    let media_type = content_type.trim().split(';').next().unwrap_or_default();
    TEXT_PREFIXES.iter().any(|prefix| content_type.starts_with(prefix))
        || TEXT_SUFFIXES.iter().any(|suffix| media_type.ends_with(suffix))
        || headers.get(X_LAMBDA_HTTP_CONTENT_ENCODING).is_some_and(|v| v == "text")
}

/// UTF-8 text as `encoding_rs` decodes it: a byte order mark chooses the encoding and is removed,
/// malformed sequences become U+FFFD.
fn decode(bytes: &[u8]) -> String {
    let utf16 = |rest: &[u8], unit: fn([u8; 2]) -> u16| {
        let mut units: Vec<u16> = rest.chunks_exact(2).map(|pair| unit([pair[0], pair[1]])).collect();
        let odd = rest.len() % 2 == 1;
        // A lead surrogate left at the end and an odd last byte are one error, not two.
        if odd && units.last().is_some_and(|u| (0xD800..0xDC00).contains(u)) {
            units.pop();
        }
        let mut text = String::from_utf16_lossy(&units);
        if odd {
            text.push(char::REPLACEMENT_CHARACTER);
        }
        text
    };
    match bytes {
        [0xEF, 0xBB, 0xBF, rest @ ..] => String::from_utf8_lossy(rest).into_owned(),
        [0xFF, 0xFE, rest @ ..] => utf16(rest, u16::from_le_bytes),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, u16::from_be_bytes),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use lambda_http::http::StatusCode;
    use lambda_http::request::LambdaRequest;
    use lambda_http::tower::ServiceExt;
    use lambda_runtime::{Context, LambdaEvent};
    use serde_json::{Value, json};

    use super::*;

    /// What `lambda_http::run` answers for `response`.
    async fn lambda_http_answer(response: Response<Body>) -> Value {
        let event = json!({
            "version": "2.0", "routeKey": "$default", "rawPath": "/", "rawQueryString": "", "headers": {},
            "requestContext": {"accountId": "1", "apiId": "a", "domainName": "d", "domainPrefix": "d",
                "http": {"method": "GET", "path": "/", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "t"},
                "requestId": "r", "routeKey": "$default", "stage": "$default", "time": "t", "timeEpoch": 0},
            "isBase64Encoded": false,
        });
        let request: LambdaRequest = serde_json::from_value(event).unwrap();
        let response = std::sync::Mutex::new(Some(response));
        let service = lambda_http::service_fn(|_| {
            let response = response.lock().unwrap().take().unwrap();
            async move { Ok::<_, std::convert::Infallible>(response) }
        });
        let answer =
            lambda_http::Adapter::from(service).oneshot(LambdaEvent::new(request, Context::default())).await.unwrap();
        serde_json::to_value(answer).unwrap()
    }

    fn response(headers: &[(&str, &str)], body: Body) -> Response<Body> {
        let mut builder = Response::builder().status(StatusCode::CREATED);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(body).unwrap()
    }

    #[tokio::test]
    async fn answers_as_lambda_http_does() {
        let bodies = || {
            vec![
                Body::Empty,
                Body::Text(String::new()),
                Body::Text(r#"{"ok":true,"name":"Zoë"}"#.to_owned()),
                Body::Binary(b"\x89PNG\r\n\x1a\n\x00\xff".to_vec()),
                Body::Binary(b"\xef\xbb\xbfwith a BOM".to_vec()),
                Body::Binary(b"\xff\xfeh\x00i\x00\x00\xd8!".to_vec()),
                Body::Binary(b"\xff\xfe\x00\xd8h\x00\x00\xdci\x00\x00\xd8".to_vec()),
                Body::Binary(b"\xff\xfe\x3d\xd8\x00\xde!".to_vec()),
                Body::Binary(b"\xfe\xff\x00h\x00i\x00".to_vec()),
                Body::Binary(b"bad \xc3\x28 utf-8 \xe2\x82".to_vec()),
            ]
        };
        let header_sets: &[&[(&str, &str)]] = &[
            &[],
            &[("content-type", "application/json")],
            &[("content-type", "text/plain; charset=utf-8")],
            &[("content-type", "application/problem+json; charset=UTF-8")],
            &[("content-type", "image/png")],
            &[("content-type", "application/octet-stream"), (X_LAMBDA_HTTP_CONTENT_ENCODING, "text")],
            &[("content-type", "application/json"), ("content-encoding", "gzip")],
            &[("content-type", "not a media type")],
            &[
                ("set-cookie", "a=1"),
                ("set-cookie", "b=2; Path=/"),
                ("access-control-allow-origin", "*"),
                ("vary", "origin"),
            ],
            &[("location", "https://media.example/x?X-Amz-Signature=s"), ("cache-control", "no-store")],
        ];
        for headers in header_sets {
            for body in bodies() {
                let case = format!("{headers:?} {body:?}");
                let expected = lambda_http_answer(response(headers, clone(&body))).await;
                let ours = serde_json::to_value(v2_response(response(headers, body))).unwrap();
                assert_eq!(ours, expected, "{case}");
            }
        }
    }

    fn clone(body: &Body) -> Body {
        match body {
            Body::Text(text) => Body::Text(text.clone()),
            Body::Binary(bytes) => Body::Binary(bytes.clone()),
            _ => Body::Empty,
        }
    }
}
