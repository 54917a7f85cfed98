//! One module per command.

pub mod conversations;
pub mod health;
pub mod provision;
pub mod say;
pub mod tail;
pub mod token;
