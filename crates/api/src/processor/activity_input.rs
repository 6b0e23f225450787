//! The activity input connector: a pipeline reads, as its input rows, the activities another
//! pipeline (`pipelineId`) stored in the execution's group: their latest values, or the
//! versions one of its executions (`executionId`) wrote. Each activity is the row
//! `GET /activities` shows (`activityId`, `date`, `pipelineId`, `executionId`, `auditId`,
//! `createdAt` and every output; numbers as stored, timestamps in RFC 3339), and each parameter
//! takes, as text, the field named like its key, as SIF's connector handed activities on.
//! Activities are read a page at a time while the engine evaluates.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use serde_json::{Map, Value as JsonValue};
use sifr_domain::{Action, authorize};
use sifr_engine::{InputError, InputRecord, Plan, ValueType};
use sifr_store::{ActivityQuery, ActivityRecord, TenantStore};
use tokio::runtime::Handle;

use super::activities;
use super::executions::Execution;
use crate::auth::Caller;
use crate::calculations::dry_run::input_record;
use crate::error::{ApiError, ApiResult};
use crate::pipelines::{self, Pipelines};
use crate::resources::{Access, load};

/// Activities per read, as SIF's connector paged.
const PAGE: u64 = 1000;

/// The activities an execution reads, from the connector's parameters.
#[derive(Clone, Debug)]
pub(crate) struct ActivitySource {
    pipeline_id: String,
    execution_id: Option<String>,
}

impl ActivitySource {
    pub(crate) fn from_parameters(
        connector: &str,
        parameters: &Map<String, JsonValue>,
    ) -> ApiResult<Self> {
        let text = |name: &str| -> ApiResult<Option<String>> {
            match parameters.get(name) {
                None | Some(JsonValue::Null) => Ok(None),
                Some(JsonValue::String(s)) if s.trim().is_empty() => Ok(None),
                Some(JsonValue::String(s)) => Ok(Some(s.trim().to_owned())),
                Some(other) => Err(ApiError::BadRequest(format!(
                    "Connector {connector} parameter {name} must be a string, not {other}."
                ))),
            }
        };
        let pipeline_id = text("pipelineId")?.ok_or_else(|| {
            ApiError::BadRequest(format!(
                "Connector {connector} needs pipelineId: the pipeline whose activities are read."
            ))
        })?;
        Ok(Self {
            pipeline_id,
            execution_id: text("executionId")?,
        })
    }

    /// The store query of the activities, once `caller` may read the source pipeline and the
    /// activities of its group, and the execution (if any) is one of that pipeline's; with the
    /// type of every output the pipeline has had.
    async fn open(
        &self,
        caller: &Caller,
    ) -> ApiResult<(ActivityQuery, BTreeMap<String, ValueType>)> {
        let pipeline = load::<Pipelines>(caller, &self.pipeline_id, Access::Read).await?;
        authorize(&caller.context, Action::ReadActivities)?;
        if let Some(id) = &self.execution_id {
            let execution = Execution::load(caller.tenant.processor(), id).await?;
            if execution.pipeline_id != pipeline.id.as_str() {
                return Err(ApiError::BadRequest(format!(
                    "Pipeline execution '{id}' is an execution of pipeline '{}', not of '{}'.",
                    execution.pipeline_id, pipeline.id
                )));
            }
        }
        let query = ActivityQuery {
            pipeline_id: Some(pipeline.id.to_string()),
            execution_id: self.execution_id.clone(),
            group: caller.context.group.to_string(),
            ..ActivityQuery::default()
        };
        Ok((query, pipelines::output_types(&pipeline)?))
    }

    /// Checks that `caller` may read the activities (400, 403 or 404 otherwise).
    pub(crate) async fn check(&self, caller: &Caller) -> ApiResult<()> {
        self.open(caller).await.map(|_| ())
    }

    /// The activities as input rows of `plan`. Must be called on the server's runtime; the
    /// rows are read on a blocking thread.
    pub(crate) async fn rows(&self, caller: &Caller, plan: Arc<Plan>) -> ApiResult<ActivityRows> {
        let (query, types) = self.open(caller).await?;
        Ok(ActivityRows {
            runtime: Handle::current(),
            tenant: caller.tenant.clone(),
            query,
            types,
            plan,
            page: VecDeque::new(),
            offset: 0,
            exhausted: false,
        })
    }
}

/// Reads the activities page by page, each as a row of the reading pipeline's parameters.
pub(crate) struct ActivityRows {
    runtime: Handle,
    tenant: Arc<dyn TenantStore>,
    query: ActivityQuery,
    types: BTreeMap<String, ValueType>,
    plan: Arc<Plan>,
    page: VecDeque<ActivityRecord>,
    offset: u64,
    exhausted: bool,
}

impl ActivityRows {
    fn failure(&self, message: impl std::fmt::Display) -> InputError {
        InputError::Read {
            line: None,
            message: format!(
                "the activities of pipeline {}: {message}",
                self.query.pipeline_id.as_deref().unwrap_or_default()
            ),
        }
    }
}

impl Iterator for ActivityRows {
    type Item = Result<InputRecord, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.page.is_empty() && !self.exhausted {
            let query = ActivityQuery {
                offset: self.offset,
                limit: Some(PAGE),
                ..self.query.clone()
            };
            match self
                .runtime
                .block_on(self.tenant.processor().activities(&query))
            {
                Ok(records) => {
                    self.exhausted = (records.len() as u64) < PAGE;
                    self.offset += records.len() as u64;
                    self.page.extend(records);
                }
                Err(e) => {
                    self.exhausted = true;
                    return Some(Err(self.failure(e)));
                }
            }
        }
        let record = self.page.pop_front()?;
        Some(match activities::row(&record, &self.types, false) {
            Ok(row) => Ok(input_record(self.plan.parameters(), &row, false)),
            Err(e) => Err(self.failure(e)),
        })
    }
}
