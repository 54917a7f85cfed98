//! `conversations`: the inbox a staff token sees (`GET conversations/`).

use clap::Args;
use reqwest::Method;
use serde_json::Value;

use crate::client::{Outcome, Stack};
use crate::output::{Format, print};

#[derive(Args)]
pub struct ListArgs {
    /// `active`, `closed` or `all`.
    #[arg(long, default_value = "active")]
    status: String,
    /// Only this department (one the token's member may act on).
    #[arg(long)]
    department: Option<String>,
}

pub async fn run(stack: &Stack, args: ListArgs, format: Format) -> Outcome {
    let mut query = vec![("status", args.status), ("limit", "200".to_owned())];
    if let Some(department) = args.department {
        query.push(("department", department));
    }
    let page = stack.staff(Method::GET, "conversations/", &query).await?;
    let list = page.get("results").cloned().unwrap_or(page);
    let rows = if list.is_array() { list } else { Value::Array(vec![]) };
    let columns = [
        ("ID", "/id"),
        ("GUEST", "/guest_info/full_name"),
        ("ROOM", "/guest_info/room_number"),
        ("DEPARTMENT", "/department"),
        ("STATUS", "/status"),
        ("UNREAD", "/unread_count"),
        ("LAST MESSAGE", "/last_message/content"),
        ("AT", "/last_message_at"),
    ];
    print(format, &rows, &columns);
    Ok(())
}
