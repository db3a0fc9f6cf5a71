//! Dropbox and Dropbox Business: webhooks, the HTTP API, and mapping changes to standard events.

pub mod api;
pub mod changes;
pub mod webhook;
