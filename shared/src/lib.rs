//! # LobbyBee Chat core
//!
//! Everything the Lambda functions of a LobbyBee Chat stack share: the domain (`model`,
//! `department`, `phone`), authentication (`auth`), configuration (`config`), the DynamoDB store
//! (`store`), socket delivery through the API Gateway Management API (`delivery`), the wire formats
//! (`frames` for sockets, `views` for REST), and the handlers themselves (`ws`, `webhook`, `rest`,
//! `outbound`).
//!
//! Each handler is a plain async function of an [`app::App`] (clients and configuration, built
//! once per process) and the typed event API Gateway sends, so the Lambdas, the local gateway in
//! `infra/` and the tests all run the very same code.

#![warn(missing_docs)]

pub mod app;
pub mod auth;
pub mod calls;
pub mod chat;
pub mod clock;
pub mod config;
pub mod delivery;
pub mod department;
pub mod frames;
pub mod http;
pub mod jobs;
pub mod lambda;
pub mod limits;
pub mod media;
pub mod model;
pub mod needs;
pub mod outbound;
pub mod phone;
pub mod push;
pub mod push_retry;
pub mod queues;
pub mod reopen;
pub mod rest;
pub mod secrets;
pub mod store;
pub mod telemetry;
pub mod views;
pub mod webhook;
pub mod ws;
