//! # The local stack
//!
//! Everything that stands in for AWS on a developer's machine or in CI, around the very handler
//! code the Lambdas run:
//!
//! - [`bootstrap`] creates the tables, queues and bucket of `template.yaml` on the emulator;
//! - [`concurrency`] reads the functions' reserved concurrency from it and enforces it;
//! - [`seed`] writes the demo hotel, staff and guests;
//! - [`gateway`] emulates API Gateway (WebSocket API with the `@connections` management API,
//!   the HTTP API, the webhook's Function URL) and the SQS event source mappings;
//! - [`env`] holds the development settings of a local run.

#![warn(missing_docs)]

pub mod bootstrap;
pub mod concurrency;
pub mod env;
pub mod gateway;
pub mod seed;
