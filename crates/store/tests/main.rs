//! The store's story suite: every story runs against SQLite, and against PostgreSQL too when
//! `SIFR_TEST_DATABASE_URL` names a database the tests may create schemas in.

mod support;

mod access;
mod activity_segments;
mod aggregation_jobs;
mod concurrency;
mod resources;
mod tenants;
