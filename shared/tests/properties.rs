//! Property tests (proptest) over the parsers and verifiers that face untrusted input.
//!
//! Every property states what it claims in its name. Covered:
//!
//! - **Socket frames** (`frames::ClientFrame::parse`, `frames::conversation_id`): no panic on any
//!   string or JSON value; every refusal is one of the `frames::errors` texts; generated frames
//!   (random `type`, ids of every JSON type, content of 0–6000 random characters, captions, URLs
//!   and file names around their §8 bounds) are accepted or refused exactly as docs/api.md §5 and
//!   §8 say; valid `text` frames round-trip.
//! - **Id lists** (`rest::form::Form::ids` and `Form::id`, used for `message_ids` and the ids of
//!   REST bodies): a list is accepted exactly when every item is a valid id and there are at most
//!   500 (§8).
//! - **WhatsApp numbers** (`phone::normalize`, §2): no panic; results are canonical; idempotent;
//!   separators anywhere change nothing; letters and a misplaced `+` are refused; the digit-count
//!   rules hold.
//! - **Departments** (`department::Department::parse`, §2): no panic; canonical names, slugs and
//!   case/accent/separator variants map to the same department; other names are refused.
//! - **Webhook signatures, guest tokens, staff JWTs** (`auth::signature`, `auth::guest_token`,
//!   `auth::jwt`, §3): no panic on arbitrary input (JWTs: random base64url chunks, strings up to
//!   100 KB); what the crate signs or issues verifies; any single-byte change does not; signed
//!   random claims are accepted exactly when `exp`, `nbf`, `token_type` and `user_id` obey §3.
//! - **The guest webhook** (`webhook::handle`, §3, §6, §8): unsigned or forged bodies of any shape
//!   are 401 (413 when oversized) before any AWS call; signed non-objects are 400 `Invalid JSON`,
//!   signed form bodies that are not UTF-8 are 400 `Invalid form body`; signed simple-format bodies
//!   with an invalid number are 400 with the documented details (§8 bounds included) before any
//!   AWS call; signed Meta bodies are 200 (5xx allowed only when the store fails). These run the
//!   real handler with AWS clients pointed at a closed local port, so no emulator is needed.
//! - **REST helpers**: `rest::percent_decode`, `rest::media::parse_multipart`, `auth::bearer`,
//!   `reopen::parse_button_id`, `media::key_owner`: no panic; round-trips.
//!
//! Not covered because they are private: the history cursors (`before`/`after` of
//! `GET conversations/{id}/`, parsed inside `rest::conversations::detail`), the conversation-list
//! `cursor` (an opaque store key) and the webhook's own field validation (exercised here only
//! through `webhook::handle`).
//!
//! Running: `cargo test -p lobbybee --test properties` runs 256 cases per property, a few seconds
//! in a debug build (the `PROPTEST_CASES` environment variable overrides the count). A longer
//! campaign (about two minutes on two cores, plus the first release build):
//!
//! ```sh
//! PROPTEST_CASES=100000 cargo test -p lobbybee --test properties --release
//! ```
//!
//! Failures are not written to a regressions file: proptest prints the minimal failing input
//! (paste it into a unit test to keep it). `PROPTEST_RNG_SEED=<n>` makes a run reproducible.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lobbybee::auth::jwt::{self, JwtAlgorithm, JwtVerifier, TokenError};
use lobbybee::auth::{bearer, guest_token, signature};
use lobbybee::department::{Department, UnknownDepartment};
use lobbybee::frames::{self, ClientFrame, MAX_CONTENT_CHARS, errors};
use lobbybee::http::percent_decode;
use lobbybee::model::{MAX_ID, MessageType};
use lobbybee::phone;
use lobbybee::rest::form::{Form, REQUIRED};
use lobbybee::rest::media::{Part, parse_multipart};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::TestCaseError;
use serde_json::{Map, Value, json};
use unicode_normalization::UnicodeNormalization;

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

/// Cases per property: `PROPTEST_CASES` when set to a positive number, else 256.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.trim().parse().ok()).filter(|&n| n > 0).unwrap_or(256)
}

/// The configuration of every property: [`cases`] cases, nothing persisted to disk (no
/// `proptest-regressions` files in the source tree); other `PROPTEST_*` variables still apply.
fn config() -> ProptestConfig {
    ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() }
}

/// Every error text a staff socket may receive (docs/api.md §5).
const ALL_FRAME_ERRORS: [&str; 11] = [
    errors::INVALID_JSON,
    errors::INVALID_TYPE,
    errors::EMPTY_CONTENT,
    errors::CONVERSATION_REQUIRED,
    errors::CONVERSATION_NOT_FOUND,
    errors::ACCESS_DENIED,
    errors::CONVERSATION_CLOSED,
    errors::TOO_LONG,
    errors::OUTSIDE_WINDOW,
    errors::BUTTONS_SERVICE_ONLY,
    errors::INTERNAL,
];

/// The frame `type`s of docs/api.md §5.
const FRAME_TYPES: [&str; 9] = [
    "text",
    "media",
    "typing",
    "mark_read",
    "subscribe_conversation",
    "unsubscribe_conversation",
    "close_conversation",
    "reopen-temporary",
    "ping",
];

/// Length bounds of docs/api.md §8 (captions, URLs, every short text, ids in one mark-read).
const CAPTION_CHARS: usize = 1024;
const URL_CHARS: usize = 2048;
const NAME_CHARS: usize = 255;
const MESSAGE_IDS: usize = 500;

/// Message types that carry media.
const MEDIA_TYPES: [&str; 4] = ["image", "document", "audio", "video"];

/// Whitespace (ASCII and Unicode) used as padding and separators.
const WHITESPACE: [char; 8] = [' ', '\t', '\n', '\r', '\u{a0}', '\u{2003}', '\u{2009}', '\u{3000}'];

/// `s` as a JSON string literal.
fn json_string(s: &str) -> String {
    Value::String(s.to_owned()).to_string()
}

fn fail(message: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(message.to_string())
}

// ---------------------------------------------------------------------------------------------
// Shared strategies
// ---------------------------------------------------------------------------------------------

/// Characters that stress trimming, counting and escaping.
fn text_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range('a', 'z'),
        2 => any::<char>(),
        1 => select(vec![
            ' ', '\t', '\n', '\r', '\u{a0}', '\u{2003}', '\u{3000}', '\u{200b}', '\u{feff}', 'é', 'ß', '😀', '"',
            '\\', '\u{0}', '\u{1f}', '\u{7f}', '\u{301}',
        ]),
    ]
}

/// Text of exactly `len` characters: a random run of up to 48 [`text_char`]s, repeated (drawing
/// thousands of characters one by one is slow in debug builds, and buys nothing here).
fn sized_text(len: impl Strategy<Value = usize>) -> impl Strategy<Value = String> {
    (prop::collection::vec(text_char(), 1..48), len)
        .prop_map(|(run, len)| run.iter().cycle().take(len).collect::<String>())
}

/// Text of exactly `len` characters without whitespace (multi-byte ones included), for bounds
/// where trimming must not matter.
fn plain_text(len: impl Strategy<Value = usize>) -> impl Strategy<Value = String> {
    let letter = prop_oneof![4 => proptest::char::range('a', 'z'), 1 => select(vec!['é', 'ß', '😀', '字', '_'])];
    (prop::collection::vec(letter, 1..16), len).prop_map(|(run, len)| run.iter().cycle().take(len).collect())
}

/// Random text of 0–6000 characters, often right around the limits (1024, 4096), sometimes
/// padded with whitespace.
fn long_text() -> impl Strategy<Value = String> {
    let body = prop_oneof![
        3 => sized_text(0..6000usize),
        2 => sized_text((MAX_CONTENT_CHARS - 3)..(MAX_CONTENT_CHARS + 3)),
        1 => sized_text(1020..1028usize),
        3 => prop::collection::vec(text_char(), 0..12).prop_map(|cs| cs.into_iter().collect::<String>()),
    ];
    (padding(), body, padding()).prop_map(|(l, b, r)| format!("{l}{b}{r}"))
}

/// 0–3 whitespace characters.
fn padding() -> impl Strategy<Value = String> {
    prop::collection::vec(select(WHITESPACE.to_vec()), 0..4).prop_map(|cs| cs.into_iter().collect())
}

/// Scalar JSON values.
fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // JSON has no NaN or infinities: those become null.
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "\\PC{0,24}".prop_map(Value::String),
    ]
}

/// `value`, with an object replaced by the array of its values (mapping instead of filtering
/// keeps long campaigns clear of proptest's reject limits).
fn not_an_object(value: Value) -> Value {
    match value {
        Value::Object(members) => Value::Array(members.into_iter().map(|(_, v)| v).collect()),
        other => other,
    }
}

/// Arbitrary JSON values, nested a few levels.
fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("\\PC{0,10}", inner), 0..6).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// JSON values that are not strings (nor null): what a client may wrongly send for a text field.
fn non_string_json() -> impl Strategy<Value = String> {
    select(vec!["0", "7", "-1", "1.5", "true", "false", "[]", "{}", "[\"text\"]", "{\"a\":1}"]).prop_map(str::to_owned)
}

/// An id as raw JSON text, with the id it should be read as (`None`: not a valid id).
#[derive(Debug, Clone)]
struct IdCase {
    json: String,
    expected: Option<u64>,
}

fn id_number(n: u64) -> IdCase {
    IdCase { json: n.to_string(), expected: (1..=MAX_ID).contains(&n).then_some(n) }
}

/// Whether `s` reads as a decimal number once trimmed (an optional `+` and digits).
fn is_numeric_text(s: &str) -> bool {
    let t = s.trim();
    let t = t.strip_prefix('+').unwrap_or(t);
    !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())
}

/// A numeric string id: ASCII whitespace around digits (leading zeros allowed).
fn id_numeric_string(left: &str, digits: &str, right: &str) -> IdCase {
    let significant = digits.trim_start_matches('0');
    let expected = if significant.len() > 16 {
        None
    } else {
        significant.parse::<u64>().ok().or(Some(0)).filter(|n| (1..=MAX_ID).contains(n))
    };
    IdCase { json: json_string(&format!("{left}{digits}{right}")), expected }
}

/// Ids of every JSON type: valid numbers, the range edges, negatives, floats, numbers beyond
/// 64 bits, numeric strings, other strings, booleans, null, arrays and objects.
fn id_case() -> impl Strategy<Value = IdCase> {
    prop_oneof![
        4 => (1..=MAX_ID).prop_map(id_number),
        2 => select(vec![0, 1, 2, MAX_ID - 1, MAX_ID, MAX_ID + 1, u64::MAX]).prop_map(id_number),
        1 => any::<u64>().prop_map(id_number),
        1 => (i64::MIN..0).prop_map(|n| IdCase { json: n.to_string(), expected: None }),
        1 => "[1-9][0-9]{20,30}".prop_map(|d| IdCase { json: d, expected: None }),
        1 => (1..=MAX_ID, 1u32..100).prop_map(|(n, f)| IdCase { json: format!("{n}.{f}"), expected: None }),
        3 => ("[ \t\n]{0,2}", "0{0,3}[0-9]{1,18}", "[ \t\n]{0,2}").prop_map(|(l, d, r)| id_numeric_string(&l, &d, &r)),
        1 => "\\PC{0,12}"
            .prop_filter("not numeric", |s| !is_numeric_text(s))
            .prop_map(|s| IdCase { json: json_string(&s), expected: None }),
        1 => select(vec!["true", "false", "null", "[]", "{}", "[1]", "{\"id\":1}", "\"\""])
            .prop_map(|j| IdCase { json: j.to_owned(), expected: None }),
    ]
}

// ---------------------------------------------------------------------------------------------
// Socket frames
// ---------------------------------------------------------------------------------------------

/// The `type` member of a generated frame.
#[derive(Debug, Clone)]
enum TypeCase {
    Absent,
    Null,
    Name(String),
    NonString(String),
}

/// A text member: a JSON string, or raw JSON of another type.
#[derive(Debug, Clone)]
enum TextField {
    Str(String),
    Other(String),
}

impl TextField {
    fn json(&self) -> String {
        match self {
            TextField::Str(s) => json_string(s),
            TextField::Other(raw) => raw.clone(),
        }
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            TextField::Str(s) => Some(s),
            TextField::Other(_) => None,
        }
    }
}

/// A frame object built member by member, so the expected answer can be worked out from the
/// rules rather than from the parser.
#[derive(Debug, Clone)]
struct FrameCase {
    kind: TypeCase,
    id: Option<IdCase>,
    content_key: &'static str,
    content: Option<TextField>,
    file_url: Option<TextField>,
    file_type: Option<TextField>,
    caption: Option<TextField>,
    filename: Option<TextField>,
    is_typing: Option<String>,
    extra: Option<(String, Value)>,
}

impl FrameCase {
    fn json(&self) -> String {
        let mut members: Vec<String> = Vec::new();
        let mut push = |key: &str, raw: String| members.push(format!("{}:{raw}", json_string(key)));
        match &self.kind {
            TypeCase::Absent => {}
            TypeCase::Null => push("type", "null".into()),
            TypeCase::Name(name) => push("type", json_string(name)),
            TypeCase::NonString(raw) => push("type", raw.clone()),
        }
        if let Some(id) = &self.id {
            push("conversation_id", id.json.clone());
        }
        let text_members = [
            (self.content_key, &self.content),
            ("file_url", &self.file_url),
            ("file_type", &self.file_type),
            ("caption", &self.caption),
            ("filename", &self.filename),
        ];
        for (key, field) in text_members {
            if let Some(field) = field {
                push(key, field.json());
            }
        }
        if let Some(raw) = &self.is_typing {
            push("is_typing", raw.clone());
        }
        if let Some((key, value)) = &self.extra {
            push(key, value.to_string());
        }
        format!("{{{}}}", members.join(","))
    }

    /// What docs/api.md §5 and §8 say the parser answers: the frame, or the errors any of which
    /// may be reported (when several rules are broken, the contract does not say which comes
    /// first).
    fn expected(&self) -> Result<ClientFrame, Vec<&'static str>> {
        let name = match &self.kind {
            TypeCase::Absent | TypeCase::Null => "text",
            TypeCase::Name(name) => name.as_str(),
            TypeCase::NonString(_) => return Err(vec![errors::INVALID_TYPE]),
        };
        let mut broken = Vec::new();
        let id = self.id.as_ref().and_then(|id| id.expected);
        if name != "ping" && FRAME_TYPES.contains(&name) && id.is_none() {
            broken.push(errors::CONVERSATION_REQUIRED);
        }
        let id = id.unwrap_or_default();
        let frame = match name {
            "text" => {
                let text = self.content.as_ref().and_then(TextField::as_str).map(str::trim).unwrap_or("");
                if text.is_empty() {
                    broken.push(errors::EMPTY_CONTENT);
                } else if text.chars().count() > MAX_CONTENT_CHARS {
                    broken.push(errors::TOO_LONG);
                }
                ClientFrame::Text { conversation_id: id, content: text.to_owned() }
            }
            "media" => {
                let file_url = self.file_url.as_ref().and_then(TextField::as_str).map(str::trim).unwrap_or("");
                if file_url.is_empty() {
                    broken.push(errors::EMPTY_CONTENT);
                }
                let file_type = match self.file_type.as_ref().and_then(TextField::as_str) {
                    Some("image") => MessageType::Image,
                    Some("document") => MessageType::Document,
                    Some("audio") => MessageType::Audio,
                    Some("video") => MessageType::Video,
                    _ => {
                        broken.push(errors::INVALID_TYPE);
                        MessageType::Image
                    }
                };
                let caption = self.caption.as_ref().and_then(TextField::as_str).unwrap_or("").trim();
                let filename = self.filename.as_ref().and_then(TextField::as_str).map(str::to_owned);
                if caption.chars().count() > CAPTION_CHARS
                    || file_url.chars().count() > URL_CHARS
                    || filename.as_ref().is_some_and(|f| f.chars().count() > NAME_CHARS)
                {
                    broken.push(errors::TOO_LONG);
                }
                ClientFrame::Media {
                    conversation_id: id,
                    file_url: file_url.to_owned(),
                    filename,
                    file_type,
                    caption: caption.to_owned(),
                }
            }
            "typing" => {
                ClientFrame::Typing { conversation_id: id, is_typing: self.is_typing.as_deref() == Some("true") }
            }
            "mark_read" => ClientFrame::MarkRead { conversation_id: id },
            "subscribe_conversation" => ClientFrame::Subscribe { conversation_id: id },
            "unsubscribe_conversation" => ClientFrame::Unsubscribe { conversation_id: id },
            "close_conversation" => ClientFrame::Close { conversation_id: id },
            "reopen-temporary" => ClientFrame::ReopenTemporary { conversation_id: id },
            "ping" => ClientFrame::Ping,
            _ => return Err(vec![errors::INVALID_TYPE]),
        };
        if broken.is_empty() { Ok(frame) } else { Err(broken) }
    }
}

/// Parses the generated frame and compares the answer with [`FrameCase::expected`].
fn check_frame(case: &FrameCase) -> Result<(), TestCaseError> {
    let json = case.json();
    let answer = ClientFrame::parse(&json);
    match case.expected() {
        Ok(frame) => prop_assert_eq!(answer, Ok(frame), "{}", json),
        Err(allowed) => match answer {
            Ok(frame) => prop_assert!(false, "accepted {frame:?}, expected one of {allowed:?}: {json}"),
            Err(e) => prop_assert!(allowed.contains(&e), "got {e:?}, expected one of {allowed:?}: {json}"),
        },
    }
    Ok(())
}

fn some_str(s: String) -> Option<TextField> {
    Some(TextField::Str(s))
}

/// `https://x/aaa…` of exactly `len` characters.
fn url_of_len(len: usize) -> String {
    format!("https://x/{}", "a".repeat(len.saturating_sub(10)))
}

/// Media frames that are mostly valid, with captions, URLs and file names right around their
/// bounds (1024, 2048 and 255 characters), so that each bound decides the answer.
fn media_frame_case() -> impl Strategy<Value = FrameCase> {
    let id = prop_oneof![9 => (1..=MAX_ID).prop_map(id_number), 1 => id_case()];
    let file_url = prop_oneof![
        3 => Just(some_str("https://cdn.example/a.jpg".into())),
        3 => (URL_CHARS - 2..=URL_CHARS + 2).prop_map(|n| some_str(url_of_len(n))),
        1 => file_url_field(),
    ];
    let file_type =
        prop_oneof![9 => select(MEDIA_TYPES.to_vec()).prop_map(|t| some_str(t.into())), 1 => file_type_field()];
    let caption = prop_oneof![
        2 => Just(None),
        2 => "\\PC{0,20}".prop_map(some_str),
        3 => (padding(), plain_text(CAPTION_CHARS - 2..=CAPTION_CHARS + 2), padding())
            .prop_map(|(l, c, r)| some_str(format!("{l}{c}{r}"))),
    ];
    let filename = prop_oneof![
        2 => Just(None),
        2 => Just(some_str("menu.pdf".into())),
        3 => plain_text(NAME_CHARS - 2..=NAME_CHARS + 2).prop_map(some_str),
    ];
    (id, file_url, file_type, caption, filename).prop_map(|(id, file_url, file_type, caption, filename)| FrameCase {
        kind: TypeCase::Name("media".into()),
        id: Some(id),
        content_key: "content",
        content: None,
        file_url,
        file_type,
        caption,
        filename,
        is_typing: None,
        extra: None,
    })
}

fn type_case() -> impl Strategy<Value = TypeCase> {
    prop_oneof![
        3 => Just(TypeCase::Absent),
        1 => Just(TypeCase::Null),
        6 => Just(TypeCase::Name("text".into())),
        6 => select(FRAME_TYPES.to_vec()).prop_map(|t| TypeCase::Name(t.to_owned())),
        3 => Just(TypeCase::Name("media".into())),
        1 => select(vec!["TEXT", "Text", "reopen_temporary", "subscribe", " text", "text ", "message", ""])
            .prop_map(|t| TypeCase::Name(t.to_owned())),
        1 => "\\PC{0,16}".prop_filter("unknown type", |t| !FRAME_TYPES.contains(&t.as_str())).prop_map(TypeCase::Name),
        1 => non_string_json().prop_map(TypeCase::NonString),
    ]
}

/// A text member holding anything from nothing to 6000 characters, or a value of another type.
fn long_text_field() -> impl Strategy<Value = Option<TextField>> {
    prop_oneof![
        1 => Just(None),
        1 => Just(Some(TextField::Other("null".into()))),
        1 => non_string_json().prop_map(|raw| Some(TextField::Other(raw))),
        8 => long_text().prop_map(|s| Some(TextField::Str(s))),
    ]
}

fn file_url_field() -> impl Strategy<Value = Option<TextField>> {
    prop_oneof![
        1 => Just(None),
        1 => non_string_json().prop_map(|raw| Some(TextField::Other(raw))),
        4 => select(vec!["https://cdn.example/a.jpg", "  https://cdn.example/a.pdf\n", "", "   ", "x"])
            .prop_map(|s| Some(TextField::Str(s.to_owned()))),
        1 => "\\PC{0,30}".prop_map(|s| Some(TextField::Str(s))),
        1 => (URL_CHARS - 30..URL_CHARS + 10)
            .prop_map(|n| Some(TextField::Str(format!("https://x/{}", "a".repeat(n))))),
    ]
}

fn file_type_field() -> impl Strategy<Value = Option<TextField>> {
    prop_oneof![
        1 => Just(None),
        1 => non_string_json().prop_map(|raw| Some(TextField::Other(raw))),
        4 => select(MEDIA_TYPES.to_vec()).prop_map(|s| Some(TextField::Str(s.to_owned()))),
        2 => select(vec!["text", "system", "IMAGE", " image", "file", ""])
            .prop_map(|s| Some(TextField::Str(s.to_owned()))),
    ]
}

fn short_text_field() -> impl Strategy<Value = Option<TextField>> {
    prop_oneof![
        2 => Just(None),
        1 => non_string_json().prop_map(|raw| Some(TextField::Other(raw))),
        3 => "\\PC{0,20}".prop_map(|s| Some(TextField::Str(s))),
        1 => plain_text(NAME_CHARS - 2..NAME_CHARS + 3).prop_map(|s| Some(TextField::Str(s))),
    ]
}

fn frame_case() -> impl Strategy<Value = FrameCase> {
    let fields = (
        type_case(),
        prop::option::weighted(0.85, id_case()),
        select(vec!["content", "content", "content", "message"]),
        long_text_field(),
    );
    let media = (
        file_url_field(),
        file_type_field(),
        prop_oneof![3 => Just(None), 1 => long_text_field()],
        short_text_field(),
        prop::option::of(select(vec!["true", "false", "null", "1", "\"true\""]).prop_map(str::to_owned)),
        prop::option::of(("x_[a-z]{0,6}", json_value())),
    );
    (fields, media).prop_map(
        |((kind, id, content_key, content), (file_url, file_type, caption, filename, is_typing, extra))| FrameCase {
            kind,
            id,
            content_key,
            content,
            file_url,
            file_type,
            caption,
            filename,
            is_typing,
            extra,
        },
    )
}

/// Strings shaped a bit like frames: JSON tokens in random order.
fn json_soup() -> impl Strategy<Value = String> {
    let tokens = vec![
        "{",
        "}",
        "[",
        "]",
        ":",
        ",",
        "\"type\"",
        "\"text\"",
        "\"ping\"",
        "\"conversation_id\"",
        "\"content\"",
        "1",
        "-1",
        "9007199254740992",
        "1e999",
        "\"x\"",
        "null",
        "true",
        " ",
        "\"\\u0000\"",
        "\"\\ud800\"",
        "\\",
    ];
    prop::collection::vec(select(tokens), 0..40).prop_map(|ts| ts.concat())
}

/// A frame built to be valid: id, content, and spelling chosen at random.
#[derive(Debug, Clone)]
struct ValidText {
    id: u64,
    id_as_string: bool,
    kind: Option<Value>,
    key: &'static str,
    raw_content: String,
    pretty: bool,
}

fn valid_text() -> impl Strategy<Value = ValidText> {
    let core = prop_oneof![
        3 => sized_text(1..=MAX_CONTENT_CHARS),
        1 => sized_text((MAX_CONTENT_CHARS - 2)..=MAX_CONTENT_CHARS),
        2 => prop::collection::vec(text_char(), 1..24).prop_map(|cs| cs.into_iter().collect::<String>()),
    ]
    .prop_filter("content must not be blank", |s| !s.trim().is_empty());
    (
        1..=MAX_ID,
        any::<bool>(),
        select(vec![None, Some(Value::Null), Some(json!("text"))]),
        select(vec!["content", "message"]),
        (padding(), core, padding()),
        any::<bool>(),
    )
        .prop_map(|(id, id_as_string, kind, key, (l, core, r), pretty)| ValidText {
            id,
            id_as_string,
            kind,
            key,
            raw_content: format!("{l}{core}{r}"),
            pretty,
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn client_frame_parse_never_panics_and_answers_a_contract_error_for_arbitrary_strings(
        body in prop_oneof![any::<String>(), "\\PC{0,300}", json_soup()],
    ) {
        match ClientFrame::parse(&body) {
            Ok(_) => {}
            Err(e) => prop_assert!(ALL_FRAME_ERRORS.contains(&e), "not a contract error: {e:?}"),
        }
        if !matches!(serde_json::from_str::<Value>(&body), Ok(Value::Object(_))) {
            prop_assert_eq!(ClientFrame::parse(&body), Err(errors::INVALID_JSON));
        }
    }

    #[test]
    fn client_frame_parse_never_panics_on_arbitrary_json_values(
        value in prop_oneof![
            json_value(),
            prop::collection::vec(
                (select(vec!["type", "conversation_id", "content", "message", "file_url", "file_type",
                             "caption", "filename", "is_typing"]), json_value()),
                0..8,
            ).prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ],
    ) {
        let answer = ClientFrame::parse(&value.to_string());
        match &answer {
            Ok(frame) => {
                if let Some(id) = frame.conversation_id() {
                    prop_assert!((1..=MAX_ID).contains(&id), "accepted id {id}");
                }
                if let ClientFrame::Text { content, .. } = frame {
                    prop_assert!(!content.is_empty() && content.trim() == content);
                    prop_assert!(content.chars().count() <= MAX_CONTENT_CHARS);
                }
            }
            Err(e) => prop_assert!(ALL_FRAME_ERRORS.contains(e), "not a contract error: {e:?}"),
        }
        if !value.is_object() {
            prop_assert_eq!(answer, Err(errors::INVALID_JSON));
        }
    }

    #[test]
    fn client_frame_answers_follow_the_documented_rules(case in frame_case()) {
        check_frame(&case)?;
    }

    #[test]
    fn client_frame_media_frames_respect_the_length_bounds(case in media_frame_case()) {
        check_frame(&case)?;
    }

    #[test]
    fn client_frame_valid_text_frame_round_trips(frame in valid_text()) {
        let mut object = Map::new();
        if let Some(kind) = &frame.kind {
            object.insert("type".into(), kind.clone());
        }
        let id = if frame.id_as_string { json!(frame.id.to_string()) } else { json!(frame.id) };
        object.insert("conversation_id".into(), id);
        object.insert(frame.key.into(), json!(frame.raw_content));
        let object = Value::Object(object);
        let text = if frame.pretty {
            serde_json::to_string_pretty(&object).map_err(fail)?
        } else {
            object.to_string()
        };
        prop_assert_eq!(
            ClientFrame::parse(&text),
            Ok(ClientFrame::Text { conversation_id: frame.id, content: frame.raw_content.trim().to_owned() })
        );
    }

    #[test]
    fn conversation_id_accepts_exactly_positive_integers_up_to_max_id(case in id_case()) {
        let value: Value = serde_json::from_str(&case.json).map_err(fail)?;
        let answer = frames::conversation_id(Some(&value));
        match case.expected {
            Some(id) => prop_assert_eq!(answer, Ok(id), "{}", case.json),
            None => prop_assert_eq!(answer, Err(errors::CONVERSATION_REQUIRED), "{}", case.json),
        }
        prop_assert_eq!(frames::conversation_id(None), Err(errors::CONVERSATION_REQUIRED));
    }
}

// ---------------------------------------------------------------------------------------------
// Id lists in REST bodies
// ---------------------------------------------------------------------------------------------

/// The `message_ids` member of a body, with what `Form::ids` should answer.
#[derive(Debug, Clone)]
enum IdList {
    Absent,
    Null,
    Items(Vec<IdCase>),
    /// About 500 valid ids, the bound of docs/api.md §8.
    Long(Vec<u64>),
    NotAList(Value),
}

fn id_list() -> impl Strategy<Value = IdList> {
    prop_oneof![
        1 => Just(IdList::Absent),
        1 => Just(IdList::Null),
        4 => prop::collection::vec((1..=MAX_ID).prop_map(id_number), 0..20).prop_map(IdList::Items),
        4 => prop::collection::vec(id_case(), 0..20).prop_map(IdList::Items),
        1 => (1..=MAX_ID, MESSAGE_IDS - 2..MESSAGE_IDS + 20)
            .prop_map(|(first, n)| IdList::Long((0..n as u64).map(|i| 1 + (first + i) % MAX_ID).collect())),
        2 => non_string_value()
            .prop_map(|v| IdList::NotAList(not_a_list(v))),
        1 => "\\PC{0,12}".prop_map(|s| IdList::NotAList(Value::String(s))),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn id_lists_are_accepted_exactly_when_every_item_is_a_valid_id(list in id_list()) {
        let mut body = Map::new();
        match &list {
            IdList::Absent => {}
            IdList::Null => {
                body.insert("message_ids".into(), Value::Null);
            }
            IdList::Items(items) => {
                let raw = format!("[{}]", items.iter().map(|i| i.json.as_str()).collect::<Vec<_>>().join(","));
                body.insert("message_ids".into(), serde_json::from_str(&raw).map_err(fail)?);
            }
            IdList::Long(ids) => {
                body.insert("message_ids".into(), json!(ids));
            }
            IdList::NotAList(value) => {
                body.insert("message_ids".into(), value.clone());
            }
        }
        let mut form = Form::new(&body);
        let ids = form.ids("message_ids");
        let finished = form.finish();
        let expected: Option<Option<Vec<u64>>> = match &list {
            IdList::Absent | IdList::Null => Some(None),
            IdList::Items(items) => items.iter().map(|i| i.expected).collect::<Option<Vec<u64>>>().map(Some),
            IdList::Long(all) if all.len() <= MESSAGE_IDS => Some(Some(all.clone())),
            IdList::Long(_) | IdList::NotAList(_) => None,
        };
        let refusal = if matches!(list, IdList::Long(_)) {
            format!("Ensure this field has no more than {MESSAGE_IDS} elements.")
        } else {
            "Expected a list of integers.".to_owned()
        };
        match expected {
            Some(ids_expected) => {
                prop_assert_eq!(ids, ids_expected);
                prop_assert!(finished.is_ok(), "{:?}", finished);
            }
            None => {
                prop_assert_eq!(ids, None);
                let err = finished.err().ok_or_else(|| fail("an invalid list must be refused"))?;
                prop_assert_eq!(err.status, 400);
                prop_assert_eq!(err.body, json!({"error": "Invalid data", "details": {"message_ids": [refusal]}}));
            }
        }
    }

    #[test]
    fn body_ids_are_accepted_exactly_when_valid(case in prop::option::of(id_case()), required in any::<bool>()) {
        let mut body = Map::new();
        if let Some(case) = &case {
            body.insert("conversation_id".into(), serde_json::from_str(&case.json).map_err(fail)?);
        }
        let mut form = Form::new(&body);
        let id = form.id("conversation_id", required);
        let finished = form.finish();
        let present = case.as_ref().is_some_and(|c| c.json != "null");
        let expected = case.as_ref().and_then(|c| c.expected);
        prop_assert_eq!(id, expected);
        let problem = match (present, expected) {
            (false, _) if required => Some(REQUIRED),
            (false, _) => None,
            (true, Some(_)) => None,
            (true, None) => Some("A valid integer is required."),
        };
        match problem {
            None => prop_assert!(finished.is_ok(), "{:?}", finished),
            Some(message) => {
                let err = finished.err().ok_or_else(|| fail("an invalid id must be refused"))?;
                prop_assert_eq!(err.body, json!({"error": "Invalid data", "details": {"conversation_id": [message]}}));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// WhatsApp numbers
// ---------------------------------------------------------------------------------------------

/// What docs/api.md §2 says `compact` (an input without separators) normalises to.
fn expected_number(compact: &str, default_country_code: &str) -> Option<String> {
    let (international, digits) = if let Some(rest) = compact.strip_prefix('+') {
        (true, rest)
    } else if let Some(rest) = compact.strip_prefix("00") {
        (true, rest)
    } else {
        (false, compact)
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let cc_valid = (1..=3).contains(&default_country_code.len())
        && default_country_code.bytes().all(|b| b.is_ascii_digit())
        && !default_country_code.starts_with('0');
    let full = match (international, digits.len()) {
        (true, _) => digits.to_owned(),
        (false, 10) if cc_valid => format!("{default_country_code}{digits}"),
        (false, 11..=15) => digits.to_owned(),
        _ => return None,
    };
    ((8..=15).contains(&full.len()) && !full.starts_with('0')).then(|| format!("+{full}"))
}

/// `+`, 8–15 digits, no leading zero.
fn is_canonical_number(s: &str) -> bool {
    s.strip_prefix('+')
        .is_some_and(|d| (8..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0'))
}

/// A separator-free spelling of a number: a prefix (`+`, `00` or none) and digits.
fn compact_number() -> impl Strategy<Value = String> {
    let prefix = select(vec!["", "", "+", "+", "00"]);
    let digits = prop_oneof![
        3 => "[1-9][0-9]{7,14}",
        2 => "[0-9]{10}",
        1 => "[0-9]{0,18}",
        1 => "0[0-9]{8,14}",
    ];
    (prefix, digits).prop_map(|(p, d)| format!("{p}{d}"))
}

fn country_code() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(vec!["1", "44", "91", "33", "351", "998"]).prop_map(str::to_owned),
        1 => select(vec!["", "0", "01", "1234", "+1", "1a", " 1"]).prop_map(str::to_owned),
        1 => "[0-9]{0,4}",
        1 => "\\PC{0,4}",
    ]
}

/// Runs of separators the contract says are dropped.
fn separator_run() -> impl Strategy<Value = String> {
    prop::collection::vec(select(vec![' ', '-', '.', '(', ')', '\u{a0}', '\t', '\u{2009}', '\n', '\u{3000}']), 1..4)
        .prop_map(|cs| cs.into_iter().collect())
}

/// `base` with each `(position, text)` inserted at a character boundary.
fn insert_all(base: &str, insertions: &[(Index, String)]) -> String {
    let mut chars: Vec<String> = base.chars().map(String::from).collect();
    for (at, text) in insertions {
        let at = at.index(chars.len() + 1);
        chars.insert(at, text.clone());
    }
    chars.concat()
}

fn phone_like() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9+() .\\-]{0,24}",
        (compact_number(), prop::collection::vec((any::<Index>(), separator_run()), 0..6))
            .prop_map(|(n, ins)| insert_all(&n, &ins)),
        "[+0-9０-９ ]{0,20}",
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn phone_normalize_never_panics_and_ok_results_are_canonical(raw in phone_like(), cc in country_code()) {
        if let Ok(number) = phone::normalize(&raw, &cc) {
            prop_assert!(is_canonical_number(number.as_str()), "{raw:?} -> {number}");
            prop_assert_eq!(number.digits(), &number.as_str()[1..]);
            prop_assert_eq!(number.to_string(), number.as_str());
        }
    }

    #[test]
    fn phone_normalize_is_idempotent(raw in phone_like(), cc in country_code(), cc_again in country_code()) {
        if let Ok(number) = phone::normalize(&raw, &cc) {
            // A canonical number carries its country code, so any default is irrelevant.
            prop_assert_eq!(phone::normalize(number.as_str(), &cc), Ok(number.clone()));
            prop_assert_eq!(phone::normalize(number.as_str(), &cc_again), Ok(number));
        }
    }

    #[test]
    fn phone_normalize_follows_the_documented_digit_rules(compact in compact_number(), cc in country_code()) {
        let answer = phone::normalize(&compact, &cc).ok().map(|n| n.as_str().to_owned());
        prop_assert_eq!(answer, expected_number(&compact, &cc), "{:?} with country code {:?}", compact, cc);
    }

    #[test]
    fn phone_separators_anywhere_do_not_change_the_result(
        compact in compact_number(),
        cc in country_code(),
        insertions in prop::collection::vec((any::<Index>(), separator_run()), 1..8),
    ) {
        let spaced = insert_all(&compact, &insertions);
        prop_assert_eq!(phone::normalize(&spaced, &cc), phone::normalize(&compact, &cc), "{:?}", spaced);
    }

    #[test]
    fn phone_letters_symbols_and_a_misplaced_plus_are_refused(
        compact in compact_number(),
        cc in country_code(),
        at in any::<Index>(),
        intruder in prop_oneof![
            "[a-zA-Z]",
            select(vec!["/", "_", "#", "*", ",", "x", "０", "٣", "+"]).prop_map(str::to_owned),
        ],
    ) {
        // A `+` is only refused after the first digit (in front of everything it is the prefix).
        let at = match compact.find(|c: char| c.is_ascii_digit()) {
            Some(first_digit) if intruder == "+" => first_digit + 1 + at.index(compact.len() - first_digit),
            _ => at.index(compact.len() + 1),
        };
        // Without any digit a `+` could be the prefix; any letter makes the point as well.
        let has_digit = compact.contains(|c: char| c.is_ascii_digit());
        let intruder = if intruder == "+" && !has_digit { "x".to_owned() } else { intruder };
        let spoiled = format!("{}{intruder}{}", &compact[..at], &compact[at..]);
        prop_assert!(phone::normalize(&spoiled, &cc).is_err(), "{spoiled:?} was accepted");
    }
}

// ---------------------------------------------------------------------------------------------
// Departments
// ---------------------------------------------------------------------------------------------

/// The words of a department's accepted spellings (the alias included).
fn department_words(d: Department) -> Vec<Vec<&'static str>> {
    match d {
        Department::Reception => vec![vec!["reception"]],
        Department::Housekeeping => vec![vec!["housekeeping"]],
        Department::RoomService => vec![vec!["room", "service"]],
        Department::Cafe => vec![vec!["cafe"], vec!["café"], vec!["restaurant"]],
        Department::Management => vec![vec!["management"]],
    }
}

/// Per letter: upper or lower case, and 0–2 combining marks (accents) after it.
fn letter_variant(c: char) -> impl Strategy<Value = String> {
    let marks = prop::collection::vec(proptest::char::range('\u{300}', '\u{36f}'), 0..3);
    (any::<bool>(), prop_oneof![3 => Just(Vec::new()), 1 => marks]).prop_map(move |(upper, marks)| {
        let mut s: String = if upper { c.to_uppercase().collect() } else { c.to_lowercase().collect() };
        s.extend(marks);
        s
    })
}

fn word_variant(word: &'static str) -> BoxedStrategy<String> {
    let letters: Vec<BoxedStrategy<String>> = word.chars().map(|c| letter_variant(c).boxed()).collect();
    letters.prop_map(|ls| ls.concat()).boxed()
}

/// A spelling of `d` that the contract says must be accepted: any case, any accents (composed or
/// not), words separated by runs of whitespace, `_` and `-` (or nothing, for `roomservice`),
/// surrounding whitespace.
fn department_spelling() -> impl Strategy<Value = (Department, String)> {
    select(Department::ALL.to_vec())
        .prop_flat_map(|d| (Just(d), select(department_words(d))))
        .prop_flat_map(|(d, words)| {
            let words: Vec<BoxedStrategy<String>> = words.into_iter().map(word_variant).collect();
            let separator = prop_oneof![
                1 => Just(String::new()),
                3 => prop::collection::vec(select(vec![' ', '_', '-', '\t', '\u{a0}', '\u{2003}']), 1..4)
                    .prop_map(|cs| cs.into_iter().collect()),
            ];
            (Just(d), words, separator, padding(), padding(), any::<bool>())
        })
        .prop_map(|(d, words, separator, left, right, compose)| {
            let joined = words.join(&separator);
            let joined: String = if compose { joined.nfc().collect() } else { joined };
            (d, format!("{left}{joined}{right}"))
        })
}

/// Every accepted spelling, folded: lowercase, words joined by one space.
fn is_known_department_text(s: &str) -> bool {
    let folded = s.to_lowercase().split_whitespace().collect::<Vec<_>>().join(" ");
    ["reception", "housekeeping", "room service", "roomservice", "cafe", "restaurant", "management"]
        .contains(&folded.as_str())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn department_parse_never_panics_and_refuses_with_the_listed_names(
        raw in prop_oneof![any::<String>(), "\\PC{0,30}", "[ßİıﬃŉǰΐ\u{345}\u{301}a-z _-]{0,16}"],
    ) {
        match Department::parse(&raw) {
            Ok(d) => prop_assert_eq!(Department::parse(d.as_str()), Ok(d)),
            Err(e) => prop_assert_eq!(
                e.to_string(),
                "Invalid department. Valid options: Reception, Housekeeping, Room Service, Café, Management"
            ),
        }
    }

    #[test]
    fn department_canonical_names_and_slugs_round_trip(d in select(Department::ALL.to_vec())) {
        prop_assert_eq!(Department::parse(d.as_str()), Ok(d));
        prop_assert_eq!(Department::parse(d.key()), Ok(d));
        prop_assert_eq!(d.as_str().parse::<Department>(), Ok(d));
        let json = serde_json::to_value(d).map_err(fail)?;
        prop_assert_eq!(&json, &json!(d.as_str()));
        prop_assert_eq!(serde_json::from_value::<Department>(json).map_err(fail)?, d);
    }

    #[test]
    fn department_case_accent_and_separator_variants_map_to_the_same(spelling in department_spelling()) {
        let (d, raw) = spelling;
        prop_assert_eq!(Department::parse(&raw), Ok(d), "{:?}", raw);
    }

    #[test]
    fn department_other_plain_names_are_refused(raw in "[a-zA-Z _-]{0,24}") {
        let spaced = raw.replace(['_', '-'], " ");
        prop_assume!(!is_known_department_text(&spaced));
        prop_assert_eq!(Department::parse(&raw), Err(UnknownDepartment), "{:?}", raw);
    }
}

// ---------------------------------------------------------------------------------------------
// Webhook signatures
// ---------------------------------------------------------------------------------------------

/// Header values around the `sha256=` shape, including multi-byte characters where the prefix
/// ends.
fn signature_header() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        1 => Just(None),
        2 => any::<String>().prop_map(Some),
        2 => "(sha256=|SHA256=|sha1=|sha256:| sha256=)?[0-9a-fA-F]{0,70}".prop_map(Some),
        1 => "sha25[6é€]?[=é]?\\PC{0,8}".prop_map(Some),
    ]
}

/// A hex digit with a different value (case aside) from `c`.
fn other_hex_digit(c: u8, pick: u8) -> u8 {
    let value = (c as char).to_digit(16).unwrap_or(0);
    let other = (value + 1 + u32::from(pick) % 15) % 16;
    b"0123456789abcdef"[other as usize]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn signature_verify_never_panics_on_arbitrary_input(
        secret in prop::collection::vec(any::<u8>(), 0..80),
        body in prop::collection::vec(any::<u8>(), 0..512),
        header in signature_header(),
    ) {
        let valid = signature::verify(&secret, &body, header.as_deref());
        if secret.is_empty() || header.is_none() {
            prop_assert!(!valid);
        }
    }

    #[test]
    fn signature_what_sign_produces_verifies(
        secret in prop::collection::vec(any::<u8>(), 1..80),
        body in prop::collection::vec(any::<u8>(), 0..2048),
        left in padding(),
        right in padding(),
        upper in any::<bool>(),
    ) {
        let header = signature::sign(&secret, &body);
        prop_assert!(header.starts_with("sha256=") && header.len() == 7 + 64, "{header}");
        prop_assert!(signature::verify(&secret, &body, Some(&header)));
        let respelled = if upper { header.to_uppercase() } else { header.clone() };
        let padded = format!("{left}{respelled}{right}");
        prop_assert!(signature::verify(&secret, &body, Some(&padded)), "{:?}", padded);
        prop_assert!(!signature::verify(b"", &body, Some(&signature::sign(b"", &body))));
    }

    #[test]
    fn signature_any_single_byte_change_of_the_body_does_not_verify(
        secret in prop::collection::vec(any::<u8>(), 1..80),
        body in prop::collection::vec(any::<u8>(), 1..2048),
        at in any::<Index>(),
        flip in 1u8..=255,
    ) {
        let header = signature::sign(&secret, &body);
        let mut changed = body.clone();
        let i = at.index(changed.len());
        changed[i] ^= flip;
        prop_assert!(!signature::verify(&secret, &changed, Some(&header)));
    }

    #[test]
    fn signature_any_change_of_the_digest_does_not_verify(
        secret in prop::collection::vec(any::<u8>(), 1..80),
        body in prop::collection::vec(any::<u8>(), 0..512),
        other_secret in prop::collection::vec(any::<u8>(), 1..80),
        at in any::<Index>(),
        pick in any::<u8>(),
    ) {
        let header = signature::sign(&secret, &body);
        let mut bytes = header.clone().into_bytes();
        let i = 7 + at.index(64);
        bytes[i] = other_hex_digit(bytes[i], pick);
        let changed = String::from_utf8(bytes).map_err(fail)?;
        prop_assert!(!signature::verify(&secret, &body, Some(&changed)), "{changed}");
        prop_assert!(!signature::verify(&secret, &body, Some(&header[..header.len() - 1])));
        let longer = format!("{header}0");
        prop_assert!(!signature::verify(&secret, &body, Some(&longer)), "{}", longer);
        if other_secret != secret {
            prop_assert!(!signature::verify(&other_secret, &body, Some(&header)));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Guest tokens
// ---------------------------------------------------------------------------------------------

fn guest_token_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9+\\- ]{0,22}\\.[0-9+\\- ]{0,22}\\.[0-9a-fA-F]{0,40}(\\.[a-z0-9]{0,4})?",
        "\\PC{0,8}\\.\\PC{0,8}\\.\\PC{0,40}",
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn guest_token_verify_never_panics_and_only_accepts_canonical_tokens(
        secret in prop::collection::vec(any::<u8>(), 0..48),
        token in guest_token_text(),
    ) {
        if let Some(claims) = guest_token::verify(&secret, &token) {
            prop_assert!(!secret.is_empty());
            prop_assert_eq!(guest_token::issue(&secret, claims.stay_id, claims.guest_id), token.trim());
        }
    }

    #[test]
    fn guest_token_what_issue_produces_verifies(
        secret in prop::collection::vec(any::<u8>(), 1..64),
        stay_id in any::<u64>(),
        guest_id in any::<u64>(),
        left in padding(),
        right in padding(),
    ) {
        let token = guest_token::issue(&secret, stay_id, guest_id);
        let claims = guest_token::GuestTokenClaims { stay_id, guest_id };
        prop_assert_eq!(guest_token::verify(&secret, &token), Some(claims));
        prop_assert_eq!(guest_token::verify(&secret, &format!("{left}{token}{right}")), Some(claims));
        prop_assert_eq!(guest_token::verify(b"", &guest_token::issue(b"", stay_id, guest_id)), None);
    }

    #[test]
    fn guest_token_any_single_byte_change_does_not_verify(
        secret in prop::collection::vec(any::<u8>(), 1..64),
        stay_id in any::<u64>(),
        guest_id in any::<u64>(),
        at in any::<Index>(),
        shift in 1u8..128,
        other_secret in prop::collection::vec(any::<u8>(), 1..64),
    ) {
        let token = guest_token::issue(&secret, stay_id, guest_id);
        let mut bytes = token.clone().into_bytes();
        let i = at.index(bytes.len());
        // Tokens are ASCII: shifting within 0..128 gives another ASCII byte, never the same one.
        bytes[i] = (bytes[i] + shift) % 128;
        let changed = String::from_utf8(bytes).map_err(fail)?;
        prop_assert_eq!(guest_token::verify(&secret, &changed), None, "{:?}", changed);
        if other_secret != secret {
            prop_assert_eq!(guest_token::verify(&other_secret, &token), None);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Staff JWTs
// ---------------------------------------------------------------------------------------------

const JWT_SECRET: &str = "property-jwt-secret";
const RSA_PUBLIC: &str = include_str!("../testdata/keys/rsa-public.pem");
const EC_PUBLIC: &str = include_str!("../testdata/keys/ec-public.pem");

/// Longest token the verifier decodes (docs/api.md §3: tokens over 8 KB are refused).
const MAX_TOKEN_BYTES: usize = 8 * 1024;

fn verifiers() -> Result<&'static [JwtVerifier; 3], TestCaseError> {
    static VERIFIERS: OnceLock<Result<[JwtVerifier; 3], String>> = OnceLock::new();
    VERIFIERS
        .get_or_init(|| {
            let build = |alg, key| JwtVerifier::new(alg, key, None, None).map_err(|e| e.to_string());
            Ok([
                build(JwtAlgorithm::Hs256, JWT_SECRET)?,
                build(JwtAlgorithm::Rs256, RSA_PUBLIC)?,
                build(JwtAlgorithm::Es256, EC_PUBLIC)?,
            ])
        })
        .as_ref()
        .map_err(fail)
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A token-shaped string: three dot-separated base64url chunks, the first often a real header.
fn jwt_like() -> impl Strategy<Value = String> {
    let header = prop_oneof![
        2 => "[A-Za-z0-9_-]{0,60}",
        3 => select(vec![
            r#"{"alg":"HS256","typ":"JWT"}"#, r#"{"alg":"HS256"}"#, r#"{"alg":"RS256"}"#, r#"{"alg":"ES256"}"#,
            r#"{"alg":"none"}"#, r#"{"alg":"HS384"}"#, r#"{"typ":"JWT"}"#, r#"{"alg":5}"#, "[]", "null", "",
        ]).prop_map(|h| b64(h.as_bytes())),
        1 => json_value().prop_map(|v| b64(v.to_string().as_bytes())),
    ];
    let claims = prop_oneof![
        2 => "[A-Za-z0-9_-]{0,80}",
        2 => json_value().prop_map(|v| b64(v.to_string().as_bytes())),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(|b| b64(&b)),
    ];
    let signature = prop_oneof![
        2 => "[A-Za-z0-9_-]{0,90}",
        1 => prop::collection::vec(any::<u8>(), 0..300).prop_map(|b| b64(&b)),
        1 => "\\PC{0,10}",
    ];
    (header, claims, signature, select(vec![".", ".", ".", "..", ""]))
        .prop_map(|(h, c, s, dot)| format!("{h}.{c}{dot}{s}"))
}

/// Strings up to ~100 KB: a random chunk repeated, optionally after a real token.
fn very_long() -> impl Strategy<Value = String> {
    ("\\PC{1,64}", 1usize..1600, any::<bool>()).prop_map(|(chunk, times, prefixed)| {
        let filler = chunk.repeat(times);
        if prefixed { format!("eyJhbGciOiJIUzI1NiJ9.{filler}") } else { filler }
    })
}

/// A claim member of a generated claims set.
#[derive(Debug, Clone)]
enum Claim<T> {
    Absent,
    Present(T),
}

#[derive(Debug, Clone)]
struct ClaimsCase {
    user_id: Claim<Value>,
    token_type: Claim<Value>,
    /// Seconds from now (`Ok`), or a non-numeric value.
    exp: Claim<Result<i64, Value>>,
    /// Seconds from now: in the past, within the 30 s leeway, or well beyond it.
    nbf: Claim<i64>,
    jti: Claim<Value>,
    extra: Vec<(String, Value)>,
}

fn claim<T: std::fmt::Debug + Clone>(present: impl Strategy<Value = T>) -> impl Strategy<Value = Claim<T>> {
    prop_oneof![1 => Just(Claim::Absent), 12 => present.prop_map(Claim::Present)]
}

fn claims_case() -> impl Strategy<Value = ClaimsCase> {
    // Each claim is usually valid, so that one broken rule at a time is common.
    let user_id = claim(prop_oneof![
        6 => "[a-z0-9]{1,12}".prop_map(Value::String),
        3 => "\\PC{0,20}".prop_map(Value::String),
        1 => select(vec!["", "  ", " 12 "]).prop_map(|s| json!(s)),
        3 => any::<u64>().prop_map(Value::from),
        1 => json_leaf(),
    ]);
    let token_type = claim(prop_oneof![
        10 => Just(json!("access")),
        1 => select(vec!["refresh", "Access", "access ", ""]).prop_map(|s| json!(s)),
        1 => json_leaf(),
    ]);
    let exp = claim(prop_oneof![
        10 => (60i64..1_000_000).prop_map(Ok::<i64, Value>),
        2 => (-1_000_000i64..-120).prop_map(Ok::<i64, Value>),
        1 => select(vec![json!("tomorrow"), json!(true), json!([1]), json!({})]).prop_map(Err::<i64, Value>),
    ]);
    let nbf = prop_oneof![
        7 => Just(Claim::Absent),
        1 => (-1_000_000i64..0).prop_map(Claim::Present),
        1 => (1i64..=20).prop_map(Claim::Present),
        1 => (120i64..1_000_000).prop_map(Claim::Present),
    ];
    let jti = claim(prop_oneof![3 => "[a-f0-9]{0,32}".prop_map(Value::String), 1 => json_leaf()]);
    let extra = prop::collection::vec(("x_[a-z]{0,6}", json_value()), 0..3);
    (user_id, token_type, exp, nbf, jti, extra).prop_map(|(user_id, token_type, exp, nbf, jti, extra)| ClaimsCase {
        user_id,
        token_type,
        exp,
        nbf,
        jti,
        extra,
    })
}

impl ClaimsCase {
    fn to_json(&self, now: i64) -> Value {
        let mut claims = Map::new();
        for (key, value) in &self.extra {
            claims.insert(key.clone(), value.clone());
        }
        let mut set = |key: &str, value: Option<Value>| {
            if let Some(value) = value {
                claims.insert(key.to_owned(), value);
            }
        };
        set("iat", Some(json!(now)));
        set("user_id", if let Claim::Present(v) = &self.user_id { Some(v.clone()) } else { None });
        set("token_type", if let Claim::Present(v) = &self.token_type { Some(v.clone()) } else { None });
        set("jti", if let Claim::Present(v) = &self.jti { Some(v.clone()) } else { None });
        set("nbf", if let Claim::Present(offset) = &self.nbf { Some(json!(now + offset)) } else { None });
        set(
            "exp",
            match &self.exp {
                Claim::Present(Ok(offset)) => Some(json!(now + offset)),
                Claim::Present(Err(v)) => Some(v.clone()),
                Claim::Absent => None,
            },
        );
        Value::Object(claims)
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn jwt_verify_never_panics_on_arbitrary_strings(
        token in prop_oneof![any::<String>(), "\\PC{0,200}", jwt_like()],
    ) {
        for verifier in verifiers()? {
            let _ = verifier.verify(&token);
        }
        if token.trim().is_empty() {
            prop_assert_eq!(verifiers()?[0].verify(&token), Err(TokenError::Malformed));
        }
    }

    #[test]
    fn jwt_verify_refuses_tokens_over_8_kb_as_malformed(token in very_long()) {
        for verifier in verifiers()? {
            let answer = verifier.verify(&token);
            if token.trim().len() > MAX_TOKEN_BYTES {
                prop_assert_eq!(answer, Err(TokenError::Malformed));
            } else {
                prop_assert!(answer.is_err());
            }
        }
    }

    #[test]
    fn jwt_tokens_from_issue_hs256_verify(
        secret in "\\PC{1,40}",
        user_id in "\\PC{0,24}",
        ttl in 60i64..10_000_000,
    ) {
        let token = jwt::issue_hs256(&secret, &user_id, ttl).map_err(fail)?;
        let verifier = JwtVerifier::new(JwtAlgorithm::Hs256, &secret, None, None).map_err(fail)?;
        let answer = verifier.verify(&token);
        if user_id.trim().is_empty() {
            prop_assert_eq!(answer, Err(TokenError::MissingUserId));
        } else {
            let verified = answer.map_err(fail)?;
            prop_assert_eq!(verified.user_id, user_id.trim());
            let jti = verified.jti.unwrap_or_default();
            prop_assert!(jti.len() == 32 && jti.bytes().all(|b| b.is_ascii_hexdigit()), "jti {jti:?}");
            let expected_exp = chrono::Utc::now().timestamp() + ttl;
            prop_assert!((verified.expires_at - expected_exp).abs() <= 5, "exp {}", verified.expires_at);
            let padded = format!("  {token}\n");
            prop_assert!(verifier.verify(&padded).is_ok(), "{:?}", padded);
        }
        // Another secret never accepts it.
        let other = JwtVerifier::new(JwtAlgorithm::Hs256, &format!("{secret}x"), None, None).map_err(fail)?;
        prop_assert_eq!(other.verify(&token), Err(TokenError::Signature));
        // Nor do the public-key verifiers.
        prop_assert_eq!(verifiers()?[1].verify(&token), Err(TokenError::Algorithm));
        prop_assert_eq!(verifiers()?[2].verify(&token), Err(TokenError::Algorithm));
    }

    #[test]
    fn jwt_any_single_byte_change_of_an_issued_token_does_not_verify(
        user_id in "[a-z0-9]{1,12}",
        at in any::<Index>(),
        shift in 1u8..128,
    ) {
        let token = jwt::issue_hs256(JWT_SECRET, &user_id, 3600).map_err(fail)?;
        prop_assert!(verifiers()?[0].verify(&token).is_ok());
        let mut bytes = token.clone().into_bytes();
        let i = at.index(bytes.len());
        // Tokens are ASCII: shifting within 0..128 gives another ASCII byte, never the same one.
        bytes[i] = (bytes[i] + shift) % 128;
        let replacement = bytes[i];
        let changed = String::from_utf8(bytes).map_err(fail)?;
        let answer = verifiers()?[0].verify(&changed);
        prop_assert!(answer.is_err(), "byte {i} set to {replacement:#x} still verifies: {changed}");
    }

    #[test]
    fn jwt_signed_claims_are_accepted_exactly_as_documented(case in claims_case()) {
        let now = chrono::Utc::now().timestamp();
        let claims = case.to_json(now);
        lobbybee::auth::jwt_crypto::install();
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
        )
        .map_err(fail)?;
        let answer = verifiers()?[0].verify(&token);

        // The rules of docs/api.md §3, each with the refusal it gives. A non-numeric `exp` is
        // refused without the contract naming the reason (`None`).
        let user_id = match &case.user_id {
            Claim::Present(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            Claim::Present(Value::Number(n)) => n.as_u64().map(|n| n.to_string()),
            _ => None,
        };
        let mut broken: Vec<Option<TokenError>> = Vec::new();
        match &case.exp {
            Claim::Present(Ok(offset)) if *offset > 0 => {}
            Claim::Present(Ok(_)) | Claim::Absent => broken.push(Some(TokenError::Expired)),
            Claim::Present(Err(_)) => broken.push(None),
        }
        if matches!(case.nbf, Claim::Present(offset) if offset > 30) {
            broken.push(Some(TokenError::NotYetValid));
        }
        if !matches!(&case.token_type, Claim::Present(v) if v == "access") {
            broken.push(Some(TokenError::NotAccessToken));
        }
        if user_id.is_none() {
            broken.push(Some(TokenError::MissingUserId));
        }
        match (&answer, broken.as_slice(), &user_id) {
            (Ok(verified), [], Some(user_id)) => {
                prop_assert_eq!(&verified.user_id, user_id);
                prop_assert_eq!(verified.jti.as_deref(), claims.get("jti").and_then(Value::as_str));
                prop_assert_eq!(Some(verified.expires_at), claims.get("exp").and_then(Value::as_i64));
            }
            (Ok(verified), ..) => prop_assert!(false, "accepted {verified:?}, breaking {broken:?}: {claims}"),
            (Err(e), [], _) => prop_assert!(false, "refused ({e:?}) {claims}"),
            // When exactly one rule is broken, the refusal names it.
            (Err(e), [Some(only)], _) => prop_assert_eq!(e, only, "{}", claims),
            (Err(_), ..) => {}
        }
    }

    #[test]
    fn jwt_signed_non_object_claims_are_malformed(
        claims in json_value().prop_map(not_an_object),
    ) {
        lobbybee::auth::jwt_crypto::install();
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
        )
        .map_err(fail)?;
        prop_assert_eq!(verifiers()?[0].verify(&token), Err(TokenError::Malformed));
    }
}

// ---------------------------------------------------------------------------------------------
// REST helpers: percent-decoding, multipart bodies, bearer headers, reopen buttons, media keys
// ---------------------------------------------------------------------------------------------

/// Every byte of `s` as `%XX`, hex digits in upper or lower case.
fn percent_encode_all(s: &str, upper: bool) -> String {
    s.bytes().map(|b| if upper { format!("%{b:02X}") } else { format!("%{b:02x}") }).collect()
}

#[derive(Debug, Clone)]
struct PartSpec {
    name: String,
    filename: Option<String>,
    content_type: Option<String>,
    data: Vec<u8>,
}

fn part_spec() -> impl Strategy<Value = PartSpec> {
    (
        "[a-z_]{1,12}",
        prop::option::of("[A-Za-z0-9 ._-]{1,20}"),
        prop::option::of(select(vec!["image/png", "text/plain", "application/pdf", " video/mp4 "])),
        prop::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(|(name, filename, content_type, data)| PartSpec {
            name,
            filename,
            content_type: content_type.map(str::to_owned),
            data,
        })
}

fn multipart_body(boundary: &str, preamble: &[u8], parts: &[PartSpec]) -> Vec<u8> {
    let mut body = preamble.to_vec();
    for part in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let mut disposition = format!("Content-Disposition: form-data; name=\"{}\"", part.name);
        if let Some(filename) = &part.filename {
            disposition.push_str(&format!("; filename=\"{filename}\""));
        }
        body.extend_from_slice(disposition.as_bytes());
        if let Some(content_type) = &part.content_type {
            body.extend_from_slice(format!("\r\nContent-Type: {content_type}").as_bytes());
        }
        body.extend_from_slice(b"\r\n\r\n");
        body.extend_from_slice(&part.data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body
}

fn occurrences(haystack: &[u8], needle: &[u8]) -> usize {
    haystack.windows(needle.len()).filter(|w| *w == needle).count()
}

/// Multipart-looking bytes: delimiters, line ends, headers and noise in random order.
fn multipart_soup() -> impl Strategy<Value = (String, Vec<u8>)> {
    ("[A-Za-z0-9_-]{1,12}", prop::collection::vec(any::<u8>(), 0..16)).prop_flat_map(|(boundary, noise)| {
        let fragments: Vec<Vec<u8>> = vec![
            format!("--{boundary}").into_bytes(),
            format!("--{boundary}--").into_bytes(),
            b"--".to_vec(),
            b"\r\n".to_vec(),
            b"\r\n\r\n".to_vec(),
            b"Content-Disposition: form-data; name=\"file\"; filename=\"a.png\"".to_vec(),
            b"Content-Type: image/png".to_vec(),
            b"no colon here".to_vec(),
            b":".to_vec(),
            vec![0xff, 0xfe],
            noise,
        ];
        let content_type = format!("multipart/form-data; boundary={boundary}");
        (Just(content_type), prop::collection::vec(select(fragments), 0..30).prop_map(|fs| fs.concat()))
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn percent_decode_never_panics_and_never_grows(segment in prop_oneof![any::<String>(), "[%0-9a-fA-FgG]{0,40}"]) {
        let decoded = percent_decode(&segment);
        prop_assert!(decoded.len() <= segment.len(), "{segment:?} -> {decoded:?}");
        if !segment.contains('%') {
            prop_assert_eq!(decoded, segment);
        }
    }

    #[test]
    fn percent_decode_inverts_percent_encoding(text in any::<String>(), upper in any::<bool>()) {
        prop_assert_eq!(percent_decode(&percent_encode_all(&text, upper)), text);
    }

    #[test]
    fn percent_encoded_department_names_parse_to_the_same_department(
        d in select(Department::ALL.to_vec()),
        upper in any::<bool>(),
    ) {
        prop_assert_eq!(Department::parse(&percent_decode(&percent_encode_all(d.as_str(), upper))), Ok(d));
    }

    #[test]
    fn multipart_parse_never_panics_on_arbitrary_input(
        content_type in prop_oneof![
            any::<String>(),
            "multipart/form-data; ?boundary=\"?\\PC{0,12}\"?",
        ],
        body in prop::collection::vec(any::<u8>(), 0..1024),
    ) {
        let _ = parse_multipart(&content_type, &body);
    }

    #[test]
    fn multipart_parse_never_panics_on_multipart_looking_bodies(soup in multipart_soup()) {
        let (content_type, body) = soup;
        if let Some(parts) = parse_multipart(&content_type, &body) {
            let total: usize = parts.iter().map(|p| p.data.len()).sum();
            prop_assert!(total <= body.len());
        }
    }

    #[test]
    fn multipart_well_formed_bodies_round_trip(
        boundary in "[A-Za-z0-9_-]{1,40}",
        quoted in any::<bool>(),
        preamble in prop::collection::vec(any::<u8>(), 0..40),
        parts in prop::collection::vec(part_spec(), 0..5),
    ) {
        let body = multipart_body(&boundary, &preamble, &parts);
        // The delimiter must occur only where the body builder put it.
        prop_assume!(occurrences(&body, format!("--{boundary}").as_bytes()) == parts.len() + 1);
        let content_type = if quoted {
            format!("multipart/form-data; boundary=\"{boundary}\"")
        } else {
            format!("multipart/form-data; boundary={boundary}")
        };
        let expected: Vec<Part> = parts
            .iter()
            .map(|p| Part {
                name: p.name.clone(),
                filename: p.filename.clone(),
                content_type: p.content_type.as_ref().map(|t| t.trim().to_owned()),
                data: p.data.clone(),
            })
            .collect();
        prop_assert_eq!(parse_multipart(&content_type, &body), Some(expected));
    }

    #[test]
    fn bearer_never_panics_and_answers_the_trimmed_token(
        header in prop::option::of(prop_oneof![
            any::<String>(),
            ("(Bearer|bearer|BEARER|Basic|Token)", padding(), "\\PC{0,30}").prop_map(|(s, p, t)| format!("{s} {p}{t}")),
        ]),
    ) {
        let token = bearer(header.as_deref());
        if let Some(token) = token {
            prop_assert!(!token.is_empty() && token.trim() == token, "{token:?}");
        }
        if let Some(rest) = header.as_deref().map(str::trim_start).and_then(|h| h.get(..7))
            && rest.eq_ignore_ascii_case("bearer ")
        {
            let expected = header.as_deref().map(str::trim_start).and_then(|h| h.get(7..)).map(str::trim);
            prop_assert_eq!(token, expected.filter(|t| !t.is_empty()));
        }
    }

    #[test]
    fn reopen_button_ids_round_trip_and_never_name_an_invalid_id(
        id in 1..=MAX_ID,
        other in prop_oneof![any::<String>(), "accept_reopen_conversation_conv#\\PC{0,24}"],
    ) {
        prop_assert_eq!(lobbybee::reopen::parse_button_id(&lobbybee::reopen::button_id(id)), Some(id));
        if let Some(named) = lobbybee::reopen::parse_button_id(&other) {
            prop_assert!((1..=MAX_ID).contains(&named), "{other:?} -> {named}");
        }
    }

    #[test]
    fn media_keys_name_their_hotel_and_conversation(
        hotel in "[A-Za-z0-9_-]{1,20}",
        conversation in 1..=MAX_ID,
        object in "[a-f0-9]{32}",
        name in "[A-Za-z0-9._-]{1,30}",
        other in any::<String>(),
    ) {
        let upload = format!("uploads/{hotel}/{conversation}/{object}/{name}");
        prop_assert_eq!(lobbybee::media::key_owner(&upload), Some((hotel.as_str(), conversation)));
        let guest = format!("whatsapp/{hotel}/{conversation}/{name}");
        prop_assert_eq!(lobbybee::media::key_owner(&guest), Some((hotel.as_str(), conversation)));
        let _ = lobbybee::media::key_owner(&other);
    }
}

// ---------------------------------------------------------------------------------------------
// The guest webhook
// ---------------------------------------------------------------------------------------------

/// The real webhook handler with AWS clients aimed at a closed local port (no retries, short
/// timeouts): a path that reaches AWS fails fast, and every AWS call is recorded.
mod webhook_harness {
    use super::*;
    use aws_config::retry::RetryConfig;
    use aws_config::timeout::TimeoutConfig;
    use aws_config::{BehaviorVersion, Region, SdkConfig};
    use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};
    use lambda_http::Body;
    use lambda_http::http::{HeaderValue, Request};
    use lobbybee::app::App;
    use lobbybee::calls::{CallLog, FUNCTION};
    use lobbybee::config::{Config, Need};

    pub const WEBHOOK_SECRET: &str = "property-webhook-secret";
    pub const APP_SECRET: &str = "property-app-secret";

    /// What the handler answered, and how many distinct AWS calls it attempted.
    #[derive(Debug)]
    pub struct Answer {
        pub status: u16,
        pub body: Value,
        pub aws_calls: usize,
    }

    struct Harness {
        runtime: tokio::runtime::Runtime,
        sdk: SdkConfig,
        config: Config,
    }

    fn harness() -> Result<&'static Harness, TestCaseError> {
        static HARNESS: OnceLock<Result<Harness, String>> = OnceLock::new();
        HARNESS
            .get_or_init(|| {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())?;
                let sdk = SdkConfig::builder()
                    .behavior_version(BehaviorVersion::latest())
                    .http_client(lobbybee::app::aws_http_client())
                    .region(Region::new("us-east-1"))
                    .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                        "AKIDPROPERTIES",
                        "property-test-secret",
                        None,
                        None,
                        "properties",
                    )))
                    .endpoint_url("http://127.0.0.1:1")
                    .retry_config(RetryConfig::disabled())
                    .timeout_config(
                        TimeoutConfig::builder()
                            .connect_timeout(std::time::Duration::from_millis(500))
                            .operation_timeout(std::time::Duration::from_secs(2))
                            .build(),
                    )
                    .build();
                let vars = [
                    ("TABLE_NAME", "properties-table"),
                    ("WEBHOOK_SECRET", WEBHOOK_SECRET),
                    ("WHATSAPP_APP_SECRET", APP_SECRET),
                    ("WHATSAPP_VERIFY_TOKEN", "property-verify-token"),
                    ("DEFAULT_COUNTRY_CODE", "1"),
                ];
                let config = Config::from_lookup(&[Need::WebhookSecrets], |key| {
                    vars.iter().find(|(k, _)| *k == key).map(|(_, v)| (*v).to_owned())
                })
                .map_err(|e| e.to_string())?;
                Ok(Harness { runtime, sdk, config })
            })
            .as_ref()
            .map_err(fail)
    }

    /// POSTs `body` with `headers` (values that are not valid header text are left out).
    pub fn post(body: Vec<u8>, headers: &[(&str, String)]) -> Result<Answer, TestCaseError> {
        let harness = harness()?;
        let mut request = Request::builder().method("POST").uri("https://webhook.example/");
        for (name, value) in headers {
            if let Ok(value) = HeaderValue::from_str(value) {
                request = request.header(*name, value);
            }
        }
        let request = request.body(Body::Binary(body)).map_err(fail)?;
        let log = Arc::new(CallLog::default());
        let app = App::recording(harness.config.clone(), &harness.sdk, &log);
        let response = harness
            .runtime
            .block_on(FUNCTION.scope("webhook", async { lobbybee::webhook::handle(&app, request).await }));
        let bytes: &[u8] = match response.body() {
            Body::Text(text) => text.as_bytes(),
            Body::Binary(bytes) => bytes,
            _ => &[],
        };
        let body = serde_json::from_slice(bytes).map_err(|e| fail(format!("answer is not JSON ({e}): {bytes:?}")))?;
        Ok(Answer { status: response.status().as_u16(), body, aws_calls: log.calls().len() })
    }
}

use webhook_harness::{APP_SECRET, WEBHOOK_SECRET};

/// How a generated request fails to be signed.
#[derive(Debug, Clone)]
enum Forgery {
    NoHeader,
    Garbage(String),
    OtherSecret(Vec<u8>),
    OtherBody(Vec<u8>),
    SwappedSecrets,
    Truncated,
}

fn forgery() -> impl Strategy<Value = Forgery> {
    prop_oneof![
        Just(Forgery::NoHeader),
        signature_header().prop_map(|h| Forgery::Garbage(h.unwrap_or_default())),
        prop::collection::vec(any::<u8>(), 1..32).prop_map(Forgery::OtherSecret),
        prop::collection::vec(any::<u8>(), 0..64).prop_map(Forgery::OtherBody),
        Just(Forgery::SwappedSecrets),
        Just(Forgery::Truncated),
    ]
}

impl Forgery {
    /// The signature headers for `body` (both formats' headers, each wrong).
    fn headers(&self, body: &[u8]) -> Vec<(&'static str, String)> {
        let both = |simple: String, meta: String| vec![("x-signature-256", simple), ("x-hub-signature-256", meta)];
        match self {
            Forgery::NoHeader => Vec::new(),
            Forgery::Garbage(value) => both(value.clone(), value.clone()),
            Forgery::OtherSecret(secret) => {
                let secret = if secret == WEBHOOK_SECRET.as_bytes() || secret == APP_SECRET.as_bytes() {
                    b"not-the-secret".to_vec()
                } else {
                    secret.clone()
                };
                both(signature::sign(&secret, body), signature::sign(&secret, body))
            }
            Forgery::OtherBody(other) => {
                let mut other = other.clone();
                if other.as_slice() == body {
                    other.push(b' ');
                }
                both(signature::sign(WEBHOOK_SECRET.as_bytes(), &other), signature::sign(APP_SECRET.as_bytes(), &other))
            }
            Forgery::SwappedSecrets => {
                both(signature::sign(APP_SECRET.as_bytes(), body), signature::sign(WEBHOOK_SECRET.as_bytes(), body))
            }
            Forgery::Truncated => {
                let mut simple = signature::sign(WEBHOOK_SECRET.as_bytes(), body);
                let mut meta = signature::sign(APP_SECRET.as_bytes(), body);
                simple.pop();
                meta.pop();
                both(simple, meta)
            }
        }
    }
}

fn content_type() -> impl Strategy<Value = Option<&'static str>> {
    select(vec![
        None,
        Some("application/json"),
        Some("application/json; charset=utf-8"),
        Some("application/x-www-form-urlencoded"),
        Some("Application/X-WWW-Form-Urlencoded; charset=UTF-8"),
        Some("text/plain"),
    ])
}

/// A simple-format member: absent, or a JSON value.
type Member = Option<Value>;

/// A simple-format body whose `whatsapp_number` is never valid (so the request is refused
/// before the store is asked for the guest), every other member random.
#[derive(Debug, Clone)]
struct SimpleCase {
    whatsapp_number: Member,
    message: Member,
    message_type: Member,
    media_url: Member,
    media_filename: Member,
    department: Member,
    conversation_id: Option<IdCase>,
    provider_message_id: Member,
    hotel_id: Member,
    extra: Option<(String, Value)>,
}

fn member(present: impl Strategy<Value = Value>) -> impl Strategy<Value = Member> {
    prop_oneof![2 => Just(None), 1 => Just(Some(Value::Null)), 6 => present.prop_map(Some)]
}

/// Arbitrary JSON values other than strings and null (a string becomes a one-item list, null
/// becomes `false`).
fn non_string_value() -> impl Strategy<Value = Value> {
    json_value().prop_map(|v| match v {
        Value::String(s) => json!([s]),
        Value::Null => json!(false),
        other => other,
    })
}

/// `value`, with a list replaced by an object keyed by position.
fn not_a_list(value: Value) -> Value {
    match value {
        Value::Array(items) => Value::Object(items.into_iter().enumerate().map(|(i, v)| (i.to_string(), v)).collect()),
        other => other,
    }
}

fn text_member() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => "\\PC{0,16}".prop_map(Value::String),
        1 => non_string_value(),
        1 => plain_text(NAME_CHARS - 2..NAME_CHARS + 3).prop_map(Value::String),
    ]
}

fn simple_case() -> impl Strategy<Value = SimpleCase> {
    let invalid_number = prop_oneof![
        3 => "[+0-9 ]{0,6}[a-zA-Z][+0-9 a-z]{0,10}".prop_map(Value::String),
        2 => "\\+?[0-9]{0,7}".prop_map(Value::String),
        1 => "\\+0[0-9]{7,14}".prop_map(Value::String),
        1 => "\\+[1-9][0-9]{15,19}".prop_map(Value::String),
        1 => "[1-9][0-9]{15,19}".prop_map(Value::String),
        1 => select(vec!["", "   ", "+1 800 FLOWERS", "1650+5551234", "++16505551234"]).prop_map(|s| json!(s)),
        2 => non_string_value(),
    ];
    let message = prop_oneof![
        4 => "\\PC{0,40}".prop_map(Value::String),
        1 => select(vec!["", "   "]).prop_map(|s| json!(s)),
        2 => long_text().prop_map(Value::String),
        1 => non_string_value(),
    ];
    let message_type = prop_oneof![
        2 => Just(json!("text")),
        3 => select(MEDIA_TYPES.to_vec()).prop_map(|s| json!(s)),
        2 => select(vec!["system", " system ", "", "IMAGE", "sticker"]).prop_map(|s| json!(s)),
        1 => non_string_value(),
    ];
    let media_url = prop_oneof![
        3 => Just(json!("https://bridge.example/a.jpg")),
        1 => select(vec!["", "  "]).prop_map(|s| json!(s)),
        1 => non_string_value(),
        1 => (URL_CHARS - 20..URL_CHARS + 20).prop_map(|n| json!(format!("https://x/{}", "a".repeat(n)))),
    ];
    let media_filename = prop_oneof![
        2 => Just(json!("a.pdf")),
        1 => non_string_value(),
        1 => plain_text(NAME_CHARS - 2..NAME_CHARS + 3).prop_map(Value::String),
    ];
    let department = prop_oneof![
        2 => select(vec!["Housekeeping", "room_service", "CAFÉ", "restaurant", "  "]).prop_map(|s| json!(s)),
        2 => select(vec!["Spa", "room", "Receptions", "cafés"]).prop_map(|s| json!(s)),
        1 => "\\PC{0,12}".prop_map(Value::String),
        1 => non_string_value(),
    ];
    (
        (member(invalid_number), member(message), member(message_type), member(media_url), member(media_filename)),
        (
            member(department),
            prop::option::of(id_case()),
            member(text_member()),
            member(text_member()),
            prop::option::of(("x_[a-z]{0,6}", json_value())),
        ),
    )
        .prop_map(
            |(
                (whatsapp_number, message, message_type, media_url, media_filename),
                (department, conversation_id, provider_message_id, hotel_id, extra),
            )| SimpleCase {
                whatsapp_number,
                message,
                message_type,
                media_url,
                media_filename,
                department,
                conversation_id,
                provider_message_id,
                hotel_id,
                extra,
            },
        )
}

impl SimpleCase {
    fn body(&self) -> Result<Map<String, Value>, TestCaseError> {
        let mut body = Map::new();
        if let Some((key, value)) = &self.extra {
            body.insert(key.clone(), value.clone());
        }
        let members = [
            ("whatsapp_number", &self.whatsapp_number),
            ("message", &self.message),
            ("message_type", &self.message_type),
            ("media_url", &self.media_url),
            ("media_filename", &self.media_filename),
            ("department", &self.department),
            ("provider_message_id", &self.provider_message_id),
            ("hotel_id", &self.hotel_id),
        ];
        for (key, value) in members {
            if let Some(value) = value {
                body.insert(key.to_owned(), value.clone());
            }
        }
        if let Some(id) = &self.conversation_id {
            body.insert("conversation_id".into(), serde_json::from_str(&id.json).map_err(fail)?);
        }
        Ok(body)
    }

    /// The validation messages docs/api.md §6 (and the REST conventions of §4) promise, per
    /// member: `Some(messages)` (empty: no complaint about that member) or `None` when the
    /// contract leaves the exact wording open.
    fn expected_details(&self) -> BTreeMap<&'static str, Option<Vec<String>>> {
        let string = |m: &Member| m.as_ref().and_then(Value::as_str).map(str::to_owned);
        let absent = |m: &Member| m.as_ref().is_none_or(Value::is_null);
        let mut expected = BTreeMap::new();

        expected.insert(
            "whatsapp_number",
            Some(vec![match &self.whatsapp_number {
                None | Some(Value::Null) => REQUIRED.to_owned(),
                Some(Value::String(_)) => "Invalid WhatsApp number format".to_owned(),
                Some(_) => "Not a valid string.".to_owned(),
            }]),
        );

        // `Ok(kind)`, `Err(messages)` for a refused kind, `None` when the wording is left open.
        let kind: Option<Result<&'static str, Vec<String>>> = match string(&self.message_type).as_deref().map(str::trim)
        {
            None | Some("") | Some("text") => Some(Ok("text")),
            Some("system") => Some(Err(vec!["Guests cannot send system messages".to_owned()])),
            Some(k) => MEDIA_TYPES.iter().find(|m| **m == k).map(|m| Ok(*m)),
        };
        let message_type_is_string = absent(&self.message_type) || string(&self.message_type).is_some();
        expected.insert(
            "message_type",
            match (&kind, message_type_is_string) {
                (Some(Ok(_)), true) => Some(Vec::new()),
                (Some(Err(messages)), true) => Some(messages.clone()),
                _ => None,
            },
        );

        let media_url_given = string(&self.media_url).is_some_and(|u| !u.trim().is_empty());
        let media_url_is_string = absent(&self.media_url) || string(&self.media_url).is_some();
        let media_kind = match &kind {
            Some(Ok(k)) if *k != "text" => Some(*k),
            _ => None,
        };
        expected.insert(
            "media_url",
            // A URL over the bound is refused as such (it was given: no "required" on top).
            match (media_kind, media_url_given, media_url_is_string) {
                (_, _, false) => None,
                _ if string(&self.media_url).is_some_and(|u| u.chars().count() > URL_CHARS) => {
                    Some(vec![too_long(URL_CHARS)])
                }
                (Some(k), false, true) => Some(vec![format!("media_url is required for {k} messages")]),
                _ => Some(Vec::new()),
            },
        );

        expected.insert(
            "message",
            match &self.message {
                None | Some(Value::Null) if !media_url_given => Some(vec![REQUIRED.to_owned()]),
                None | Some(Value::Null) => Some(Vec::new()),
                Some(Value::String(s)) => {
                    let content = s.trim();
                    if content.is_empty() && !media_url_given {
                        Some(vec!["This field may not be blank.".to_owned()])
                    } else if content.chars().count() > MAX_CONTENT_CHARS {
                        Some(vec![errors::TOO_LONG.to_owned()])
                    } else {
                        Some(Vec::new())
                    }
                }
                Some(_) => None,
            },
        );

        expected.insert(
            "department",
            match &self.department {
                None | Some(Value::Null) => Some(Vec::new()),
                Some(Value::String(s)) if s.trim().is_empty() || Department::parse(s).is_ok() => Some(Vec::new()),
                Some(Value::String(_)) => Some(vec![UnknownDepartment.to_string()]),
                Some(_) => None,
            },
        );

        expected.insert(
            "conversation_id",
            match &self.conversation_id {
                None => Some(Vec::new()),
                Some(id) if id.json == "null" || id.expected.is_some() => Some(Vec::new()),
                Some(_) => Some(vec!["A valid integer is required.".to_owned()]),
            },
        );

        // Short texts: at most 255 characters (docs/api.md §8).
        let short = |m: &Member| match m {
            None | Some(Value::Null) => Some(Vec::new()),
            Some(Value::String(s)) if s.chars().count() > NAME_CHARS => Some(vec![too_long(NAME_CHARS)]),
            Some(Value::String(_)) => Some(Vec::new()),
            Some(_) => None,
        };
        expected.insert("media_filename", short(&self.media_filename));
        expected.insert("provider_message_id", short(&self.provider_message_id));
        expected.insert("hotel_id", short(&self.hotel_id));
        expected
    }
}

/// Short form keys and values: any text, the replacement character U+FFFD included.
fn form_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop_oneof![4 => any::<char>(), 1 => Just('\u{fffd}'), 2 => Just(' ')], 1..8)
        .prop_map(|cs| cs.into_iter().collect())
}

/// The §8 message for a text over `max` characters.
fn too_long(max: usize) -> String {
    format!("Ensure this field has no more than {max} characters.")
}

/// A Meta-format body: `object` and `entry` present, entries random or shaped like Meta's.
fn meta_body() -> impl Strategy<Value = Value> {
    let value = (
        prop::option::of(prop::collection::vec(json_value(), 0..3)),
        prop::option::of(prop::collection::vec(json_value(), 0..3)),
        prop::option::weighted(0.2, "[0-9]{6,16}"),
        prop::option::of(json_value()),
    )
        .prop_map(|(messages, statuses, phone_number_id, contacts)| {
            let mut value = Map::new();
            value.insert("messaging_product".into(), json!("whatsapp"));
            if let Some(messages) = messages {
                value.insert("messages".into(), Value::Array(messages));
            }
            if let Some(statuses) = statuses {
                value.insert("statuses".into(), Value::Array(statuses));
            }
            if let Some(id) = phone_number_id {
                value.insert("metadata".into(), json!({ "phone_number_id": id }));
            }
            if let Some(contacts) = contacts {
                value.insert("contacts".into(), contacts);
            }
            Value::Object(value)
        });
    let change = (prop::option::of(value), json_leaf()).prop_map(|(value, field)| {
        let mut change = Map::new();
        change.insert("field".into(), field);
        if let Some(value) = value {
            change.insert("value".into(), value);
        }
        Value::Object(change)
    });
    let entry = prop_oneof![
        3 => prop::collection::vec(change, 0..3).prop_map(|changes| json!({ "id": "WABA", "changes": changes })),
        1 => json_value(),
    ];
    let entries = prop_oneof![3 => prop::collection::vec(entry, 0..3).prop_map(Value::Array), 1 => json_value()];
    (json_leaf(), entries, prop::option::of(("x_[a-z]{0,6}", json_value()))).prop_map(|(object, entry, extra)| {
        let mut body = Map::new();
        if let Some((key, value)) = extra {
            body.insert(key, value);
        }
        body.insert("object".into(), object);
        body.insert("entry".into(), entry);
        Value::Object(body)
    })
}

/// Whether a Meta body names a phone number id (the only thing that makes the webhook ask the
/// store anything).
fn names_a_phone_number_id(body: &Value) -> bool {
    body.get("entry")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|entry| entry.get("changes").and_then(Value::as_array).into_iter().flatten())
        .filter_map(|change| change.get("value"))
        .any(|value| value.pointer("/metadata/phone_number_id").is_some_and(Value::is_string))
}

fn webhook_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => prop::collection::vec(any::<u8>(), 0..512),
        2 => json_value().prop_map(|v| v.to_string().into_bytes()),
        3 => simple_case().prop_filter_map("representable", |c| c.body().ok())
            .prop_map(|m| Value::Object(m).to_string().into_bytes()),
        2 => meta_body().prop_map(|v| v.to_string().into_bytes()),
        1 => "[a-z_=&%0-9+.]{0,200}".prop_map(String::into_bytes),
        1 => (any::<u8>(), 1usize..4096).prop_map(|(b, extra)| vec![b; lobbybee::http::MAX_JSON_BODY + extra]),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn webhook_refuses_unsigned_or_forged_bodies_before_any_aws_call(
        body in webhook_body(),
        forgery in forgery(),
        content_type in content_type(),
    ) {
        let mut headers = forgery.headers(&body);
        if let Some(content_type) = content_type {
            headers.push(("content-type", content_type.to_owned()));
        }
        let oversized = body.len() > lobbybee::http::MAX_JSON_BODY;
        let answer = webhook_harness::post(body, &headers)?;
        let (status, expected) = if oversized {
            (413, json!({"error": "Request body too large"}))
        } else {
            (401, json!({"error": "Invalid signature"}))
        };
        prop_assert_eq!((answer.status, &answer.body), (status, &expected), "{:?}", forgery);
        prop_assert_eq!(answer.aws_calls, 0);
    }

    #[test]
    fn webhook_signed_bodies_that_are_not_json_objects_are_400_invalid_json(
        body in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..512),
            json_value().prop_map(not_an_object).prop_map(|v| v.to_string().into_bytes()),
        ],
        json_content_type in any::<bool>(),
    ) {
        prop_assume!(!matches!(serde_json::from_slice::<Value>(&body), Ok(Value::Object(_))));
        let mut headers = vec![("x-signature-256", signature::sign(WEBHOOK_SECRET.as_bytes(), &body))];
        if json_content_type {
            headers.push(("content-type", "application/json".to_owned()));
        }
        let answer = webhook_harness::post(body, &headers)?;
        let expected = json!({"error": "Invalid JSON"});
        prop_assert_eq!((answer.status, &answer.body), (400, &expected));
        prop_assert_eq!(answer.aws_calls, 0);
    }

    #[test]
    fn webhook_signed_form_bodies_that_are_not_utf8_are_400_invalid_form_body(
        prefix in "[a-z_]{1,8}=[a-z0-9%+]{0,12}",
        bad in prop_oneof![
            select(vec!["%FF", "%C3", "%E2%82", "%ED%A0%80", "%C0%AF", "%F4%90%80%80"])
                .prop_map(|s| s.as_bytes().to_vec()),
            select(vec![vec![0xffu8], vec![0xc3], vec![0xe2, 0x82], vec![0xed, 0xa0, 0x80], vec![0x80]]),
        ],
        suffix in "(&[a-z_]{1,8}=[a-z0-9+]{0,12}){0,3}",
        at_key in any::<bool>(),
    ) {
        // An invalid UTF-8 sequence, raw or percent-encoded, in a key or a value.
        let mut body = if at_key { Vec::new() } else { prefix.clone().into_bytes() };
        if at_key {
            body.extend_from_slice(&bad);
            body.extend_from_slice(b"=x&");
            body.extend_from_slice(prefix.as_bytes());
        } else {
            body.extend_from_slice(&bad);
        }
        body.extend_from_slice(suffix.as_bytes());
        let headers = vec![
            ("x-signature-256", signature::sign(WEBHOOK_SECRET.as_bytes(), &body)),
            ("content-type", "application/x-www-form-urlencoded".to_owned()),
        ];
        let answer = webhook_harness::post(body, &headers)?;
        let expected = json!({"error": "Invalid form body"});
        prop_assert_eq!((answer.status, &answer.body), (400, &expected));
        prop_assert_eq!(answer.aws_calls, 0);
    }

    #[test]
    fn webhook_signed_utf8_form_bodies_are_validated_not_refused(
        pairs in prop::collection::vec((form_text(), form_text()), 0..4),
        number in "[a-z]{1,6}",
        raw in any::<bool>(),
    ) {
        // Any UTF-8 text, percent-encoded or raw, with an invalid number so that validation
        // answers before the store is asked.
        let mut pairs = pairs;
        pairs.push(("whatsapp_number".to_owned(), number));
        let body = if raw {
            let clean = |t: &str| t.replace(['&', '=', '%', '+'], "x");
            pairs.iter().map(|(k, v)| format!("{}={}", clean(k), clean(v))).collect::<Vec<_>>().join("&")
        } else {
            serde_urlencoded::to_string(&pairs).map_err(fail)?
        };
        let body = body.into_bytes();
        let headers = vec![
            ("x-signature-256", signature::sign(WEBHOOK_SECRET.as_bytes(), &body)),
            ("content-type", "application/x-www-form-urlencoded".to_owned()),
        ];
        let answer = webhook_harness::post(body, &headers)?;
        prop_assert_eq!(answer.status, 400);
        prop_assert_eq!(&answer.body["error"], "Invalid data", "{}", answer.body);
        prop_assert_eq!(&answer.body["details"]["whatsapp_number"], &json!(["Invalid WhatsApp number format"]));
        prop_assert_eq!(answer.aws_calls, 0);
    }

    #[test]
    fn webhook_signed_simple_bodies_with_an_invalid_number_are_400_with_documented_details(case in simple_case()) {
        let body = Value::Object(case.body()?).to_string().into_bytes();
        let headers = vec![
            ("x-signature-256", signature::sign(WEBHOOK_SECRET.as_bytes(), &body)),
            ("content-type", "application/json".to_owned()),
        ];
        let answer = webhook_harness::post(body, &headers)?;
        prop_assert_eq!(answer.status, 400, "{}", answer.body);
        prop_assert_eq!(answer.aws_calls, 0);
        prop_assert_eq!(&answer.body["error"], "Invalid data");
        let details = answer.body["details"].as_object().ok_or_else(|| fail(format!("no details: {}", answer.body)))?;
        for (field, messages) in details {
            let ok = messages.as_array().is_some_and(|m| !m.is_empty() && m.iter().all(Value::is_string));
            prop_assert!(ok, "details.{field} = {messages}");
        }
        for (field, expected) in case.expected_details() {
            let Some(expected) = expected else { continue };
            let actual: Vec<String> = details
                .get(field)
                .and_then(Value::as_array)
                .map(|m| m.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default();
            prop_assert_eq!(&actual, &expected, "details.{} of {}", field, answer.body);
        }
    }

    #[test]
    fn webhook_signed_meta_bodies_are_200_unless_the_store_fails(body in meta_body()) {
        let reaches_store = names_a_phone_number_id(&body);
        let raw = body.to_string().into_bytes();
        let headers = vec![
            ("x-hub-signature-256", signature::sign(APP_SECRET.as_bytes(), &raw)),
            ("content-type", "application/json".to_owned()),
        ];
        let answer = webhook_harness::post(raw, &headers)?;
        let success = json!({"success": true});
        if reaches_store {
            // The store is unreachable here: docs/api.md §6 answers 200 and skips the item, its
            // "known differences" give 5xx (so that Meta redelivers) as the target. Either way
            // the answer is a contract one.
            let retry = matches!(answer.status, 500 | 503) && answer.body["error"].is_string();
            prop_assert!(answer.body == success && answer.status == 200 || retry, "{answer:?}");
        } else {
            prop_assert_eq!((answer.status, &answer.body), (200, &success));
        }
        // Naming a phone number id makes the webhook look the hotel up (and the harness sees it);
        // nothing else in these bodies asks AWS anything.
        prop_assert_eq!(answer.aws_calls > 0, reaches_store, "{} AWS calls", answer.aws_calls);
    }
}
