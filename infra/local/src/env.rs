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
    ("WHATSAPP_REOPEN_TEMPLATE", "lobbybee_reopen"),
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

/// The development secrets of the stack, by parameter name (`jwt_key`, …), from the
/// environment or [`DEV_DEFAULTS`]: the local stack writes them to the emulator's Parameter
/// Store and reads them back the way a deployed function does.
pub fn secret_values() -> Vec<(&'static str, String)> {
    lobbybee::secrets::SECRETS
        .iter()
        .filter_map(|(name, settings, _)| Some((*name, lookup(settings.first()?, &[])?)))
        .collect()
}

/// Where a local tenant's secrets live in the emulator's Parameter Store.
pub fn secrets_path(tenant: &str) -> String {
    format!("/lobbybee/{tenant}")
}

/// The variables that depend on where the local stack runs: resource names from the bootstrap
/// and the gateway's own address (management endpoint, media links, fake WhatsApp API).
pub fn stack_vars(resources: &crate::bootstrap::LocalResources, port: u16) -> Vec<(String, String)> {
    [
        ("TABLE_NAME", resources.table_name.clone()),
        ("OUTBOUND_QUEUE_URL", resources.outbound_queue_url.clone()),
        ("PUSH_RETRY_QUEUE_URL", resources.push_retry_queue_url.clone()),
        ("MEDIA_BUCKET", resources.media_bucket.clone()),
        ("WS_ENDPOINT", format!("http://127.0.0.1:{port}/local")),
        ("PUBLIC_BASE_URL", format!("http://127.0.0.1:{port}/api/chat")),
        ("WHATSAPP_API_BASE", format!("http://127.0.0.1:{port}/_fake/whatsapp/v21.0")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}
