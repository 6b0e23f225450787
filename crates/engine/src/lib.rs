//! sifr's pipeline execution engine.
//!
//! A [`PipelineDefinition`] (SIF's JSON shape) is validated and compiled once into a [`Plan`].
//! [`execute`] then streams an input ([`RowReader`]: [`CsvInput`], or [`RowsInput`] for rows
//! that are not a file) through it: one thread reads chunks of rows, every core evaluates
//! chunks (typed parameters, outputs in transform order, activity date, group and unique
//! keys, SIF's row and cell errors, audit records), and the results reach an [`ActivitySink`]
//! in input order — files for `sifr run` ([`FileSink`]), the activity store for the server.
//! Pipeline aggregations and metrics are accumulated per chunk and rolled up at the end
//! ([`Outcome`]).
//!
//! ```no_run
//! use std::sync::Arc;
//! use sifr_engine::*;
//!
//! let definition = PipelineDefinition::from_json(&std::fs::read_to_string("p.json")?)?;
//! let resources = FileResources::open("resources".as_ref())?;
//! let plan = Plan::new(definition, resources.metrics())?;
//! let options = ExecutionOptions::new("pipeline-id", "execution-id", "/acme");
//! let csv = CsvOptions::from_connector(plan.definition().connector_config.as_ref())?;
//! let input = CsvInput::new(std::fs::File::open("data.csv")?, &plan.definition().transformer.parameters, &csv)?;
//! let mut sink = FileSink::create("out".as_ref(), &plan, options.audit)?;
//! let outcome = execute(&plan, input, Arc::new(resources), &options, &mut sink, &NoProgress)?;
//! println!("{} rows stored, {} errors", outcome.rows_stored, outcome.errors());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod aggregate;
pub mod audit;
pub mod definition;
mod error;
mod execute;
pub mod files;
pub mod input;
mod memo;
pub mod metrics;
mod plan;
mod process;
pub mod replay;
pub mod resources;
pub mod stored;
mod validate;

pub use aggregate::{AggregateRow, Aggregates, AggregationPlan};
pub use audit::{AuditBatch, AuditFormat};
pub use definition::{MetricDefinition, PipelineDefinition, PipelineType, ValueType};
pub use error::{EngineError, ErrorKind, InputError, RowError, SinkError};
pub use execute::{
    ActivitySink, ChunkEncoder, DEFAULT_CHUNK_ROWS, ExecutionOptions, NoProgress, Outcome,
    Progress, execute,
};
pub use files::FileSink;
pub use input::{CsvInput, CsvOptions, EmptyCells, InputChunk, InputRecord, RowReader, RowsInput};
pub use metrics::{MetricDays, MetricPlan, MetricRow, TimeUnit};
pub use plan::{OutputPlan, ParameterPlan, Plan, PlanError};
pub use process::{ChunkOutput, RowInfo, StoredRow, StoredRows};
pub use replay::{ChunkSpan, replay_audits};
pub use resources::FileResources;
pub use stored::{Fixed, Stored};
pub use validate::{MAX_UNIQUE_OUTPUTS, ROW_IDENTIFIER, ROW_NUMBER};
