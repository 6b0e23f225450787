//! The sifr formula language.
//!
//! A formula is compiled once against a [`Schema`] (the parameter names of an input row) into a
//! [`Program`], then evaluated for each row within a [`Session`] (the group in context and the
//! resources of one execution, pinned to the versions first resolved):
//!
//! ```
//! use std::sync::Arc;
//! use sifr_calc::{NoResources, Program, Row, Schema, Session, Value};
//!
//! let schema = Schema::new(["kwh", "factor"]);
//! let program = Program::compile(":kwh * :factor / 1000", &schema).unwrap();
//! let session = Session::new(Arc::new(NoResources), "/acme");
//! let row = [Value::Number(1500.into()), Value::Number("0.233".parse().unwrap())];
//! let co2e = program.evaluate(&session, Row::new(&row)).unwrap();
//! assert_eq!(co2e.to_string(), "0.3495");
//! ```
//!
//! The crate does no I/O: IMPACT, LOOKUP, calculation calls and ASSIGN_TO_GROUP read through
//! the [`ResourceSource`] trait.

pub mod audit;
mod compile;
pub mod corpus;
mod eval;
mod functions;
pub mod lookup;
pub mod number;
pub mod resources;
mod substitute;
pub mod syntax;
mod value;

pub use audit::Audit;
pub use compile::{CompileError, Program, Schema};
pub use eval::{EvalError, NoRefs, Refs, Row, Session};
pub use resources::{
    Activity, Calculation, CalculationParameter, Component, Dataset, DatasetBuilder, Found, Impact,
    LookupLog, NoResources, ReplayedResources, ResourceError, ResourceQuery, ResourceSource,
    VersionSelector,
};
pub use value::{InputError, InputType, Kind, Value};
