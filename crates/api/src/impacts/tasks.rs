//! `/activityTasks`: bulk creation or change of activities as a task that runs in the server
//! process, batch by batch, recording one task item per activity.

use std::slice;

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sifr_domain::{
    Action, Cursor, ListRequest, NewResource, Resource, ResourceChange, ResourceKind,
    ResourceState, TagFilter, TagMap, TagPatch, authorize,
};
use utoipa::ToSchema;

use super::activities::{create_activity, new_body, update_activity};
use super::model::ActivityRequest;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{JsonBody, Query};
use crate::resources::{self, Access, Kind, Listing, body_of, load, stored_body};

/// Activities per batch, as SIF's `TASK_BATCH_SIZE`.
const BATCH_SIZE: usize = 100;
/// The page size of task and task-item listings without `count`.
const DEFAULT_COUNT: usize = 20;
/// The tag linking a task item to its task.
const TASK_TAG: &str = "task";
/// The tag holding a task item's status.
const STATUS_TAG: &str = "status";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum TaskType {
    Create,
    Update,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum TaskStatus {
    Waiting,
    InProgress,
    Success,
    Failure,
}

/// A task's own fields, as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskBody {
    #[serde(rename = "type")]
    kind: TaskType,
    task_status: TaskStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status_message: Option<String>,
    batches_total: usize,
    batches_completed: usize,
    items_total: usize,
    items_succeeded: usize,
    items_failed: usize,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskView {
    id: String,
    #[serde(rename = "type")]
    kind: TaskType,
    task_status: TaskStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_message: Option<String>,
    /// Percent of the batches done.
    progress: f64,
    batches_total: usize,
    batches_completed: usize,
    items_total: usize,
    items_succeeded: usize,
    items_failed: usize,
    groups: Vec<String>,
    created_by: String,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at: Option<String>,
}

pub struct ActivityTasks;

impl Kind for ActivityTasks {
    const KIND: ResourceKind = ResourceKind::new("activityTask");
    const PLURAL: &'static str = "tasks";
    const NOUN: &'static str = "Activity task";
    const TAG: &'static str = "impacts";
    type View = TaskView;

    fn view(resource: Resource) -> ApiResult<TaskView> {
        let body: TaskBody = body_of(&resource)?;
        let progress = if body.batches_total == 0 {
            100.0
        } else {
            // Counts of batches are small; the ratio is a display figure.
            body.batches_completed as f64 / body.batches_total as f64 * 100.0
        };
        Ok(TaskView {
            id: resource.id.to_string(),
            kind: body.kind,
            task_status: body.task_status,
            status_message: body.status_message,
            progress,
            batches_total: body.batches_total,
            batches_completed: body.batches_completed,
            items_total: body.items_total,
            items_succeeded: body.items_succeeded,
            items_failed: body.items_failed,
            groups: resource.groups.iter().map(ToString::to_string).collect(),
            created_by: resource.created_by,
            created_at: resource.created_at.to_string(),
            updated_at: resource.updated_at.map(|t| t.to_string()),
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum ItemStatus {
    Success,
    Failure,
}

impl ItemStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }
}

/// The outcome for one activity of a task.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskItem {
    /// The activity's name (its id for nameless `update` items).
    name: String,
    task_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    activity_id: Option<String>,
    status: ItemStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status_message: Option<String>,
}

pub struct TaskItems;

impl Kind for TaskItems {
    const KIND: ResourceKind = ResourceKind::new("activityTaskItem");
    const PLURAL: &'static str = "taskItems";
    const NOUN: &'static str = "Task item";
    const TAG: &'static str = "impacts";
    type View = TaskItem;

    fn view(resource: Resource) -> ApiResult<TaskItem> {
        body_of(&resource)
    }
}

/// The stored name of a task item: unique per task.
fn item_key(task: &str, name: &str) -> String {
    format!("{task}:{name}")
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskRequest {
    /// `create` or `update`.
    #[serde(rename = "type")]
    kind: String,
    /// `create` needs `name` on every item, `update` needs `id`.
    activities: Option<Vec<ActivityRequest>>,
}

/// Checks a task request whole, so that a task is only stored when every item can be tried.
fn check(request: &TaskRequest) -> ApiResult<(TaskType, &[ActivityRequest])> {
    let kind = match request.kind.as_str() {
        "create" => TaskType::Create,
        "update" => TaskType::Update,
        _ => return Err(ApiError::BadRequest("unsupported task type".into())),
    };
    let items = match request.activities.as_deref() {
        Some(items) if !items.is_empty() => items,
        _ => return Err(ApiError::BadRequest("body/activities not defined".into())),
    };
    for (i, item) in items.iter().enumerate() {
        let at = format!("body/activities/{i}");
        match kind {
            TaskType::Create => {
                if item.name.is_none() {
                    return Err(ApiError::Validation(format!(
                        "{at} must have required property name"
                    )));
                }
                new_body(item, &at)?;
            }
            TaskType::Update => {
                if item.id.is_none() {
                    return Err(ApiError::Validation(format!(
                        "{at} must have required property id"
                    )));
                }
                item.active_at(&at)?;
            }
        }
    }
    Ok((kind, items))
}

/// Starts a task creating or changing many activities; poll it for its progress.
#[utoipa::path(
    post, path = "/activityTasks", tag = "impacts", request_body = TaskRequest,
    responses(
        (status = 201, description = "Accepted; the task runs in the background", body = TaskView),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    caller: Caller,
    JsonBody(request): JsonBody<TaskRequest>,
) -> ApiResult<(StatusCode, Json<TaskView>)> {
    let (kind, items) = check(&request)?;
    resources::require_context(&caller).await?;
    authorize(&caller.context, Action::CreateResource)?;
    let body = TaskBody {
        kind,
        task_status: TaskStatus::Waiting,
        status_message: None,
        batches_total: items.len().div_ceil(BATCH_SIZE),
        batches_completed: 0,
        items_total: items.len(),
        items_succeeded: 0,
        items_failed: 0,
    };
    let task = caller
        .tenant
        .create_resource(NewResource {
            kind: ActivityTasks::KIND,
            name: None,
            group: caller.context.group.clone(),
            state: ResourceState::Enabled,
            tags: TagMap::default(),
            body: stored_body(&body)?,
            active_at: None,
            created_by: caller.email().to_owned(),
        })
        .await?;
    let view = ActivityTasks::view(task.clone())?;
    let items = request.activities.unwrap_or_default();
    // The task runs with the caller's security context as it was at request time.
    tokio::spawn(async move {
        let id = task.id.clone();
        if let Err(error) = run(&caller, task, kind, items).await {
            tracing::error!(task = %id, %error, "activity task stopped");
            stop(&caller, &id, &error).await;
        }
    });
    Ok((StatusCode::CREATED, Json(view)))
}

/// Writes the task's next state.
async fn save_task(caller: &Caller, task: &Resource, body: &TaskBody) -> ApiResult<Resource> {
    let change = ResourceChange {
        body: Some(stored_body(body)?),
        ..ResourceChange::default()
    };
    Ok(caller
        .tenant
        .update_resource(
            ActivityTasks::KIND,
            &task.id,
            Some(task.version),
            change,
            caller.email(),
        )
        .await?)
}

/// Marks a task that could not finish as failed, with the reason.
async fn stop(caller: &Caller, id: &sifr_domain::ResourceId, error: &ApiError) {
    let Ok(Some(task)) = caller.tenant.resource(ActivityTasks::KIND, id).await else {
        return;
    };
    let Ok(mut body) = body_of::<TaskBody>(&task) else {
        return;
    };
    body.task_status = TaskStatus::Failure;
    body.status_message = Some(error.to_string());
    if let Err(e) = save_task(caller, &task, &body).await {
        tracing::error!(task = %id, error = %e, "cannot record the failure of an activity task");
    }
}

/// Processes the items batch by batch with the security context of the request.
async fn run(
    caller: &Caller,
    mut task: Resource,
    kind: TaskType,
    items: Vec<ActivityRequest>,
) -> ApiResult<()> {
    for batch in items.chunks(BATCH_SIZE) {
        let mut body: TaskBody = body_of(&task)?;
        if body.task_status == TaskStatus::Waiting {
            body.task_status = TaskStatus::InProgress;
            task = save_task(caller, &task, &body).await?;
        }
        let (mut succeeded, mut failed) = (0, 0);
        for item in batch {
            let name = item
                .name
                .clone()
                .or_else(|| item.id.clone())
                .unwrap_or_default();
            let outcome = match kind {
                TaskType::Create => create_activity(caller, item.clone(), "body").await,
                TaskType::Update => {
                    let id = item.id.clone().unwrap_or_default();
                    update_activity(caller, &id, item.clone(), "body").await
                }
            };
            let record = match outcome {
                Ok(activity) => {
                    succeeded += 1;
                    TaskItem {
                        name,
                        task_id: task.id.to_string(),
                        activity_id: Some(activity.id.to_string()),
                        status: ItemStatus::Success,
                        status_message: None,
                    }
                }
                Err(error) => {
                    failed += 1;
                    TaskItem {
                        name,
                        task_id: task.id.to_string(),
                        activity_id: None,
                        status: ItemStatus::Failure,
                        status_message: Some(error.to_string()),
                    }
                }
            };
            record_item(caller, &task, record).await?;
        }
        body.batches_completed += 1;
        body.items_succeeded += succeeded;
        body.items_failed += failed;
        if body.batches_completed >= body.batches_total {
            body.task_status = TaskStatus::Success;
        }
        task = save_task(caller, &task, &body).await?;
    }
    Ok(())
}

/// Stores a task item; a later item of the same name replaces the earlier one, as in SIF.
async fn record_item(caller: &Caller, task: &Resource, item: TaskItem) -> ApiResult<()> {
    let key = item_key(task.id.as_str(), &item.name);
    let group = task
        .owner()
        .cloned()
        .ok_or_else(|| ApiError::Internal(format!("task '{}' has no group", task.id)))?;
    let mut tags = TagMap::default();
    let entries = [
        (TASK_TAG.to_owned(), Some(task.id.to_string())),
        (STATUS_TAG.to_owned(), Some(item.status.as_str().to_owned())),
    ];
    let patch = TagPatch::parse(entries.into_iter().collect())?;
    tags.apply(&patch);
    let store = &caller.tenant;
    let existing = store
        .resources_named(TaskItems::KIND, &key, slice::from_ref(&group))
        .await?;
    match existing.first() {
        Some(previous) => {
            let change = ResourceChange {
                tags: Some(patch),
                body: Some(stored_body(&item)?),
                ..ResourceChange::default()
            };
            store
                .update_resource(TaskItems::KIND, &previous.id, None, change, caller.email())
                .await?;
        }
        None => {
            store
                .create_resource(NewResource {
                    kind: TaskItems::KIND,
                    name: Some(key),
                    group,
                    state: ResourceState::Enabled,
                    tags,
                    body: stored_body(&item)?,
                    active_at: None,
                    created_by: caller.email().to_owned(),
                })
                .await?;
        }
    }
    Ok(())
}

/// The `pagination` of a task listing.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskPagination {
    /// Pass as `fromToken` for the next page.
    last_evaluated: String,
}

/// Lists the tasks of the group in context.
#[utoipa::path(
    get, path = "/activityTasks", tag = "impacts",
    params(
        ("count" = Option<usize>, Query, description = "Page size (default 20)"),
        ("fromToken" = Option<String>, Query, description = "Token of the previous page"),
    ),
    responses((status = 200, description = "`{\"tasks\": [...], \"pagination\"?: {\"lastEvaluated\"}}`"), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn list(
    caller: Caller,
    query: Query,
) -> ApiResult<Json<Listing<ActivityTasks, TaskPagination>>> {
    let after = query
        .get("fromToken")
        .filter(|t| !t.is_empty())
        .map(Cursor::from_token)
        .transpose()?;
    let mut request = ListRequest::new(caller.context.group.clone());
    request.count = Some(query.count("count")?.unwrap_or(DEFAULT_COUNT));
    request.after = after;
    resources::require_context(&caller).await?;
    let context = &caller.context;
    authorize(
        context,
        Action::ReadResource(slice::from_ref(&context.group)),
    )?;
    let page = caller
        .tenant
        .list_resources(ActivityTasks::KIND, &request)
        .await?;
    let pagination = page.next.as_ref().map(|next| TaskPagination {
        last_evaluated: next.to_token(),
    });
    let tasks = page
        .items
        .into_iter()
        .map(ActivityTasks::view)
        .collect::<ApiResult<_>>()?;
    Ok(Json(Listing::new(tasks, pagination)))
}

/// Reads a task and its progress.
#[utoipa::path(
    get, path = "/activityTasks/{id}", tag = "impacts",
    params(("id" = String, Path, description = "The task id")),
    responses((status = 200, body = TaskView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn get(caller: Caller, Path(id): Path<String>) -> ApiResult<Json<TaskView>> {
    let task = load::<ActivityTasks>(&caller, &id, Access::Read).await?;
    Ok(Json(ActivityTasks::view(task)?))
}

/// Every item of a task, page by page.
async fn all_items(caller: &Caller, task: &Resource) -> ApiResult<Vec<Resource>> {
    let mut request = items_request(task, None)?;
    request.count = Some(500);
    let mut all = Vec::new();
    loop {
        let page = caller
            .tenant
            .list_resources(TaskItems::KIND, &request)
            .await?;
        all.extend(page.items);
        match page.next {
            Some(next) => request.after = Some(next),
            None => return Ok(all),
        }
    }
}

/// Deletes a task and its items (activities it made stay).
#[utoipa::path(
    delete, path = "/activityTasks/{id}", tag = "impacts",
    params(("id" = String, Path, description = "The task id")),
    responses((status = 204, description = "Deleted"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn delete(caller: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let task = load::<ActivityTasks>(&caller, &id, Access::Delete).await?;
    caller
        .tenant
        .delete_resource(ActivityTasks::KIND, &task.id)
        .await?;
    for item in all_items(&caller, &task).await? {
        caller
            .tenant
            .delete_resource(TaskItems::KIND, &item.id)
            .await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The listing of a task's items, those of `status` when given.
fn items_request(task: &Resource, status: Option<ItemStatus>) -> ApiResult<ListRequest> {
    let group = task
        .owner()
        .cloned()
        .ok_or_else(|| ApiError::Internal(format!("task '{}' has no group", task.id)))?;
    let mut request = ListRequest::new(group);
    request
        .tags
        .push(TagFilter::parse(&format!("{TASK_TAG}:{}", task.id))?);
    if let Some(status) = status {
        request.tags.push(TagFilter::parse(&format!(
            "{STATUS_TAG}:{}",
            status.as_str()
        ))?);
    }
    Ok(request)
}

/// The `pagination` of a task-item listing.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ItemPagination {
    count: usize,
    /// Pass as `fromName` for the next page.
    #[serde(skip_serializing_if = "Option::is_none")]
    last_evaluated_id: Option<String>,
}

/// Lists the items of a task.
#[utoipa::path(
    get, path = "/activityTasks/{id}/taskItems", tag = "impacts",
    params(
        ("id" = String, Path, description = "The task id"),
        ("count" = Option<usize>, Query, description = "Page size (default 20)"),
        ("fromName" = Option<String>, Query, description = "Start after the item of this name"),
        ("status" = Option<String>, Query, description = "`success` or `failure`"),
    ),
    responses((status = 200, description = "`{\"taskItems\": [...], \"pagination\"?: {\"count\", \"lastEvaluatedId\"}}`"), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn items(
    caller: Caller,
    Path(id): Path<String>,
    query: Query,
) -> ApiResult<Json<Listing<TaskItems, ItemPagination>>> {
    let count = query.count("count")?.unwrap_or(DEFAULT_COUNT);
    let status = match query.get("status") {
        None => None,
        Some("success") => Some(ItemStatus::Success),
        Some("failure") => Some(ItemStatus::Failure),
        Some(_) => {
            return Err(ApiError::Validation(
                "querystring/status must be equal to one of the allowed values: success, failure"
                    .into(),
            ));
        }
    };
    let task = load::<ActivityTasks>(&caller, &id, Access::Read).await?;
    let mut request = items_request(&task, status)?;
    request.count = Some(count);
    if let Some(from) = query.get("fromName").filter(|n| !n.is_empty()) {
        let previous = caller
            .tenant
            .resources_named(
                TaskItems::KIND,
                &item_key(task.id.as_str(), from),
                slice::from_ref(&request.group),
            )
            .await?;
        let previous = previous.first().ok_or_else(|| {
            ApiError::BadRequest(format!(
                "Task '{}' has no item '{from}' to start after.",
                task.id
            ))
        })?;
        request.after = Some(Cursor {
            id: previous.id.to_string(),
            group: request.group.to_string(),
        });
    }
    let page = caller
        .tenant
        .list_resources(TaskItems::KIND, &request)
        .await?;
    let items: Vec<TaskItem> = page
        .items
        .into_iter()
        .map(TaskItems::view)
        .collect::<ApiResult<_>>()?;
    let pagination = ItemPagination {
        count: items.len(),
        last_evaluated_id: page
            .next
            .and_then(|_| items.last().map(|item| item.name.clone())),
    };
    Ok(Json(Listing::new(items, Some(pagination))))
}

/// Reads the item of one activity of a task.
#[utoipa::path(
    get, path = "/activityTasks/{id}/taskItems/{name}", tag = "impacts",
    params(("id" = String, Path, description = "The task id"), ("name" = String, Path, description = "The activity name")),
    responses((status = 200, body = TaskItem), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn item(
    caller: Caller,
    Path((id, name)): Path<(String, String)>,
) -> ApiResult<Json<TaskItem>> {
    let task = load::<ActivityTasks>(&caller, &id, Access::Read).await?;
    let group = task.owner().cloned().into_iter().collect::<Vec<_>>();
    let found = caller
        .tenant
        .resources_named(TaskItems::KIND, &item_key(task.id.as_str(), &name), &group)
        .await?;
    let item = found
        .into_iter()
        .next()
        .ok_or_else(|| resources::not_found::<TaskItems>(&name))?;
    Ok(Json(TaskItems::view(item)?))
}
