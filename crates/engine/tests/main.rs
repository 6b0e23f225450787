//! Integration tests of the pipeline engine, linked as one binary.

mod audit;
mod common;
mod definitions;
mod errors;
mod inputs;
mod rollups;
mod rows;
mod walkthrough;
