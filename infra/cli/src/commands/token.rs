//! `token`: a staff access token in the hotel CRM's format, signed with the HS256 key (the local
//! development key by default), through the core crate's issuer.

use clap::Args;
use serde_json::json;

use crate::client::{Failure, Outcome};
use crate::output::Format;

#[derive(Args)]
pub struct TokenArgs {
    /// The staff member's user id (the demo receptionist is `101`).
    user_id: String,
    /// The stack's HS256 JWT secret (default: the local development secret).
    #[arg(long, env = "LOBBYBEE_JWT_SECRET", hide_env_values = true)]
    secret: Option<String>,
    /// Lifetime in seconds.
    #[arg(long, default_value_t = 12 * 3600)]
    ttl: i64,
}

pub fn run(args: TokenArgs, format: Format) -> Outcome {
    let secret = args.secret.unwrap_or_else(|| lobbybee_local::env::lookup("JWT_SECRET", &[]).unwrap_or_default());
    let token = lobbybee::auth::jwt::issue_hs256(&secret, &args.user_id, args.ttl).map_err(|e| {
        Failure::new(
            format!("cannot sign a token: {e}"),
            "pass the stack's HS256 secret with --secret or LOBBYBEE_JWT_SECRET",
        )
    })?;
    match format {
        // The bare token, so that `export LOBBYBEE_TOKEN=$(lobbybee token 101)` works.
        Format::Table => println!("{token}"),
        Format::Json => println!("{}", json!({ "user_id": args.user_id, "token": token, "expires_in": args.ttl })),
    }
    Ok(())
}
