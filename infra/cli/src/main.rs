//! `lobbybee`: the admin command line of a LobbyBee Chat stack, local or deployed.
//!
//! It talks to a stack only through its public faces: the REST provisioning API (`X-Api-Key`),
//! the staff REST API and WebSocket (a staff token), and the guest webhook (signed bodies). The
//! signatures and tokens come from the core crate, the very code the stack verifies them with.
//! `lobbybee --help` lists the commands; every command has its own `--help`.

mod client;
mod commands;
mod output;

use clap::{Args, Parser, Subcommand};

use client::Stack;
use output::Format;

#[derive(Parser)]
#[command(name = "lobbybee", version, about = "Provision, try and check a LobbyBee Chat stack", long_about = None)]
struct Cli {
    #[command(flatten)]
    stack: StackArgs,
    /// How results are printed.
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    output: Format,
    #[command(subcommand)]
    command: Command,
}

/// Where the stack is and how to talk to it (flags, or the environment).
#[derive(Args)]
struct StackArgs {
    /// The stack's REST base (`RestApiUrl` output).
    #[arg(long, global = true, env = "LOBBYBEE_API", default_value = "http://127.0.0.1:8080/api/chat/")]
    api: String,
    /// The provisioning key (`X-Api-Key`); on a local stack the development key is the default.
    #[arg(long, global = true, env = "LOBBYBEE_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// A staff access token, for `conversations`, `tail` and `health` (`lobbybee token` mints
    /// one for a local stack).
    #[arg(long, global = true, env = "LOBBYBEE_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The WebSocket URL (`WebSocketUrl` output); default: the REST host's root, as locally.
    #[arg(long, global = true, env = "LOBBYBEE_WS")]
    ws: Option<String>,
    /// The guest webhook (`WebhookUrl` output); default: `<api>guest-webhook/`, as locally.
    #[arg(long, global = true, env = "LOBBYBEE_WEBHOOK")]
    webhook: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Create or replace a hotel.
    Hotel {
        #[command(subcommand)]
        action: commands::provision::HotelAction,
    },
    /// Create, replace or deactivate a staff member.
    Staff {
        #[command(subcommand)]
        action: commands::provision::StaffAction,
    },
    /// Create or replace a guest, or write as one.
    Guest {
        #[command(subcommand)]
        action: GuestAction,
    },
    /// Create or replace a stay (prints the guest socket token).
    Stay {
        #[command(subcommand)]
        action: commands::provision::StayAction,
    },
    /// Mint a staff access token signed with an HS256 key (the local development key by default).
    Token(commands::token::TokenArgs),
    /// List the conversations a staff token may see.
    Conversations(commands::conversations::ListArgs),
    /// Follow a conversation live over a staff socket (Ctrl-C stops).
    Tail(commands::tail::TailArgs),
    /// Check that every part of a stack answers: REST, WebSocket handshake, webhook verification.
    Health(commands::health::HealthArgs),
}

#[derive(Subcommand)]
enum GuestAction {
    /// Create or replace a guest (`PUT admin/guests/{id}`).
    Put(commands::provision::GuestPut),
    /// Write as a guest: a signed webhook POST, as the WhatsApp bridge (or Meta, with --meta) sends it.
    Say(commands::say::SayArgs),
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let stack = Stack::new(&cli.stack.api, cli.stack.api_key, cli.stack.token, cli.stack.ws, cli.stack.webhook);
    let format = cli.output;
    let result = match cli.command {
        Command::Hotel { action } => commands::provision::hotel(&stack, action, format).await,
        Command::Staff { action } => commands::provision::staff(&stack, action, format).await,
        Command::Guest { action: GuestAction::Put(args) } => commands::provision::guest(&stack, args, format).await,
        Command::Guest { action: GuestAction::Say(args) } => commands::say::run(&stack, args, format).await,
        Command::Stay { action } => commands::provision::stay(&stack, action, format).await,
        Command::Token(args) => commands::token::run(args, format),
        Command::Conversations(args) => commands::conversations::run(&stack, args, format).await,
        Command::Tail(args) => commands::tail::run(&stack, args, format).await,
        Command::Health(args) => commands::health::run(&stack, args, format).await,
    };
    if let Err(error) = result {
        eprintln!("lobbybee: {error}");
        std::process::exit(1);
    }
}
