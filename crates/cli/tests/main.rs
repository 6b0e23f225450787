//! The `sifr` binary, run as a process.

mod apply;
mod client;
mod eval;
mod resume;
mod run;
