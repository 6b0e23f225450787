//! The `sifr` binary, run as a process.

mod apply;
mod client;
mod demo;
mod eval;
mod processor_cli;
mod resume;
mod run;
