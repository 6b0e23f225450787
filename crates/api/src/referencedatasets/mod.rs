//! The reference-datasets module of SIF, served under `/referenceDatasets`: CSV lookup tables
//! that formulas read with LOOKUP. A dataset's CSV arrives inline (`data`), as a multipart file
//! part, or later on an upload URL (`datasetSource: s3`); it is kept as a blob per change, and
//! parsed in the background, after which the version becomes `enabled`/`success` (or
//! `disabled`/`failed` with the reason). Processing status is recorded on the version itself,
//! as SIF did, without writing a new version.

mod form;
mod library;
mod processing;
mod table;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sifr_domain::{
    Action, NewResource, Resource, ResourceChange, ResourceId, ResourceKind, ResourceState, TagMap,
    TagPatch, authorize,
};
use sifr_store::BlobKey;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use self::form::Form;
pub(crate) use self::library::{DatasetLibrary, resolve_dataset};
pub(crate) use self::processing::{DatasetUploads, UPLOAD_PURPOSE, resume};
use crate::auth::Caller;
use crate::calculations::active_at;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::resources::{self, Access, Common, Endpoint, Kind, body_of, load, stored_body};
use crate::state::AppState;
use crate::transfers::{self, Direction, PublicUrl, Transfers};

pub(crate) struct Datasets;

impl Kind for Datasets {
    const KIND: ResourceKind = ResourceKind::new("referenceDataset");
    const PLURAL: &'static str = "referenceDatasets";
    const NOUN: &'static str = "Reference Dataset";
    const TAG: &'static str = "referenceDatasets";
    type View = DatasetView;

    fn view(resource: Resource) -> ApiResult<DatasetView> {
        DatasetView::of(&resource, None)
    }

    fn missing(id: &str) -> String {
        format!("Reference Dataset {id} cannot be found")
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    let mut shared = resources::VERSIONED.to_vec();
    shared.push(Endpoint::Tags);
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(update))
        .routes(routes!(data))
        .routes(routes!(version_data))
        .routes(routes!(index))
        .routes(routes!(version_index))
        .merge(resources::routes::<Datasets>(&shared))
}

/// Where a dataset's CSV is in its life.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) enum Status {
    /// Waiting for the file on the upload URL.
    PendingUpload,
    /// The file is being read and indexed.
    #[default]
    InProgress,
    Success,
    Failed,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Self::PendingUpload => "pendingUpload",
            Self::InProgress => "inProgress",
            Self::Success => "success",
            Self::Failed => "failed",
        }
    }
}

const PROCESSING: &str = "processing dataset(csv)";
const AWAITING_UPLOAD: &str = "expecting dataset(csv) to be uploaded using the signed url";
const HEADERS_DIFFER: &str = "datasetHeaders property does not match csv file header";
const FILE_HEADERS_DIFFER: &str =
    "mismatched file headers, verify file headers match with reference dataset headers";

/// The module's fields of a version, as stored. `file` and `change` are internal.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StoredBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(default)]
    dataset_headers: Vec<String>,
    #[serde(default)]
    status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status_message: Option<String>,
    /// The blob of this version's CSV; none before the first upload arrives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    file: Option<String>,
    /// The change whose file is awaited or being processed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    change: Option<String>,
}

impl StoredBody {
    fn file(&self) -> ApiResult<Option<BlobKey>> {
        self.file
            .as_deref()
            .map(BlobKey::parse)
            .transpose()
            .map_err(ApiError::from)
    }
}

/// A reference dataset as responses show it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DatasetView {
    #[serde(flatten)]
    common: Common,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    /// The CSV's header names.
    dataset_headers: Vec<String>,
    status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_message: Option<String>,
    /// Where to `PUT` the CSV (`Content-Type: text/csv`), for 5 minutes, after a request with
    /// `datasetSource: s3`.
    #[serde(skip_serializing_if = "Option::is_none")]
    upload_url: Option<String>,
}

impl DatasetView {
    fn of(resource: &Resource, upload_url: Option<String>) -> ApiResult<Self> {
        let body: StoredBody = body_of(resource)?;
        Ok(Self {
            common: Common::of(resource),
            description: body.description,
            dataset_headers: body.dataset_headers,
            status: body.status,
            status_message: body.status_message,
            upload_url,
        })
    }
}

/// Where the CSV comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) enum Source {
    /// An upload URL handed out in the response.
    S3,
    /// `data` in the request.
    HttpBody,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NewDatasetRequest {
    name: String,
    /// The CSV, first row the headers.
    data: Option<String>,
    dataset_source: Option<Source>,
    description: Option<String>,
    /// The CSV's header names, in any order; taken from the file when absent.
    dataset_headers: Option<Vec<String>>,
    #[schema(value_type = Option<HashMap<String, Option<String>>>)]
    tags: Option<TagPatch>,
    /// ISO-8601 date-time at which this version takes effect.
    active_at: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EditDatasetRequest {
    description: Option<String>,
    dataset_source: Option<Source>,
    data: Option<String>,
    dataset_headers: Option<Vec<String>>,
    state: Option<ResourceState>,
    /// Keys set to null or `""` are removed; others are set.
    #[schema(value_type = Option<HashMap<String, Option<String>>>)]
    tags: Option<TagPatch>,
    active_at: Option<String>,
}

impl EditDatasetRequest {
    fn changes_anything(&self) -> bool {
        self.description.is_some()
            || self.dataset_source.is_some()
            || self.data.is_some()
            || self.dataset_headers.is_some()
            || self.state.is_some()
            || self.tags.is_some()
            || self.active_at.is_some()
    }
}

/// A new change id, unique among all changes of all datasets: its file's key is made of it.
fn change_id() -> String {
    ResourceId::generate().to_string()
}

/// The blob of a change's CSV.
fn file_key(tenant: &str, change: &str) -> ApiResult<BlobKey> {
    Ok(BlobKey::parse(&format!(
        "tenants/{tenant}/referenceDatasets/{change}/data.csv"
    ))?)
}

/// The URL to `PUT` a change's CSV to.
fn upload_url(
    state: &AppState,
    url: &PublicUrl,
    caller: &Caller,
    id: &ResourceId,
    change: &str,
) -> ApiResult<String> {
    let ticket = Transfers::ticket(
        Direction::Upload,
        UPLOAD_PURPOSE,
        caller.tenant_id.as_str(),
        id.as_str(),
        change,
        &file_key(caller.tenant_id.as_str(), change)?,
    );
    Ok(url.upload(&state.transfers, &ticket))
}

/// Reads and checks inline CSV text on a blocking thread.
async fn parse(data: String) -> ApiResult<sifr_calc::Dataset> {
    tokio::task::spawn_blocking(move || table::read_dataset(data.as_bytes(), "", "", 0))
        .await
        .map_err(|e| ApiError::Internal(format!("reading a CSV failed: {e}")))?
        .map_err(|e| ApiError::BadRequest(e.to_string()))
}

/// Stores inline CSV text at `key`.
async fn store_file(state: &AppState, key: &BlobKey, data: &str) -> ApiResult<()> {
    state.blobs.put(key, &mut data.as_bytes()).await?;
    Ok(())
}

/// Creates a reference dataset in the group in context. Its CSV comes inline (`data`, JSON or
/// a multipart file part) or later on the `uploadUrl` of the response (`datasetSource: s3`).
#[utoipa::path(
    post, path = "/referenceDatasets", tag = "referenceDatasets", request_body = NewDatasetRequest,
    responses(
        (status = 201, description = "Created, frozen while the CSV is processed; header x-referenceDatasetId carries the id", body = DatasetView),
        (status = 400, description = "Invalid body, a CSV that cannot be read, or headers that differ from datasetHeaders", body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The name is in use in the group", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    caller: Caller,
    url: PublicUrl,
    State(state): State<AppState>,
    Form(request): Form<NewDatasetRequest>,
) -> ApiResult<Response> {
    let (created, awaited) = create_dataset(&state, &caller, request).await?;
    let upload_url = awaited
        .map(|change| upload_url(&state, &url, &caller, &created.id, &change))
        .transpose()?;
    let id = created.id.to_string();
    Ok((
        StatusCode::CREATED,
        [(HeaderName::from_static("x-referencedatasetid"), id)],
        Json(DatasetView::of(&created, upload_url)?),
    )
        .into_response())
}

/// Creates a dataset in the group in context. Returns it and, when its CSV is to be uploaded
/// (`datasetSource: s3`), the change that awaits the file.
async fn create_dataset(
    state: &AppState,
    caller: &Caller,
    request: NewDatasetRequest,
) -> ApiResult<(Resource, Option<String>)> {
    resources::require_context(caller).await?;
    authorize(&caller.context, Action::CreateResource)?;
    let active_at = active_at(request.active_at.as_deref())?;
    if request.name.trim().is_empty() {
        return Err(ApiError::Validation(
            "body/name must NOT have fewer than 1 characters".into(),
        ));
    }
    let mut tags = TagMap::default();
    if let Some(patch) = &request.tags {
        tags.apply(patch);
    }
    let change = change_id();
    let mut body = StoredBody {
        description: request.description,
        dataset_headers: request.dataset_headers.clone().unwrap_or_default(),
        change: Some(change.clone()),
        ..StoredBody::default()
    };
    let upload = request.dataset_source == Some(Source::S3);
    let mut parsed = None;
    if upload {
        body.status = Status::PendingUpload;
        body.status_message = Some(AWAITING_UPLOAD.into());
    } else {
        let data = request.data.as_ref().ok_or_else(|| {
            ApiError::Validation(
                "body must have required property 'data', or set datasetSource to s3 to upload the CSV to a URL"
                    .into(),
            )
        })?;
        let dataset = parse(data.clone()).await?;
        match &request.dataset_headers {
            Some(declared) if !table::headers_match(dataset.headers(), declared) => {
                return Err(ApiError::BadRequest(HEADERS_DIFFER.into()));
            }
            Some(_) => {}
            None => body.dataset_headers = dataset.headers().to_vec(),
        }
        body.status = Status::InProgress;
        body.status_message = Some(PROCESSING.into());
        parsed = Some(dataset);
    }
    let key = file_key(caller.tenant_id.as_str(), &change)?;
    if let Some(data) = &request.data.filter(|_| !upload) {
        store_file(state, &key, data).await?;
        body.file = Some(key.to_string());
    }
    let created = caller
        .tenant
        .create_resource(NewResource {
            kind: Datasets::KIND,
            name: Some(request.name),
            group: caller.context.group.clone(),
            state: ResourceState::Frozen,
            tags,
            body: stored_body(&body)?,
            active_at,
            created_by: caller.email().to_owned(),
        })
        .await;
    let created = match created {
        Ok(created) => created,
        Err(e) => {
            // Nothing refers to the file: remove it (best effort; an orphan only takes space).
            if body.file.is_some() {
                let _ = state.blobs.delete(&key).await;
            }
            return Err(e.into());
        }
    };
    if upload {
        return Ok((created, Some(change)));
    }
    processing::start(
        state,
        caller.tenant.clone(),
        created.clone(),
        change,
        key,
        parsed,
    );
    Ok((created, None))
}

/// Writes a new version of a reference dataset: new metadata, new `datasetHeaders` (checked
/// against the current file), a new CSV inline, or an upload URL for one (`datasetSource: s3`).
/// A new CSV whose headers differ from `datasetHeaders` is kept out, and the version is saved
/// `disabled`/`failed` saying so, as SIF does.
#[utoipa::path(
    patch, path = "/referenceDatasets/{id}", tag = "referenceDatasets", request_body = EditDatasetRequest,
    params(("id" = String, Path, description = "The reference dataset id")),
    responses(
        (status = 200, description = "The new version (with uploadUrl for datasetSource s3)", body = DatasetView),
        (status = 400, description = "Invalid body, a CSV that cannot be read, headers that differ from the current file, or a disabled dataset updated without a state", body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn update(
    caller: Caller,
    url: PublicUrl,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(request): Form<EditDatasetRequest>,
) -> ApiResult<Response> {
    let (updated, awaited) = update_dataset(&state, &caller, &id, request).await?;
    let upload_url = awaited
        .map(|change| upload_url(&state, &url, &caller, &updated.id, &change))
        .transpose()?;
    Ok(Json(DatasetView::of(&updated, upload_url)?).into_response())
}

/// Writes a new version of dataset `id`. Returns it and, when its CSV is to be uploaded
/// (`datasetSource: s3`), the change that awaits the file.
async fn update_dataset(
    state: &AppState,
    caller: &Caller,
    id: &str,
    request: EditDatasetRequest,
) -> ApiResult<(Resource, Option<String>)> {
    let current = load::<Datasets>(caller, id, Access::Update).await?;
    if current.state == ResourceState::Disabled
        && request.changes_anything()
        && request.state.is_none()
    {
        return Err(ApiError::BadRequest(format!(
            "Cannot update {} since its current state is disabled",
            current.id
        )));
    }
    let active_at = active_at(request.active_at.as_deref())?;
    let mut body: StoredBody = body_of(&current)?;
    if let Some(description) = request.description {
        body.description = Some(description);
    }
    let declared = request.dataset_headers.clone();
    let upload = request.dataset_source == Some(Source::S3);
    if let (Some(declared), None, false) = (&declared, &request.data, upload)
        && let Some(file) = body.file()?
    {
        let headers = state.datasets.headers(&file).await?;
        if !table::headers_match(&headers, declared) {
            return Err(ApiError::BadRequest(HEADERS_DIFFER.into()));
        }
    }
    if let Some(declared) = &declared {
        body.dataset_headers = declared.clone();
    }
    let mut derived_state = None;
    let mut parsed = None;
    let mut new_file = None;
    let change = change_id();
    if upload {
        derived_state = Some(ResourceState::Frozen);
        body.status = Status::PendingUpload;
        body.status_message = Some(AWAITING_UPLOAD.into());
        body.change = Some(change.clone());
    } else if let Some(data) = &request.data {
        let dataset = parse(data.clone()).await?;
        if declared.is_none() && body.dataset_headers.is_empty() {
            body.dataset_headers = dataset.headers().to_vec();
        }
        if table::headers_match(dataset.headers(), &body.dataset_headers) {
            let key = file_key(caller.tenant_id.as_str(), &change)?;
            store_file(state, &key, data).await?;
            derived_state = Some(ResourceState::Frozen);
            body.status = Status::InProgress;
            body.status_message = Some(PROCESSING.into());
            body.file = Some(key.to_string());
            body.change = Some(change.clone());
            parsed = Some(dataset);
            new_file = Some(key);
        } else {
            derived_state = Some(ResourceState::Disabled);
            body.status = Status::Failed;
            body.status_message = Some(FILE_HEADERS_DIFFER.into());
            body.change = None;
        }
    }
    let change_request = ResourceChange {
        state: request.state.or(derived_state),
        tags: request.tags,
        body: Some(stored_body(&body)?),
        active_at: Some(active_at),
    };
    let updated = caller
        .tenant
        .update_resource(
            Datasets::KIND,
            &current.id,
            Some(current.version),
            change_request,
            caller.email(),
        )
        .await;
    let updated = match updated {
        Ok(updated) => updated,
        Err(e) => {
            if let Some(key) = &new_file {
                let _ = state.blobs.delete(key).await;
            }
            return Err(e.into());
        }
    };
    let awaited = upload.then(|| change.clone());
    if let (Some(dataset), Some(key)) = (parsed, new_file) {
        processing::start(
            state,
            caller.tenant.clone(),
            updated.clone(),
            change,
            key,
            Some(dataset),
        );
    }
    // A change still processing was carried into this version: if it finished meanwhile,
    // record its outcome here too.
    let updated = processing::catch_up(caller.tenant.as_ref(), &current, updated).await?;
    Ok((updated, awaited))
}

/// Publishes the CSV at `file` as the dataset called `name` in the group in context (a new
/// version of the dataset of that name there, else a new dataset), as if the CSV had been
/// uploaded to the URL a `datasetSource: s3` request hands out, its first line the
/// `datasetHeaders`. Returns the version once its CSV is processed, or why the CSV cannot be
/// used.
pub(crate) async fn publish(
    state: &AppState,
    caller: &Caller,
    name: &str,
    description: Option<String>,
    tags: TagPatch,
    file: &BlobKey,
) -> ApiResult<Result<Resource, String>> {
    let headers = state.datasets.headers(file).await?;
    let existing = caller
        .tenant
        .resources_named(
            Datasets::KIND,
            name,
            std::slice::from_ref(&caller.context.group),
        )
        .await?;
    let (version, awaited) = match existing.first() {
        Some(found) => {
            let request = EditDatasetRequest {
                description,
                dataset_source: Some(Source::S3),
                data: None,
                dataset_headers: Some(headers),
                state: None,
                tags: Some(tags),
                active_at: None,
            };
            update_dataset(state, caller, found.id.as_str(), request).await?
        }
        None => {
            let request = NewDatasetRequest {
                name: name.to_owned(),
                data: None,
                dataset_source: Some(Source::S3),
                description,
                dataset_headers: Some(headers),
                tags: Some(tags),
                active_at: None,
            };
            create_dataset(state, caller, request).await?
        }
    };
    let change = awaited.ok_or_else(|| {
        ApiError::Internal(format!("reference dataset {} awaits no file", version.id))
    })?;
    let key = file_key(caller.tenant_id.as_str(), &change)?;
    let mut data = state
        .blobs
        .get(file)
        .await?
        .ok_or_else(|| ApiError::Internal(format!("file {file} is missing")))?;
    state.blobs.put(&key, &mut data).await?;
    let processed = match processing::arrived(
        state,
        caller.tenant.clone(),
        version.clone(),
        &change,
        key,
    )
    .await
    {
        Ok(processed) => processed,
        Err(ApiError::BadRequest(reason)) => return Ok(Err(reason)),
        Err(e) => return Err(e),
    };
    processed
        .await
        .map_err(|e| ApiError::Internal(format!("processing the dataset's file stopped: {e}")))?;
    let latest = caller
        .tenant
        .resource(Datasets::KIND, &version.id)
        .await?
        .ok_or_else(|| ApiError::NotFound(Datasets::missing(version.id.as_str())))?;
    let body: StoredBody = body_of(&latest)?;
    Ok(match body.status {
        Status::Success => Ok(latest),
        other => Err(body
            .status_message
            .unwrap_or_else(|| format!("its status is {}", other.as_str()))),
    })
}

/// Which version a data or index request is for: the latest, or the one in the path.
async fn file_of(caller: &Caller, id: &str, version: Option<&str>) -> ApiResult<Option<BlobKey>> {
    let latest = load::<Datasets>(caller, id, Access::Read).await?;
    let chosen = match version {
        None => Some(latest),
        Some(raw) => {
            let number = raw
                .parse::<u32>()
                .map_err(|_| ApiError::Validation("params/version must be integer".into()))?;
            caller
                .tenant
                .resource_version(Datasets::KIND, &latest.id, number)
                .await?
        }
    };
    match chosen {
        Some(resource) => body_of::<StoredBody>(&resource)?.file(),
        None => Ok(None),
    }
}

/// The CSV, or with `Accept: application/json` a download URL of it.
async fn respond_with_file(
    state: &AppState,
    caller: &Caller,
    url: &PublicUrl,
    headers: &HeaderMap,
    id: &str,
    version: Option<&str>,
) -> ApiResult<Response> {
    let missing = format!("File for Reference Dataset {id} cannot be found");
    let file = file_of(caller, id, version)
        .await?
        .ok_or_else(|| ApiError::NotFound(missing.clone()))?;
    let wants_url = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "application/json");
    if wants_url {
        return Ok(Json(download_url(state, caller, url, id, &file)).into_response());
    }
    transfers::csv_file(state, &file, &missing).await
}

/// A 5-minute download URL of a file.
fn download_url(
    state: &AppState,
    caller: &Caller,
    url: &PublicUrl,
    id: &str,
    file: &BlobKey,
) -> SignedUrl {
    let ticket = Transfers::ticket(
        Direction::Download,
        "",
        caller.tenant_id.as_str(),
        id,
        "",
        file,
    );
    SignedUrl {
        url: url.download(&state.transfers, &ticket),
    }
}

/// A URL that works without Authorization for 5 minutes.
#[derive(Serialize, ToSchema)]
pub(crate) struct SignedUrl {
    url: String,
}

/// The latest version's CSV (`text/csv`), or `{"url"}` to download it when `Accept` is
/// `application/json`.
#[utoipa::path(
    get, path = "/referenceDatasets/{id}/data", tag = "referenceDatasets",
    params(("id" = String, Path, description = "The reference dataset id")),
    responses(
        (status = 200, description = "The CSV, or a download URL with Accept: application/json", content((SignedUrl = "application/json"), (String = "text/csv"))),
        (status = 403, body = ErrorBody), (status = 404, description = "No such dataset, or no file yet", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn data(
    caller: Caller,
    url: PublicUrl,
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    respond_with_file(&state, &caller, &url, &headers, &id, None).await
}

/// One version's CSV, or `{"url"}` to download it when `Accept` is `application/json`.
#[utoipa::path(
    get, path = "/referenceDatasets/{id}/versions/{version}/data", tag = "referenceDatasets",
    params(
        ("id" = String, Path, description = "The reference dataset id"),
        ("version" = u32, Path, description = "The version"),
    ),
    responses(
        (status = 200, description = "The CSV, or a download URL with Accept: application/json", content((SignedUrl = "application/json"), (String = "text/csv"))),
        (status = 403, body = ErrorBody), (status = 404, description = "No such dataset or version, or no file", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn version_data(
    caller: Caller,
    url: PublicUrl,
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, version)): Path<(String, String)>,
) -> ApiResult<Response> {
    respond_with_file(&state, &caller, &url, &headers, &id, Some(&version)).await
}

/// `{"url"}` to download what the latest version's index is built from. sifr keeps no index
/// file: LOOKUP's index is built in memory from the CSV, so the URL downloads the CSV.
async fn respond_with_index(
    state: &AppState,
    caller: &Caller,
    url: &PublicUrl,
    id: &str,
    version: Option<&str>,
) -> ApiResult<Json<SignedUrl>> {
    let file = file_of(caller, id, version).await?.ok_or_else(|| {
        ApiError::NotFound(format!("Index for Reference Dataset {id} cannot be found"))
    })?;
    Ok(Json(download_url(state, caller, url, id, &file)))
}

/// `{"url"}` to download the file the latest version's LOOKUP index is built from (the CSV:
/// sifr builds the index in memory).
#[utoipa::path(
    get, path = "/referenceDatasets/{id}/index", tag = "referenceDatasets",
    params(("id" = String, Path, description = "The reference dataset id")),
    responses(
        (status = 200, description = "A download URL", body = SignedUrl),
        (status = 403, body = ErrorBody), (status = 404, description = "No such dataset, or no file yet", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn index(
    caller: Caller,
    url: PublicUrl,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<SignedUrl>> {
    respond_with_index(&state, &caller, &url, &id, None).await
}

/// `{"url"}` to download the file one version's LOOKUP index is built from.
#[utoipa::path(
    get, path = "/referenceDatasets/{id}/versions/{version}/index", tag = "referenceDatasets",
    params(
        ("id" = String, Path, description = "The reference dataset id"),
        ("version" = u32, Path, description = "The version"),
    ),
    responses(
        (status = 200, description = "A download URL", body = SignedUrl),
        (status = 403, body = ErrorBody), (status = 404, description = "No such dataset or version, or no file", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn version_index(
    caller: Caller,
    url: PublicUrl,
    State(state): State<AppState>,
    Path((id, version)): Path<(String, String)>,
) -> ApiResult<Json<SignedUrl>> {
    respond_with_index(&state, &caller, &url, &id, Some(&version)).await
}
