//! The pipeline processor of SIF, served under `/pipelineProcessor`: executions of pipelines
//! of every type over uploaded, inline or another pipeline's input, the activities they store
//! (with every version), the audit records of each, metric (KPI) values, and CSV downloads of
//! them.

mod activities;
mod activity_input;
mod aggregations;
mod audit_source;
mod connectors;
mod dataset_pipeline;
mod downloads;
mod executions;
mod impacts_pipeline;
mod metrics;
mod runner;
mod values;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) use self::executions::{ExecutionUploads, UPLOAD_PURPOSE};
pub(crate) use self::runner::{Runner, resume};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(executions::create, executions::list))
        .routes(routes!(executions::get))
        .routes(routes!(executions::error_download_url))
        .routes(routes!(executions::output_download_url))
        .routes(routes!(activities::list))
        .routes(routes!(activities::audits))
        .routes(routes!(metrics::list))
        .routes(routes!(aggregations::create, aggregations::list))
        .routes(routes!(aggregations::update, aggregations::delete))
        .routes(routes!(downloads::activities_start))
        .routes(routes!(downloads::activities_get))
        .routes(routes!(downloads::metrics_start))
        .routes(routes!(downloads::metrics_get))
        .routes(routes!(downloads::audit_export))
}
