//! `/accessManagement/tags/{key}`: the values a tag key takes on groups or users.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::Path;
use serde::Serialize;
use sifr_domain::{Action, ListRequest, ResourceKind, TagValues, authorize};
use sifr_store::TagScope;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Query;

#[derive(Serialize, ToSchema)]
pub struct TagValueList {
    /// Lower-cased full value → its last level as first written.
    values: BTreeMap<String, String>,
    pagination: TagPagination,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TagPagination {
    count: usize,
    /// Pass as `fromValue` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    last_evaluated_value: Option<String>,
}

/// Lists the values of a tag key on the groups (the group in context and below) or users.
#[utoipa::path(
    get, path = "/tags/{key}", tag = "accessManagement",
    params(
        ("key" = String, Path, description = "Tag key"),
        ("resourceType" = String, Query, description = "`group` or `user`"),
        ("parentValue" = Option<String>, Query, description = "List the values one level below this one"),
        ("fromValue" = Option<String>, Query, description = "Start after this value"),
        ("count" = Option<usize>, Query, description = "Page size"),
    ),
    responses((status = 200, body = TagValueList), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn values(
    caller: Caller,
    Path(key): Path<String>,
    query: Query,
) -> ApiResult<Json<TagValueList>> {
    let scope = match query.get("resourceType") {
        Some("group") => TagScope::Groups,
        Some("user") => TagScope::Users,
        Some(_) => {
            return Err(ApiError::Validation(
                "querystring/resourceType must be equal to one of the allowed values: group, user"
                    .into(),
            ));
        }
        None => {
            return Err(ApiError::Validation(
                "querystring must have required property 'resourceType'".into(),
            ));
        }
    };
    summary(&caller, scope, &key, &query).await
}

/// The values of tag `key` on the records of `scope` seen from the group in context, paged by
/// `count` and `fromValue`, below `parentValue` when given.
pub(crate) async fn summary(
    caller: &Caller,
    scope: TagScope,
    key: &str,
    query: &Query,
) -> ApiResult<Json<TagValueList>> {
    let count = query.count("count")?;
    authorize(&caller.context, Action::ListTags)?;
    let parent = query.get("parentValue").filter(|p| !p.is_empty());
    let stored = match scope {
        // The store's index spans every ancestor; under a visibility floor the values come from
        // the resources the caller may see instead.
        TagScope::Resources(kind) if caller.context.floor.is_some() => {
            seen_resource_tags(caller, kind, key).await?
        }
        _ => {
            caller
                .tenant
                .tag_values(scope, &caller.context.group, key, parent)
                .await?
        }
    };
    let page = TagValues::summarize(
        stored.iter().map(String::as_str),
        parent,
        query.get("fromValue"),
        count,
    );
    let pagination = TagPagination {
        count: page.values.len(),
        last_evaluated_value: page.last,
    };
    Ok(Json(TagValueList {
        values: page.values,
        pagination,
    }))
}

/// The values of tag `key` on the resources of `kind` in the group in context and its
/// ancestors that the caller may see.
async fn seen_resource_tags(
    caller: &Caller,
    kind: ResourceKind,
    key: &str,
) -> ApiResult<Vec<String>> {
    let mut request = ListRequest::new(caller.context.group.clone());
    request.scope.parents = true;
    // A parent listing without `count` is one page.
    let page = caller.tenant.list_resources(kind, &request).await?;
    Ok(page
        .items
        .iter()
        .filter(|resource| caller.context.may_see(&resource.groups))
        .filter_map(|resource| resource.tags.get(key).map(str::to_owned))
        .collect())
}
