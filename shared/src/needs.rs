//! What each function of the stack cannot start without ([`Need`]s, by function), and the
//! start-up failure that lists every missing setting at once. The lowest layer of the
//! configuration: the secrets loader and [`crate::config`] build on it.

/// A group of settings a function cannot run without.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// `JWT_SECRET`, or `JWT_PUBLIC_KEY` with `JWT_ALGORITHM` RS256/ES256.
    Jwt,
    /// `WEBHOOK_SECRET` and `WHATSAPP_APP_SECRET` (unless signatures are explicitly disabled)
    /// and `WHATSAPP_VERIFY_TOKEN`.
    WebhookSecrets,
    /// `OUTBOUND_QUEUE_URL`.
    OutboundQueue,
    /// `PUSH_RETRY_QUEUE_URL`.
    PushRetryQueue,
    /// `GUEST_TOKEN_SECRET` (needed unless `GUEST_SOCKET_AUTH=open`).
    GuestTokens,
    /// `PROVISIONING_API_KEY`.
    Provisioning,
    /// `MEDIA_BUCKET`.
    Media,
    /// `WHATSAPP_TOKEN` (and the API base, defaulted).
    WhatsAppApi,
}

/// What each function of the stack needs, by its crate name: its `main.rs` starts with it, its
/// role in template.yaml may read exactly the secrets it implies, and the permissions test
/// checks both.
pub const FUNCTIONS: &[(&str, &[Need])] = &[
    ("ws-connect", &[Need::Jwt, Need::GuestTokens, Need::PushRetryQueue]),
    ("ws-default", &[Need::OutboundQueue, Need::PushRetryQueue]),
    ("ws-disconnect", &[Need::PushRetryQueue]),
    ("guest-webhook", &[Need::WebhookSecrets, Need::WhatsAppApi, Need::OutboundQueue, Need::PushRetryQueue]),
    (
        "rest-api",
        &[Need::Jwt, Need::OutboundQueue, Need::PushRetryQueue, Need::Provisioning, Need::GuestTokens, Need::Media],
    ),
    ("outbound-sender", &[Need::WhatsAppApi, Need::OutboundQueue, Need::PushRetryQueue]),
    ("outbound-sweeper", &[Need::OutboundQueue]),
    ("push-retry", &[Need::PushRetryQueue]),
];

/// Everything any function needs: the local gateway serves them all from one process.
pub fn all_needs() -> Vec<Need> {
    let mut all: Vec<Need> = Vec::new();
    for need in FUNCTIONS.iter().flat_map(|(_, needs)| needs.iter()) {
        if !all.contains(need) {
            all.push(*need);
        }
    }
    all
}

/// The needs of `function` (empty for an unknown name).
pub fn needs(function: &str) -> &'static [Need] {
    FUNCTIONS.iter().find(|(name, _)| *name == function).map_or(&[], |(_, needs)| needs)
}

/// Start-up failure: lists every problem at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration error: {}", .problems.join("; "))]
pub struct ConfigError {
    /// One line per missing or malformed variable.
    pub problems: Vec<String>,
}
