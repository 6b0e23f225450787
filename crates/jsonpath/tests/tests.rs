//! Integration tests: one binary, one module per concern.

mod corpus;
mod errors;
mod filters;
mod functions;
mod paths;
mod rendering;
mod robustness;
mod support;
