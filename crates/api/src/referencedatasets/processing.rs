//! Processing a dataset's CSV after the request that brought it has been answered: reading it
//! into a [`Dataset`] (kept for LOOKUP) on a blocking thread, then recording the outcome on
//! every version that carries the change, in place. Also the upload handler of the upload URLs
//! `datasetSource: s3` hands out.

use std::sync::Arc;

use async_trait::async_trait;
use sifr_calc::Dataset;
use sifr_domain::{GroupPath, ListRequest, Resource, ResourceId, ResourceState, TenantId};
use sifr_store::{BlobKey, TenantStore};
use tokio::task::JoinHandle;

use super::library::ReadFailure;
use super::{Datasets, FILE_HEADERS_DIFFER, Status, StoredBody, table};
use crate::error::{ApiError, ApiResult};
use crate::resources::{Kind, body_of, stored_body};
use crate::state::AppState;
use crate::transfers::{Ticket, UploadHandler};

/// The purpose of dataset upload tickets.
pub(crate) const UPLOAD_PURPOSE: &str = "referenceDataset";

const UPLOADED: &str = "index creation in progress";

/// What happened to a change's file.
enum Outcome {
    /// The file arrived on the upload URL with these headers and is being processed.
    Uploaded(Vec<String>),
    /// The file was read: the version may be used.
    Indexed { rows: usize, file: BlobKey },
    /// The file cannot be used, for this reason.
    Failed(String),
}

impl Outcome {
    /// `resource`'s state and body once the outcome is recorded.
    fn apply(&self, resource: &Resource) -> ApiResult<(ResourceState, StoredBody)> {
        let mut body: StoredBody = body_of(resource)?;
        let mut state = resource.state;
        match self {
            Self::Uploaded(headers) => {
                body.status = Status::InProgress;
                body.status_message = Some(UPLOADED.into());
                if body.dataset_headers.is_empty() {
                    body.dataset_headers.clone_from(headers);
                }
            }
            Self::Indexed { rows, file } => {
                body.status = Status::Success;
                body.status_message = Some(format!("dataset indexed ({rows} rows)"));
                body.file = Some(file.to_string());
                body.change = None;
                // A state the caller set while the file was processed stays.
                if state == ResourceState::Frozen {
                    state = ResourceState::Enabled;
                }
            }
            Self::Failed(reason) => {
                body.status = Status::Failed;
                body.status_message = Some(reason.clone());
                body.change = None;
                state = ResourceState::Disabled;
            }
        }
        Ok((state, body))
    }
}

/// Records `outcome` on every version that carries `change`: version `from`, the versions a
/// PATCH wrote while the file was processed (they copy the change), and the earlier ones the
/// change was carried from while it awaited its upload. Returns the latest version recorded.
async fn record(
    store: &dyn TenantStore,
    id: &ResourceId,
    from: u32,
    change: &str,
    outcome: &Outcome,
) -> ApiResult<Option<Resource>> {
    const PAGE: usize = 20;
    let mut latest = None;
    let mut before = None;
    loop {
        let versions = store
            .resource_versions(Datasets::KIND, id, before, Some(PAGE))
            .await?;
        let exhausted = versions.len() < PAGE;
        for version in versions {
            before = Some(version.version);
            let body: StoredBody = body_of(&version)?;
            if body.change.as_deref() != Some(change) {
                if version.version < from {
                    return Ok(latest);
                }
                continue;
            }
            let (state, body) = outcome.apply(&version)?;
            let amended = store
                .amend_resource_version(
                    Datasets::KIND,
                    id,
                    version.version,
                    state,
                    stored_body(&body)?,
                )
                .await?;
            latest.get_or_insert(amended);
        }
        if exhausted {
            return Ok(latest);
        }
    }
}

/// Reads the file in the background and records the outcome; the task ends once it is
/// recorded. `parsed` is the dataset when the request already read it (inline CSV).
pub(crate) fn start(
    state: &AppState,
    store: Arc<dyn TenantStore>,
    version: Resource,
    change: String,
    file: BlobKey,
    parsed: Option<Dataset>,
) -> JoinHandle<()> {
    let state = state.clone();
    tokio::spawn(async move {
        let outcome = match read(&state, &version, &file, parsed).await {
            Ok(rows) => Outcome::Indexed { rows, file },
            Err(ReadFailure::Csv(e)) => Outcome::Failed(e.to_string()),
            Err(ReadFailure::Storage(e)) => {
                tracing::error!(dataset = %version.id, error = %e, "reading a dataset file failed");
                Outcome::Failed(format!("The file could not be read: {e}"))
            }
        };
        if let Err(e) = record(
            store.as_ref(),
            &version.id,
            version.version,
            &change,
            &outcome,
        )
        .await
        {
            tracing::error!(dataset = %version.id, error = %e, "recording a dataset's processing failed");
        }
    })
}

/// Reads the dataset and keeps it for LOOKUP; returns its row count.
async fn read(
    state: &AppState,
    version: &Resource,
    file: &BlobKey,
    parsed: Option<Dataset>,
) -> Result<usize, ReadFailure> {
    let dataset = match parsed {
        Some(mut dataset) => {
            dataset.id = version.id.to_string();
            dataset.name = version.name.clone().unwrap_or_default();
            dataset.version = u64::from(version.version);
            dataset
        }
        None => state.datasets.read(file, version).await?,
    };
    let rows = dataset.row_count();
    state.datasets.insert(file, version.version, dataset);
    Ok(rows)
}

/// After a PATCH that carried a change still processing into `updated`: if the change finished
/// between reading `base` and writing `updated`, records its outcome on `updated` too.
pub(crate) async fn catch_up(
    store: &dyn TenantStore,
    base: &Resource,
    updated: Resource,
) -> ApiResult<Resource> {
    let before: StoredBody = body_of(base)?;
    let carried: StoredBody = body_of(&updated)?;
    if carried.change.is_none() || carried.change != before.change {
        return Ok(updated);
    }
    let Some(now) = store
        .resource_version(Datasets::KIND, &base.id, base.version)
        .await?
    else {
        return Ok(updated);
    };
    let settled: StoredBody = body_of(&now)?;
    if settled.change == carried.change && settled.status == carried.status {
        return Ok(updated);
    }
    let body = StoredBody {
        status: settled.status,
        status_message: settled.status_message,
        file: settled.file,
        change: settled.change,
        ..carried
    };
    // The PATCH's own state wins; otherwise the state the processing gave the base.
    let state = if updated.state == base.state {
        now.state
    } else {
        updated.state
    };
    Ok(store
        .amend_resource_version(
            Datasets::KIND,
            &updated.id,
            updated.version,
            state,
            stored_body(&body)?,
        )
        .await?)
}

/// Takes over the CSVs uploaded on dataset upload URLs.
pub(crate) struct DatasetUploads;

/// The tenant and latest version of the dataset a ticket is for, once it still awaits the
/// ticket's upload.
async fn awaiting(
    state: &AppState,
    ticket: &Ticket,
) -> ApiResult<(Arc<dyn TenantStore>, Resource)> {
    let tenant = TenantId::parse(&ticket.tenant)?;
    let store = state.store.tenant(&tenant).await?;
    let missing = || ApiError::NotFound(Datasets::missing(&ticket.resource));
    let id = ResourceId::parse(&ticket.resource).map_err(|_| missing())?;
    let latest = store
        .resource(Datasets::KIND, &id)
        .await?
        .ok_or_else(missing)?;
    let body: StoredBody = body_of(&latest)?;
    if body.status != Status::PendingUpload || body.change.as_deref() != Some(&ticket.detail) {
        return Err(ApiError::Conflict(format!(
            "Reference Dataset {id} is not waiting for this upload: its status is {}. Ask for a new upload URL with datasetSource s3.",
            body.status.as_str()
        )));
    }
    Ok((store, latest))
}

#[async_trait]
impl UploadHandler for DatasetUploads {
    async fn accept(&self, state: &AppState, ticket: &Ticket) -> ApiResult<()> {
        awaiting(state, ticket).await.map(|_| ())
    }

    async fn received(&self, state: &AppState, ticket: &Ticket, _size: u64) -> ApiResult<()> {
        let file = ticket.blob()?;
        let (store, latest) = match awaiting(state, ticket).await {
            Ok(found) => found,
            Err(e) => {
                // Nothing will refer to the file.
                let _ = state.blobs.delete(&file).await;
                return Err(e);
            }
        };
        arrived(state, store, latest, &ticket.detail, file)
            .await
            .map(|_| ())
    }
}

/// The file of `change`, which `latest` awaits, has arrived at `file`: once its headers match
/// the declared ones it is processed in the background (the task is returned); otherwise the
/// change is recorded as failed and the reason is the error (400).
pub(super) async fn arrived(
    state: &AppState,
    store: Arc<dyn TenantStore>,
    latest: Resource,
    change: &str,
    file: BlobKey,
) -> ApiResult<JoinHandle<()>> {
    let declared = body_of::<StoredBody>(&latest)?.dataset_headers;
    let failure = match state.datasets.headers(&file).await {
        Ok(headers) if declared.is_empty() || table::headers_match(&headers, &declared) => {
            let uploaded = Outcome::Uploaded(headers);
            let recorded = record(
                store.as_ref(),
                &latest.id,
                latest.version,
                change,
                &uploaded,
            )
            .await?
            .unwrap_or(latest);
            return Ok(start(state, store, recorded, change.to_owned(), file, None));
        }
        Ok(_) => FILE_HEADERS_DIFFER.to_owned(),
        Err(ReadFailure::Csv(e)) => e.to_string(),
        Err(ReadFailure::Storage(e)) => return Err(e),
    };
    record(
        store.as_ref(),
        &latest.id,
        latest.version,
        change,
        &Outcome::Failed(failure.clone()),
    )
    .await?;
    Err(ApiError::BadRequest(failure))
}

/// Restarts the processing of the files whose processing a stopped server left unfinished
/// (`inProgress`), in every tenant, so such datasets still settle without further requests.
pub(crate) async fn resume(state: &AppState) -> ApiResult<()> {
    for tenant in state.store.tenants().await? {
        let store = state.store.tenant(&tenant.id).await?;
        let mut request = ListRequest::new(GroupPath::root());
        request.scope.children = true;
        request.count = Some(200);
        loop {
            let page = store.list_resources(Datasets::KIND, &request).await?;
            for latest in page.items {
                let body: StoredBody = body_of(&latest)?;
                let Some(change) = body.change.filter(|_| body.status == Status::InProgress) else {
                    continue;
                };
                let file = super::file_key(tenant.id.as_str(), &change)?;
                tracing::info!(dataset = %latest.id, "resuming the processing of a dataset file");
                start(state, store.clone(), latest, change, file, None);
            }
            match page.next {
                Some(next) => request.after = Some(next),
                None => break,
            }
        }
    }
    Ok(())
}
