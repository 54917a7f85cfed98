//! Configuration from the environment (docs/api.md §9).
//!
//! Every function reads the same variables, but each needs a different subset: the webhook needs
//! the signing secrets, `$connect` needs the JWT key, and so on. [`Config::from_env`] takes the list
//! of [`Need`]s of the calling function and fails at start-up, with one message naming every
//! missing or malformed variable, instead of failing at the first request.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::auth::jwt::{JwtAlgorithm, JwtVerifier};
use crate::phone;

pub use crate::needs::{ConfigError, FUNCTIONS, Need, all_needs, needs};

/// How guest sockets authenticate (docs/api.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestSocketAuth {
    /// A per-stay HMAC `guest_token` is required (default).
    Token,
    /// Any number with an active stay may connect (the Django behaviour).
    Open,
}

/// How `GET /conversations/` answers (docs/api.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConversationListFormat {
    /// Django REST framework's cursor-pagination envelope `{"next", "previous", "results"}`
    /// (default; what the current dashboard reads).
    Page,
    /// The bare array of dashboards built before 2026 (paging by `X-Next-Cursor`).
    Array,
}

/// The approved WhatsApp template sent by `reopen-temporary` outside the 24-hour window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReopenTemplate {
    /// Template name as approved in WhatsApp Manager.
    pub name: String,
    /// Its language code (`en_US` unless `WHATSAPP_REOPEN_TEMPLATE` says `name:code`).
    pub language: String,
}

impl ReopenTemplate {
    /// Parses `name` or `name:language`.
    pub fn parse(raw: &str) -> Option<Self> {
        let (name, language) = raw.split_once(':').unwrap_or((raw, "en_US"));
        let valid = |s: &str, extra: char| {
            !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == extra)
        };
        (valid(name, '_') && valid(language, '-'))
            .then(|| ReopenTemplate { name: name.to_owned(), language: language.to_owned() })
    }
}

/// Everything a handler reads from the environment, parsed once at start-up.
#[derive(Clone)]
pub struct Config {
    /// DynamoDB table.
    pub table_name: String,
    /// Queue of staff messages for WhatsApp.
    pub outbound_queue_url: Option<String>,
    /// Queue of socket pushes to try again.
    pub push_retry_queue_url: Option<String>,
    /// Management API endpoint (`https://{api}.execute-api.{region}.amazonaws.com/{stage}`);
    /// when absent it is derived from the socket event's domain and stage.
    pub ws_endpoint: Option<String>,
    /// Staff token verifier.
    pub jwt: Option<JwtVerifier>,
    /// Key of the simple-format webhook signature (`X-Signature-256`).
    pub webhook_secret: Option<String>,
    /// Meta app secret (`X-Hub-Signature-256`).
    pub whatsapp_app_secret: Option<String>,
    /// Token Meta echoes in the GET verification handshake.
    pub whatsapp_verify_token: Option<String>,
    /// Bearer token for the WhatsApp Cloud API.
    pub whatsapp_token: Option<String>,
    /// Fallback phone number id for hotels without one.
    pub whatsapp_phone_number_id: Option<String>,
    /// WhatsApp Cloud API base, e.g. `https://graph.facebook.com/v21.0`.
    pub whatsapp_api_base: String,
    /// `false` only when `WEBHOOK_SIGNATURES=disabled` (local development).
    pub verify_signatures: bool,
    /// Guest socket authentication mode.
    pub guest_socket_auth: GuestSocketAuth,
    /// Key of guest tokens.
    pub guest_token_secret: Option<String>,
    /// CRM key for `/admin/` endpoints.
    pub provisioning_api_key: Option<String>,
    /// Origins answered by CORS (`*` allowed).
    pub allowed_origins: Vec<String>,
    /// Country code put in front of 10-digit numbers.
    pub default_country_code: String,
    /// Media bucket.
    pub media_bucket: Option<String>,
    /// Public base of the REST API, for media links (`https://.../api/chat`).
    pub public_base_url: Option<String>,
    /// Lifetime of socket connection records (API Gateway's 2-hour limit).
    pub connection_ttl: Duration,
    /// Messages, conversations and idempotency records expire after this many days (0 = never).
    pub message_retention_days: u32,
    /// Shape of the conversation list.
    pub conversation_list_format: ConversationListFormat,
    /// Template for `reopen-temporary` outside the 24-hour window (none: the sender is told).
    pub reopen_template: Option<ReopenTemplate>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets stay out of logs: only say which are set.
        f.debug_struct("Config")
            .field("table_name", &self.table_name)
            .field("outbound_queue_url", &self.outbound_queue_url)
            .field("push_retry_queue_url", &self.push_retry_queue_url)
            .field("ws_endpoint", &self.ws_endpoint)
            .field("jwt", &self.jwt.is_some())
            .field("verify_signatures", &self.verify_signatures)
            .field("guest_socket_auth", &self.guest_socket_auth)
            .field("allowed_origins", &self.allowed_origins)
            .field("default_country_code", &self.default_country_code)
            .field("media_bucket", &self.media_bucket)
            .field("conversation_list_format", &self.conversation_list_format)
            .field("reopen_template", &self.reopen_template)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env(needs: &[Need]) -> Result<Self, ConfigError> {
        Self::from_lookup(needs, |key| std::env::var(key).ok())
    }

    /// Reads `lookup` (the environment) and, when it names a `SECRETS_PATH`, the secrets `needs`
    /// call for from Parameter Store ([`crate::secrets`]); a secret read there wins over a
    /// variable of the same name.
    pub async fn load(
        sdk: &aws_config::SdkConfig,
        needs: &[Need],
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let secrets = match lookup("SECRETS_PATH").filter(|p| !p.trim().is_empty()) {
            Some(path) => crate::secrets::load(&aws_sdk_ssm::Client::new(sdk), path.trim(), needs).await?,
            None => Default::default(),
        };
        Self::from_lookup(needs, |key| secrets.get(key).cloned().or_else(|| lookup(key)))
    }

    /// Reads configuration through `lookup` (the environment in production, a map in tests).
    pub fn from_lookup(needs: &[Need], lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let needs: BTreeSet<usize> = needs.iter().map(|n| *n as usize).collect();
        let need = |n: Need| needs.contains(&(n as usize));
        let get = |key: &str| lookup(key).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let mut problems: Vec<String> = Vec::new();
        let require = |key: &str, wanted: bool, problems: &mut Vec<String>| {
            let value = get(key);
            if wanted && value.is_none() {
                problems.push(format!("{key} is required"));
            }
            value
        };

        let table_name = require("TABLE_NAME", true, &mut problems).unwrap_or_default();
        let outbound_queue_url = require("OUTBOUND_QUEUE_URL", need(Need::OutboundQueue), &mut problems);
        let push_retry_queue_url = require("PUSH_RETRY_QUEUE_URL", need(Need::PushRetryQueue), &mut problems);
        let provisioning_api_key = require("PROVISIONING_API_KEY", need(Need::Provisioning), &mut problems);
        let media_bucket = require("MEDIA_BUCKET", need(Need::Media), &mut problems);
        let whatsapp_token = require("WHATSAPP_TOKEN", need(Need::WhatsAppApi), &mut problems);

        let verify_signatures = match get("WEBHOOK_SIGNATURES").as_deref() {
            None | Some("required") => true,
            Some("disabled") => false,
            Some(_) => {
                problems.push("WEBHOOK_SIGNATURES must be `required` or `disabled`".into());
                true
            }
        };
        let want_secrets = need(Need::WebhookSecrets) && verify_signatures;
        let webhook_secret = require("WEBHOOK_SECRET", want_secrets, &mut problems);
        let whatsapp_app_secret = require("WHATSAPP_APP_SECRET", want_secrets, &mut problems);
        let whatsapp_verify_token = require("WHATSAPP_VERIFY_TOKEN", need(Need::WebhookSecrets), &mut problems);

        let guest_socket_auth = match get("GUEST_SOCKET_AUTH").as_deref() {
            None | Some("token") => GuestSocketAuth::Token,
            Some("open") => GuestSocketAuth::Open,
            Some(_) => {
                problems.push("GUEST_SOCKET_AUTH must be `token` or `open`".into());
                GuestSocketAuth::Token
            }
        };
        let guest_token_secret = require(
            "GUEST_TOKEN_SECRET",
            need(Need::GuestTokens) && guest_socket_auth == GuestSocketAuth::Token,
            &mut problems,
        );

        let default_country_code = get("DEFAULT_COUNTRY_CODE").unwrap_or_else(|| "1".into());
        if !phone::is_valid_country_code(&default_country_code) {
            problems.push("DEFAULT_COUNTRY_CODE must be 1 to 3 digits".into());
        }

        let jwt = if need(Need::Jwt) {
            match jwt_from(&get) {
                Ok(v) => Some(v),
                Err(p) => {
                    problems.push(p);
                    None
                }
            }
        } else {
            jwt_from(&get).ok()
        };

        let connection_ttl = match get("CONNECTION_TTL_SECONDS").map(|v| v.parse::<u64>()) {
            None => Duration::from_secs(2 * 3600),
            Some(Ok(secs)) if secs > 0 => Duration::from_secs(secs),
            Some(_) => {
                problems.push("CONNECTION_TTL_SECONDS must be a positive integer".into());
                Duration::from_secs(2 * 3600)
            }
        };
        let message_retention_days = match get("MESSAGE_RETENTION_DAYS").map(|v| v.parse::<u32>()) {
            None => 0,
            Some(Ok(days)) => days,
            Some(Err(_)) => {
                problems.push("MESSAGE_RETENTION_DAYS must be a whole number of days".into());
                0
            }
        };

        let conversation_list_format = match get("CONVERSATION_LIST_FORMAT").as_deref() {
            None | Some("page") => ConversationListFormat::Page,
            Some("array") => ConversationListFormat::Array,
            Some(_) => {
                problems.push("CONVERSATION_LIST_FORMAT must be `page` or `array`".into());
                ConversationListFormat::Page
            }
        };
        let reopen_template = get("WHATSAPP_REOPEN_TEMPLATE").and_then(|raw| {
            let parsed = ReopenTemplate::parse(&raw);
            if parsed.is_none() {
                problems
                    .push("WHATSAPP_REOPEN_TEMPLATE must be `name` or `name:language` (letters, digits, `_`)".into());
            }
            parsed
        });

        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        Ok(Config {
            table_name,
            outbound_queue_url,
            push_retry_queue_url,
            ws_endpoint: get("WS_ENDPOINT"),
            jwt,
            webhook_secret,
            whatsapp_app_secret,
            whatsapp_verify_token,
            whatsapp_token,
            whatsapp_phone_number_id: get("WHATSAPP_PHONE_NUMBER_ID"),
            whatsapp_api_base: get("WHATSAPP_API_BASE")
                .unwrap_or_else(|| "https://graph.facebook.com/v21.0".into())
                .trim_end_matches('/')
                .to_owned(),
            verify_signatures,
            guest_socket_auth,
            guest_token_secret,
            provisioning_api_key,
            allowed_origins: get("ALLOWED_ORIGINS")
                .map(|v| {
                    v.split(',').map(|o| o.trim().trim_end_matches('/').to_owned()).filter(|o| !o.is_empty()).collect()
                })
                .unwrap_or_default(),
            default_country_code,
            media_bucket,
            public_base_url: get("PUBLIC_BASE_URL").map(|u| u.trim_end_matches('/').to_owned()),
            connection_ttl,
            message_retention_days,
            conversation_list_format,
            reopen_template,
        })
    }

    /// Epoch seconds at which a record written now expires under the retention policy.
    pub fn retention_expiry(&self, now_epoch: i64) -> Option<i64> {
        (self.message_retention_days > 0).then(|| now_epoch + i64::from(self.message_retention_days) * 86_400)
    }
}

fn jwt_from(get: &impl Fn(&str) -> Option<String>) -> Result<JwtVerifier, String> {
    let algorithm = match get("JWT_ALGORITHM") {
        None => JwtAlgorithm::Hs256,
        Some(raw) => {
            JwtAlgorithm::parse(&raw).ok_or_else(|| "JWT_ALGORITHM must be HS256, RS256 or ES256".to_owned())?
        }
    };
    let key = match algorithm {
        JwtAlgorithm::Hs256 => get("JWT_SECRET").ok_or("JWT_SECRET is required for HS256")?,
        _ => get("JWT_PUBLIC_KEY")
            // PEM keys often arrive through one-line env vars with literal `\n`.
            .map(|k| k.replace("\\n", "\n"))
            .ok_or("JWT_PUBLIC_KEY is required for RS256/ES256")?,
    };
    JwtVerifier::new(algorithm, &key, get("JWT_ISSUER"), get("JWT_AUDIENCE")).map_err(|e| format!("JWT key: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(needs: &[Need], vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(needs, |k| map.get(k).cloned())
    }

    #[test]
    fn list_format_and_reopen_template() {
        let base = [("TABLE_NAME", "t")];
        let config = cfg(&[], &base).unwrap();
        assert_eq!(config.conversation_list_format, ConversationListFormat::Page);
        assert_eq!(config.reopen_template, None);
        let config = cfg(
            &[],
            &[
                ("TABLE_NAME", "t"),
                ("CONVERSATION_LIST_FORMAT", "array"),
                ("WHATSAPP_REOPEN_TEMPLATE", "reopen_chat:pt_BR"),
            ],
        )
        .unwrap();
        assert_eq!(config.conversation_list_format, ConversationListFormat::Array);
        assert_eq!(
            config.reopen_template,
            Some(ReopenTemplate { name: "reopen_chat".into(), language: "pt_BR".into() })
        );
        assert_eq!(ReopenTemplate::parse("reopen").map(|t| t.language), Some("en_US".into()));
        let err = cfg(
            &[],
            &[("TABLE_NAME", "t"), ("CONVERSATION_LIST_FORMAT", "pages"), ("WHATSAPP_REOPEN_TEMPLATE", "bad name")],
        )
        .unwrap_err();
        assert_eq!(err.problems.len(), 2, "{:?}", err.problems);
    }

    #[test]
    fn table_name_is_always_required() {
        let err = cfg(&[], &[]).unwrap_err();
        assert_eq!(err.problems, vec!["TABLE_NAME is required"]);
    }

    #[test]
    fn lists_every_missing_variable_at_once() {
        let err = cfg(&[Need::Jwt, Need::WebhookSecrets, Need::OutboundQueue], &[("TABLE_NAME", "t")]).unwrap_err();
        assert_eq!(
            err.problems,
            vec![
                "OUTBOUND_QUEUE_URL is required",
                "WEBHOOK_SECRET is required",
                "WHATSAPP_APP_SECRET is required",
                "WHATSAPP_VERIFY_TOKEN is required",
                "JWT_SECRET is required for HS256",
            ]
        );
        assert!(err.to_string().starts_with("configuration error: OUTBOUND_QUEUE_URL"));
    }

    #[test]
    fn signatures_can_only_be_disabled_explicitly() {
        let c = cfg(
            &[Need::WebhookSecrets],
            &[("TABLE_NAME", "t"), ("WEBHOOK_SIGNATURES", "disabled"), ("WHATSAPP_VERIFY_TOKEN", "v")],
        )
        .unwrap();
        assert!(!c.verify_signatures);
        let err = cfg(&[], &[("TABLE_NAME", "t"), ("WEBHOOK_SIGNATURES", "off")]).unwrap_err();
        assert_eq!(err.problems, vec!["WEBHOOK_SIGNATURES must be `required` or `disabled`"]);
    }

    #[test]
    fn defaults_and_parsing() {
        let c = cfg(
            &[Need::Jwt],
            &[
                ("TABLE_NAME", "t"),
                ("JWT_SECRET", "s3cret"),
                ("ALLOWED_ORIGINS", "https://a.example/, https://b.example"),
                ("GUEST_SOCKET_AUTH", "open"),
                ("WHATSAPP_API_BASE", "http://127.0.0.1:9/v21.0/"),
            ],
        )
        .unwrap();
        assert!(c.jwt.is_some());
        assert_eq!(c.allowed_origins, vec!["https://a.example", "https://b.example"]);
        assert_eq!(c.guest_socket_auth, GuestSocketAuth::Open);
        assert_eq!(c.default_country_code, "1");
        assert_eq!(c.whatsapp_api_base, "http://127.0.0.1:9/v21.0");
        assert_eq!(c.connection_ttl, Duration::from_secs(7200));
        assert_eq!(c.retention_expiry(100), None);
    }

    #[test]
    fn rejects_malformed_values() {
        let err = cfg(
            &[],
            &[
                ("TABLE_NAME", "t"),
                ("DEFAULT_COUNTRY_CODE", "x1"),
                ("GUEST_SOCKET_AUTH", "maybe"),
                ("JWT_ALGORITHM", "HS512"),
            ],
        )
        .unwrap_err();
        assert_eq!(
            err.problems,
            vec!["GUEST_SOCKET_AUTH must be `token` or `open`", "DEFAULT_COUNTRY_CODE must be 1 to 3 digits",]
        );
        let err = cfg(&[Need::Jwt], &[("TABLE_NAME", "t"), ("JWT_ALGORITHM", "HS512")]).unwrap_err();
        assert_eq!(err.problems, vec!["JWT_ALGORITHM must be HS256, RS256 or ES256"]);
    }
}
