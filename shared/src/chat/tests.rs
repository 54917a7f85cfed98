//! The chat rules against in-memory ports.
