//! The `sifr` binary, run as a process.

mod eval;
mod run;
