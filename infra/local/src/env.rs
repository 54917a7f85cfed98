//! Development settings of a local run. Every value can be overridden by the environment;
//! the defaults are public development secrets, never used by a deployed stack.

/// Development defaults: `(variable, value)`.
pub const DEV_DEFAULTS: &[(&str, &str)] = &[
    ("JWT_SECRET", "local-dev-jwt-secret"),
    ("WEBHOOK_SECRET", "local-dev-webhook-secret"),
    ("WHATSAPP_APP_SECRET", "local-dev-app-secret"),
    ("WHATSAPP_VERIFY_TOKEN", "local-dev-verify-token"),
    ("WHATSAPP_TOKEN", "local-dev-whatsapp-token"),
    ("WHATSAPP_PHONE_NUMBER_ID", "106540352242922"),
    ("GUEST_TOKEN_SECRET", "local-dev-guest-secret"),
    ("PROVISIONING_API_KEY", "local-dev-provisioning-key"),
    ("ALLOWED_ORIGINS", "*"),
    ("DEFAULT_COUNTRY_CODE", "1"),
    ("LOBBYBEE_METRICS", "off"),
];

/// Looks `key` up in the process environment, then in `extra` (computed values such as queue
/// URLs and the gateway's own address), then in [`DEV_DEFAULTS`].
pub fn lookup(key: &str, extra: &[(String, String)]) -> Option<String> {
    std::env::var(key)
        .ok()
        .filter(|v| !v.is_empty())
        .or_else(|| extra.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()))
        .or_else(|| DEV_DEFAULTS.iter().find(|(k, _)| *k == key).map(|(_, v)| (*v).to_owned()))
}
