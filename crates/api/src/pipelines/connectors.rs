//! `/pipelines/connectors`: the input and output connectors pipelines name in their
//! `connectorConfig`. The connectors SIF shipped are registered in every tenant's root group,
//! managed by the system: users can neither create nor delete managed connectors.

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sifr_domain::{
    Action, GroupPath, ListRequest, NewResource, Resource, ResourceChange, ResourceKind,
    ResourceState, Scope, TagMap, TagPatch, authorize,
};
use sifr_store::TenantStore;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::JsonBody;
use crate::resources::{self, Access, Common, Kind, body_of, load, stored_body};

pub(crate) struct Connectors;

impl Kind for Connectors {
    const KIND: ResourceKind = ResourceKind::new("connector");
    const PLURAL: &'static str = "connectors";
    const NOUN: &'static str = "Connector";
    const TAG: &'static str = "pipelines";
    type View = ConnectorView;

    fn view(resource: Resource) -> ApiResult<ConnectorView> {
        Ok(ConnectorView {
            body: body_of(&resource)?,
            common: Common::of(&resource),
        })
    }

    /// SIF's wording.
    fn missing(id: &str) -> String {
        format!("Connector {id} not found.")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ConnectorType {
    Input,
    Output,
}

/// A parameter a connector takes; pipelines and executions may set those declared here only.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConnectorParameter {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
}

#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConnectorBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub kind: ConnectorType,
    #[serde(default)]
    pub requires_file_upload: bool,
    /// Registered and maintained by the system.
    #[serde(default)]
    pub is_managed: bool,
    #[serde(default)]
    pub parameters: Vec<ConnectorParameter>,
}

impl ConnectorBody {
    /// Those of `names` the connector does not declare.
    pub(crate) fn undeclared<'a>(&self, names: impl Iterator<Item = &'a String>) -> Vec<&'a str> {
        names
            .filter(|name| !self.parameters.iter().any(|p| &p.name == *name))
            .map(String::as_str)
            .collect()
    }

    /// The declared parameters' names, for messages.
    pub(crate) fn parameter_names(&self) -> String {
        self.parameters
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ConnectorView {
    #[serde(flatten)]
    common: Common,
    #[serde(flatten)]
    body: ConnectorBody,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NewConnectorRequest {
    name: String,
    #[serde(rename = "type")]
    kind: ConnectorType,
    description: Option<String>,
    parameters: Option<Vec<ConnectorParameter>>,
    requires_file_upload: Option<bool>,
    #[schema(value_type = Option<HashMap<String, Option<String>>>)]
    tags: Option<TagPatch>,
    /// Only the system registers managed connectors; `true` is refused.
    is_managed: Option<bool>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EditConnectorRequest {
    description: Option<String>,
    parameters: Option<Vec<ConnectorParameter>>,
    requires_file_upload: Option<bool>,
    #[schema(value_type = Option<HashMap<String, Option<String>>>)]
    tags: Option<TagPatch>,
    #[serde(rename = "type")]
    kind: Option<ConnectorType>,
}

/// Registers a connector in the group in context.
#[utoipa::path(
    post, path = "/connectors", tag = "pipelines", request_body = NewConnectorRequest,
    responses(
        (status = 201, body = ConnectorView),
        (status = 400, description = "Invalid body, or a managed connector", body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The name is in use in the group", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    caller: Caller,
    JsonBody(request): JsonBody<NewConnectorRequest>,
) -> ApiResult<(StatusCode, Json<ConnectorView>)> {
    resources::require_context(&caller).await?;
    authorize(&caller.context, Action::CreateResource)?;
    if request.is_managed == Some(true) {
        return Err(ApiError::BadRequest(
            "Managed connectors are registered by the system only; remove isManaged or set it to false."
                .into(),
        ));
    }
    let body = ConnectorBody {
        description: request.description,
        kind: request.kind,
        requires_file_upload: request.requires_file_upload.unwrap_or(false),
        is_managed: false,
        parameters: request.parameters.unwrap_or_default(),
    };
    let mut tags = TagMap::default();
    if let Some(patch) = &request.tags {
        tags.apply(patch);
    }
    let created = caller
        .tenant
        .create_resource(NewResource {
            kind: Connectors::KIND,
            name: Some(request.name),
            group: caller.context.group.clone(),
            state: ResourceState::Enabled,
            tags,
            body: stored_body(&body)?,
            active_at: None,
            created_by: caller.email().to_owned(),
        })
        .await?;
    Ok((StatusCode::CREATED, Json(Connectors::view(created)?)))
}

/// Changes a connector.
#[utoipa::path(
    patch, path = "/connectors/{id}", tag = "pipelines", request_body = EditConnectorRequest,
    params(("id" = String, Path, description = "The connector id")),
    responses(
        (status = 200, body = ConnectorView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn update(
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<EditConnectorRequest>,
) -> ApiResult<Json<ConnectorView>> {
    let current = load::<Connectors>(&caller, &id, Access::Update).await?;
    let mut body: ConnectorBody = body_of(&current)?;
    if let Some(description) = request.description {
        body.description = Some(description);
    }
    if let Some(parameters) = request.parameters {
        body.parameters = parameters;
    }
    if let Some(upload) = request.requires_file_upload {
        body.requires_file_upload = upload;
    }
    if let Some(kind) = request.kind {
        body.kind = kind;
    }
    let change = ResourceChange {
        tags: request.tags,
        body: Some(stored_body(&body)?),
        ..ResourceChange::default()
    };
    let updated = caller
        .tenant
        .update_resource(
            Connectors::KIND,
            &current.id,
            Some(current.version),
            change,
            caller.email(),
        )
        .await?;
    Ok(Json(Connectors::view(updated)?))
}

/// Deletes a connector; the caller must be an admin of every group it belongs to.
#[utoipa::path(
    delete, path = "/connectors/{id}", tag = "pipelines",
    params(("id" = String, Path, description = "The connector id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "A managed connector", body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn delete(caller: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let connector = load::<Connectors>(&caller, &id, Access::Delete).await?;
    for group in &connector.groups {
        authorize(&caller.context, Action::DeleteResource(std::slice::from_ref(group)))
            .map_err(|_| {
                ApiError::Forbidden(format!(
                    "Deleting connector '{id}' needs the admin role in each of its groups, including '{group}'."
                ))
            })?;
    }
    let body: ConnectorBody = body_of(&connector)?;
    if body.is_managed {
        return Err(ApiError::BadRequest(format!(
            "Connector '{}' is managed by the system and cannot be deleted.",
            connector.name.as_deref().unwrap_or(&id)
        )));
    }
    caller
        .tenant
        .delete_resource(Connectors::KIND, &connector.id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The connector called `name` that the group in context can use: in it, an ancestor or a
/// descendant, nearest first.
pub(crate) async fn find(caller: &Caller, name: &str) -> ApiResult<(Resource, ConnectorBody)> {
    let mut request = ListRequest::new(caller.context.group.clone());
    request.scope = Scope {
        parents: true,
        children: true,
    };
    request.count = Some(10_000);
    let found = caller
        .tenant
        .list_resources(Connectors::KIND, &request)
        .await?
        .items
        .into_iter()
        .filter(|c| {
            c.name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .max_by_key(|c| {
            c.owner()
                .filter(|owner| owner.contains(&caller.context.group))
                .map_or(0, |owner| owner.as_str().len() + 1)
        })
        .ok_or_else(|| ApiError::NotFound(format!("Connector {name} not found.")))?;
    let body = body_of(&found)?;
    Ok((found, body))
}

/// The CSV input connector, the input of pipelines that name none.
pub(crate) const CSV_CONNECTOR: &str = "sif-csv-pipeline-input-connector";
/// The input connector reading another pipeline's activities.
pub(crate) const ACTIVITY_CONNECTOR: &str = "sif-activity-pipeline-input-connector";

/// The connectors SIF shipped, which pipeline definitions name.
fn built_in() -> Vec<(&'static str, ConnectorBody)> {
    let parameter =
        |name: &str, description: &str, default: Option<&str>, required: bool| ConnectorParameter {
            name: name.to_owned(),
            description: Some(description.to_owned()),
            default_value: default.map(str::to_owned),
            required: required.then_some(true),
        };
    let connector = |kind, upload, description: &str, parameters| ConnectorBody {
        description: Some(description.to_owned()),
        kind,
        requires_file_upload: upload,
        is_managed: true,
        parameters,
    };
    vec![
        (
            CSV_CONNECTOR,
            connector(
                ConnectorType::Input,
                true,
                "Reads an uploaded CSV file whose header names the pipeline's parameters (their labels).",
                vec![
                    parameter("delimiter", "The cell separator.", Some(","), false),
                    parameter(
                        "handleEmptyCells",
                        "setToEmptyString or setToNull: how an empty cell shows in row identifiers.",
                        Some("setToEmptyString"),
                        false,
                    ),
                    parameter(
                        "skipParsingErrors",
                        "true to leave out rows that cannot be read instead of reporting them.",
                        Some("false"),
                        false,
                    ),
                ],
            ),
        ),
        (
            ACTIVITY_CONNECTOR,
            connector(
                ConnectorType::Input,
                false,
                "Reads the activities another pipeline stored in the execution's group: its latest values, or the versions one of its executions wrote.",
                vec![
                    parameter(
                        "pipelineId",
                        "The pipeline whose activities are read.",
                        None,
                        true,
                    ),
                    parameter(
                        "executionId",
                        "Read only the versions this execution of that pipeline wrote.",
                        None,
                        false,
                    ),
                ],
            ),
        ),
        (
            "sif-kinesis-pipeline-input-connector",
            connector(
                ConnectorType::Input,
                false,
                "Reads records from an Amazon Kinesis data stream (AWS-bound: not available in this deployment).",
                vec![
                    parameter(
                        "useExistingDataStream",
                        "Read an existing stream rather than creating one.",
                        Some("false"),
                        true,
                    ),
                    parameter(
                        "kinesisDataStreamArn",
                        "The stream to read when useExistingDataStream is true.",
                        None,
                        false,
                    ),
                    parameter(
                        "bufferSize",
                        "Buffer size in MB (0.2 to 3).",
                        Some("0.2"),
                        false,
                    ),
                    parameter(
                        "bufferInterval",
                        "Buffer interval in seconds (60 to 900).",
                        Some("60"),
                        false,
                    ),
                    parameter(
                        "handlebarsTemplate",
                        "Maps each incoming record to the pipeline's parameters.",
                        None,
                        false,
                    ),
                    parameter(
                        "deploymentMethod",
                        "managed-pipeline, managed-sif or provided.",
                        Some("managed-pipeline"),
                        false,
                    ),
                    parameter(
                        "deploymentStatus",
                        "Set by the system once the stream is deployed.",
                        None,
                        false,
                    ),
                    parameter(
                        "blockDeploymentForUpdates",
                        "Set by the system once the stream is deployed.",
                        None,
                        false,
                    ),
                ],
            ),
        ),
        (
            "sif-cleanRooms-pipeline-input-connector",
            connector(
                ConnectorType::Input,
                false,
                "Runs an AWS Clean Rooms query as input (AWS-bound: not available in this deployment).",
                vec![
                    parameter("query", "SQL with #name placeholders.", None, false),
                    parameter(
                        "membershipId",
                        "The Clean Rooms membership, per execution.",
                        None,
                        false,
                    ),
                    parameter(
                        "parameters",
                        "Values for the query's placeholders, per execution.",
                        None,
                        false,
                    ),
                ],
            ),
        ),
        (
            "sif-dataFabric-pipeline-output-connector",
            connector(
                ConnectorType::Output,
                false,
                "Publishes outputs to Amazon DataZone (AWS-bound: not available in this deployment).",
                Vec::new(),
            ),
        ),
    ]
}

/// Registers the built-in connectors in the tenant's root group, and brings those registered
/// by an earlier release up to date (their grants and tags stay).
pub(crate) async fn seed(tenant: &dyn TenantStore) -> ApiResult<()> {
    let root = GroupPath::root();
    for (name, body) in built_in() {
        let existing = tenant
            .resources_named(Connectors::KIND, name, std::slice::from_ref(&root))
            .await?;
        if let Some(current) = existing.first() {
            let wanted = stored_body(&body)?;
            let managed = body_of::<ConnectorBody>(current).is_ok_and(|b| b.is_managed);
            if managed && current.body != wanted {
                let change = ResourceChange {
                    body: Some(wanted),
                    ..ResourceChange::default()
                };
                match tenant
                    .update_resource(
                        Connectors::KIND,
                        &current.id,
                        Some(current.version),
                        change,
                        "sif",
                    )
                    .await
                {
                    // Another server sharing the store updated it meanwhile.
                    Ok(_) | Err(sifr_store::StoreError::InvalidState(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            continue;
        }
        let created = tenant
            .create_resource(NewResource {
                kind: Connectors::KIND,
                name: Some(name.to_owned()),
                group: root.clone(),
                state: ResourceState::Enabled,
                tags: TagMap::default(),
                body: stored_body(&body)?,
                active_at: None,
                created_by: "sif".into(),
            })
            .await;
        match created {
            // Another server sharing the store registered it meanwhile.
            Ok(_) | Err(sifr_store::StoreError::NameInUse(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
