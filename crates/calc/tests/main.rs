//! Integration tests of the formula engine, linked as one binary.

mod corpus_vectors;
mod properties;
mod sessions;
