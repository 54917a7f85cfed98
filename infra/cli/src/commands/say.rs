//! `guest say`: a guest message through the guest webhook, signed the way the stack verifies it
//! (HMAC-SHA256 of the exact body, by the core crate): the simple format with `X-Signature-256`
//! and the webhook secret, or with `--meta` a Meta Cloud API notification with
//! `X-Hub-Signature-256` and the app secret.

use clap::Args;
use serde_json::json;

use crate::client::{Failure, Outcome, Stack, expect_success};
use crate::output::{Format, print};

#[derive(Args)]
pub struct SayArgs {
    /// The guest's WhatsApp number (they need an active stay), e.g. `+919876543210`.
    number: String,
    /// What the guest writes.
    text: String,
    /// Department to write to (simple format; default Reception).
    #[arg(long)]
    department: Option<String>,
    /// Send it as Meta's WhatsApp Cloud API would (signed with the app secret).
    #[arg(long)]
    meta: bool,
    /// The hotel's WhatsApp phone number id, for `--meta` (default: the local demo hotel's).
    #[arg(long)]
    phone_number_id: Option<String>,
    /// An idempotency id (`provider_message_id`, or the wamid with `--meta`); default: a fresh one.
    #[arg(long)]
    message_id: Option<String>,
    /// The webhook secret (simple format); default on a local stack: the development secret.
    #[arg(long, env = "LOBBYBEE_WEBHOOK_SECRET", hide_env_values = true)]
    secret: Option<String>,
    /// The Meta app secret (`--meta`); default on a local stack: the development secret.
    #[arg(long, env = "LOBBYBEE_APP_SECRET", hide_env_values = true)]
    app_secret: Option<String>,
}

pub async fn run(stack: &Stack, args: SayArgs, format: Format) -> Outcome {
    let id = args.message_id.clone().unwrap_or_else(|| format!("cli-{}", uuid::Uuid::new_v4().simple()));
    let (raw, header, secret) = if args.meta {
        let phone = args
            .phone_number_id
            .clone()
            .or_else(|| stack.local_default("WHATSAPP_PHONE_NUMBER_ID"))
            .ok_or_else(|| Failure::new("--meta needs the hotel's phone number id", "pass --phone-number-id"))?;
        let mut item = lobbybee_local::gateway::local::meta_item(&args.number, "text");
        item["id"] = json!(id);
        item["text"] = json!({ "body": args.text });
        let raw = lobbybee_local::gateway::local::meta_envelope(&phone, "messages", item).to_string();
        (
            raw,
            "x-hub-signature-256",
            secret(stack, args.app_secret, "WHATSAPP_APP_SECRET", "--app-secret / LOBBYBEE_APP_SECRET")?,
        )
    } else {
        let mut body = json!({ "whatsapp_number": args.number, "message": args.text, "provider_message_id": id });
        if let Some(department) = &args.department {
            body["department"] = json!(department);
        }
        (
            body.to_string(),
            "x-signature-256",
            secret(stack, args.secret, "WEBHOOK_SECRET", "--secret / LOBBYBEE_WEBHOOK_SECRET")?,
        )
    };
    let signature = lobbybee::auth::signature::sign(secret.as_bytes(), raw.as_bytes());
    let headers = [("content-type", "application/json".to_owned()), (header, signature)];
    let answer = stack.post_raw(&stack.webhook, raw, &headers).await?;
    let body = expect_success(answer, "the guest webhook").map_err(|failure| {
        Failure::new(
            failure.to_string(),
            "a 401 means the secret is not the stack's; a 404 or 400 names the guest or stay problem",
        )
    })?;
    let columns = if args.meta {
        vec![("SUCCESS", "/success")]
    } else {
        vec![
            ("CONVERSATION", "/conversation_id"),
            ("MESSAGE", "/message_id"),
            ("DEPARTMENT", "/department"),
            ("NEW CONVERSATION", "/conversation_created"),
        ]
    };
    print(format, &body, &columns);
    Ok(())
}

fn secret(stack: &Stack, given: Option<String>, variable: &str, flag: &str) -> Result<String, Failure> {
    given.or_else(|| stack.local_default(variable)).ok_or_else(|| {
        Failure::new(
            "the webhook signature needs the stack's secret",
            format!("pass {flag} (it is in the stack's Parameter Store)"),
        )
    })
}
