//! HTTP tests of the server over real sockets: every test runs against a server on SQLite, and
//! against one on PostgreSQL too when `SIFR_TEST_DATABASE_URL` is set.

mod support;

mod access;
mod auth;
mod bad_input;
mod calculations;
mod impacts;
mod isolation;
mod oidc;
mod operations;
mod permissions;
mod pipelines;
mod processor;
mod processor_aggregations;
mod processor_downloads;
mod processor_resume;
mod processor_types;
mod referencedatasets;
mod sharing;
mod walkthrough;
