//! Secrets read at start-up from SSM Parameter Store (docs/deploy.md, "Secrets").
//!
//! A deployed function's environment holds no secret: it names the tenant's parameter path
//! (`SECRETS_PATH`, e.g. `/lobbybee/lumen`), and at start-up the function reads, in one
//! `GetParameters` call, only the `SecureString` parameters its [`Need`]s call for; its role may
//! read exactly those. Values are kept for the life of the process, so a rotation reaches every
//! new execution environment without a deployment. The local stack and the tests put their
//! development values into the emulator's Parameter Store and read them through this very code.

use std::collections::BTreeMap;

use aws_config::SdkConfig;

use crate::needs::{ConfigError, Need};

/// Each secret: its parameter name under the tenant's path, the settings it fills, and the
/// need that calls for it.
pub const SECRETS: &[(&str, &[&str], Need)] = &[
    ("jwt_key", &["JWT_SECRET", "JWT_PUBLIC_KEY"], Need::Jwt),
    ("webhook_secret", &["WEBHOOK_SECRET"], Need::WebhookSecrets),
    ("whatsapp_app_secret", &["WHATSAPP_APP_SECRET"], Need::WebhookSecrets),
    ("whatsapp_verify_token", &["WHATSAPP_VERIFY_TOKEN"], Need::WebhookSecrets),
    ("whatsapp_token", &["WHATSAPP_TOKEN"], Need::WhatsAppApi),
    ("guest_token_secret", &["GUEST_TOKEN_SECRET"], Need::GuestTokens),
    ("provisioning_api_key", &["PROVISIONING_API_KEY"], Need::Provisioning),
];

/// The parameter names (under the path) a function with `needs` reads.
pub fn parameters_for(needs: &[Need]) -> Vec<&'static str> {
    SECRETS.iter().filter(|(_, _, need)| needs.contains(need)).map(|(name, _, _)| *name).collect()
}

/// Reads the secrets `needs` call for from `path` and answers them as settings
/// (`JWT_SECRET` → value, …). Missing parameters fail start-up with their names.
pub async fn load(
    client: &aws_sdk_ssm::Client,
    path: &str,
    needs: &[Need],
) -> Result<BTreeMap<String, String>, ConfigError> {
    let names = parameters_for(needs);
    let mut settings = BTreeMap::new();
    if names.is_empty() {
        return Ok(settings);
    }
    let path = path.trim_end_matches('/');
    let full = |name: &str| format!("{path}/{name}");
    let answer = client
        .get_parameters()
        .set_names(Some(names.iter().map(|n| full(n)).collect()))
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| ConfigError {
            problems: vec![format!(
                "cannot read secrets under {path}: {}",
                aws_sdk_ssm::error::DisplayErrorContext(&e)
            )],
        })?;
    let missing: Vec<String> = answer.invalid_parameters().iter().map(|p| format!("{p} is missing")).collect();
    if !missing.is_empty() {
        return Err(ConfigError { problems: missing });
    }
    for parameter in answer.parameters() {
        let (Some(name), Some(value)) = (parameter.name(), parameter.value()) else { continue };
        let Some((_, settings_of, _)) = SECRETS.iter().find(|(n, _, _)| full(n) == name) else { continue };
        for setting in *settings_of {
            settings.insert((*setting).to_owned(), value.to_owned());
        }
    }
    Ok(settings)
}

/// Writes `values` (parameter name → value) under `path` as `SecureString`s, replacing what is
/// there: what the local stack and the tests do with their development secrets, and what an
/// operator does with `aws ssm put-parameter` (docs/deploy.md).
pub async fn store(sdk: &SdkConfig, path: &str, values: &[(&str, &str)]) -> Result<(), String> {
    let client = aws_sdk_ssm::Client::new(sdk);
    let path = path.trim_end_matches('/');
    for (name, value) in values {
        client
            .put_parameter()
            .name(format!("{path}/{name}"))
            .value(*value)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .overwrite(true)
            .send()
            .await
            .map_err(|e| format!("{path}/{name}: {}", aws_sdk_ssm::error::DisplayErrorContext(&e)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_function_reads_only_what_it_needs() {
        assert_eq!(parameters_for(&[Need::PushRetryQueue]), Vec::<&str>::new());
        assert_eq!(parameters_for(&[Need::Jwt, Need::GuestTokens]), vec!["jwt_key", "guest_token_secret"]);
        assert_eq!(
            parameters_for(&[Need::WebhookSecrets, Need::WhatsAppApi]),
            vec!["webhook_secret", "whatsapp_app_secret", "whatsapp_verify_token", "whatsapp_token"]
        );
    }
}
