//! sifr's HTTP server: SIF's REST API, one router per SIF module under its own prefix (see
//! `compat-http.md`), identity and tokens, the generated OpenAPI document at `/openapi.json`,
//! `/healthz`, Prometheus `/metrics`, request ids, body limits and graceful shutdown.
//!
//! The API speaks to storage only through `sifr_store`'s traits and decides permissions only
//! through `sifr_domain::authorize`.

mod access;
mod admin;
mod auth;
mod calculations;
pub mod config;
mod error;
mod extract;
mod impacts;
mod listing;
mod middleware;
mod openapi;
mod pipelines;
mod processor;
mod referencedatasets;
mod resolve;
mod resources;
mod server;
mod sharing;
mod state;
pub mod tenancy;
mod transfers;

pub use config::{Config, ConfigError, OidcIssuer};
pub use error::ApiError;
pub use server::{Server, ServerError, store_settings};
pub use sharing::share;
pub use tenancy::{Provisioned, provision};
