//! The shared routes with their OpenAPI operations. The handlers are generic, which the path
//! macros cannot describe, so the operations are built here from the kind's names.

use axum::routing::{MethodRouter, delete, get, put};
use utoipa::openapi::path::{
    HttpMethod, Operation, OperationBuilder, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{ContentBuilder, PathsBuilder, Ref, RefOr, Required, ResponseBuilder};
use utoipa::{PartialSchema, ToSchema};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};

use super::handlers::{self, VersionPagination};
use super::{Endpoint, Kind};
use crate::access::tags::TagValueList;
use crate::error::ErrorBody;
use crate::listing::Pagination;
use crate::state::AppState;

type Schemas = Vec<(String, RefOr<Schema>)>;

/// One documented operation.
struct Doc {
    summary: String,
    parameters: Vec<(&'static str, ParameterIn, bool, &'static str)>,
    /// Status, description and body schema.
    responses: Vec<(u16, &'static str, Option<RefOr<Schema>>)>,
}

impl Doc {
    fn new(summary: String) -> Self {
        Self {
            summary,
            parameters: Vec::new(),
            responses: Vec::new(),
        }
    }

    fn param(
        mut self,
        name: &'static str,
        at: ParameterIn,
        required: bool,
        text: &'static str,
    ) -> Self {
        self.parameters.push((name, at, required, text));
        self
    }

    fn path_id(self) -> Self {
        self.param("id", ParameterIn::Path, true, "The resource id")
    }

    fn ok(mut self, status: u16, text: &'static str, body: Option<RefOr<Schema>>) -> Self {
        self.responses.push((status, text, body));
        self
    }

    /// The error responses of an operation, by status.
    fn errors(mut self, statuses: &[(u16, &'static str)]) -> Self {
        for (status, text) in statuses {
            self.responses
                .push((*status, text, Some(schema_ref(&ErrorBody::name()))));
        }
        self
    }

    fn operation(self, tag: &str) -> Operation {
        let mut builder = OperationBuilder::new()
            .tag(tag)
            .summary(Some(self.summary))
            .security(SecurityRequirement::new("bearer", Vec::<String>::new()));
        for (name, at, required, text) in self.parameters {
            builder = builder.parameter(
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(at)
                    .required(if required {
                        Required::True
                    } else {
                        Required::False
                    })
                    .description(Some(text))
                    .schema(Some(String::schema())),
            );
        }
        for (status, text, body) in self.responses {
            let mut response = ResponseBuilder::new().description(text);
            if let Some(body) = body {
                response = response.content(
                    "application/json",
                    ContentBuilder::new().schema(Some(body)).build(),
                );
            }
            builder = builder.response(status.to_string(), response.build());
        }
        builder.build()
    }
}

fn schema_ref(name: &str) -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(name))
}

/// `{"<plural>": [<view>], "pagination"?: <pagination>}`.
fn listing<K: Kind>(pagination: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .property(
            K::PLURAL,
            ArrayBuilder::new().items(schema_ref(&K::View::name())),
        )
        .required(K::PLURAL)
        .property("pagination", schema_ref(pagination))
        .schema_type(Type::Object)
        .into()
}

fn route(
    path: &str,
    method: HttpMethod,
    doc: Doc,
    tag: &str,
    handler: MethodRouter<AppState>,
    schemas: Schemas,
) -> UtoipaMethodRouter<AppState> {
    let paths = PathsBuilder::new()
        .path(path, PathItem::new(method, doc.operation(tag)))
        .build();
    (schemas, paths, handler)
}

fn schemas<K: Kind>() -> Schemas {
    let mut all = vec![(K::View::name().into_owned(), K::View::schema())];
    K::View::schemas(&mut all);
    for (name, schema) in [
        (Pagination::name(), Pagination::schema()),
        (VersionPagination::name(), VersionPagination::schema()),
        (TagValueList::name(), TagValueList::schema()),
        (ErrorBody::name(), ErrorBody::schema()),
    ] {
        all.push((name.into_owned(), schema));
    }
    TagValueList::schemas(&mut all);
    all
}

const FORBIDDEN: (u16, &str) = (403, "Not permitted in the group in context");
const NOT_FOUND: (u16, &str) = (404, "No such resource, or no such group in context");
const INVALID: (u16, &str) = (400, "Invalid parameters");

pub(super) fn routes<K: Kind>(endpoints: &[Endpoint]) -> OpenApiRouter<AppState> {
    let tag = K::TAG;
    let noun = K::NOUN.to_lowercase();
    let plural = K::PLURAL;
    let collection = format!("/{plural}");
    let item = format!("/{plural}/{{id}}");
    let versions = format!("/{plural}/{{id}}/versions");
    let version = format!("/{plural}/{{id}}/versions/{{version}}");
    let membership = format!("/{plural}/{{id}}/groups/{{groupId}}");
    let view = || Some(schema_ref(&K::View::name()));
    let group_param = |doc: Doc| {
        doc.path_id().param(
            "groupId",
            ParameterIn::Path,
            true,
            "URL-encoded group id, e.g. %2Fusa%2Fnorthwest",
        )
    };

    let list = Doc::new(format!(
        "Lists the {plural} of the group in context, or those called `name`"
    ))
    .param("count", ParameterIn::Query, false, "Page size")
    .param(
        "fromToken",
        ParameterIn::Query,
        false,
        "Token of the previous page",
    )
    .param(
        "name",
        ParameterIn::Query,
        false,
        "Only those with this name (ignores case and paging)",
    )
    .param(
        "tags",
        ParameterIn::Query,
        false,
        "`key:value` filters, repeatable",
    )
    .param(
        "includeParentGroups",
        ParameterIn::Query,
        false,
        "Also those of the ancestors",
    )
    .param(
        "includeChildGroups",
        ParameterIn::Query,
        false,
        "Also those of the descendants",
    )
    .ok(200, "The list", Some(listing::<K>(&Pagination::name())))
    .errors(&[INVALID, FORBIDDEN, NOT_FOUND]);
    let get_one = Doc::new(format!("Reads the latest version of a {noun}"))
        .path_id()
        .ok(200, "The latest version", view())
        .errors(&[FORBIDDEN, NOT_FOUND]);
    let remove = Doc::new(format!("Deletes a {noun} with all its versions"))
        .path_id()
        .ok(204, "Deleted", None)
        .errors(&[FORBIDDEN, NOT_FOUND]);
    let list_versions = Doc::new(format!("Lists the versions of a {noun}, newest first"))
        .path_id()
        .param("count", ParameterIn::Query, false, "Page size")
        .param(
            "fromVersion",
            ParameterIn::Query,
            false,
            "Versions below this one",
        )
        .param(
            "versionAsAt",
            ParameterIn::Query,
            false,
            "Only the version active at this date-time",
        )
        .ok(
            200,
            "The versions",
            Some(listing::<K>(&VersionPagination::name())),
        )
        .errors(&[INVALID, FORBIDDEN, NOT_FOUND]);
    let one_version = Doc::new(format!("Reads one version of a {noun}"))
        .path_id()
        .param("version", ParameterIn::Path, true, "The version number")
        .ok(
            200,
            "The version, with the latest state if that is disabled or frozen",
            view(),
        )
        .errors(&[INVALID, FORBIDDEN, NOT_FOUND]);
    let grant = group_param(Doc::new(format!(
        "Grants a {noun} to another group (a new version)"
    )))
    .ok(204, "Granted", None)
    .errors(&[FORBIDDEN, NOT_FOUND]);
    let revoke = group_param(Doc::new(format!(
        "Revokes a {noun} from a group it was granted to (a new version)"
    )))
    .ok(204, "Revoked", None)
    .errors(&[
        (400, "The group owns the resource"),
        FORBIDDEN,
        NOT_FOUND,
        (409, "Not granted to that group"),
    ]);
    let tags = Doc::new(format!(
        "Lists the values of a tag key on the {plural} visible in the group in context"
    ))
    .param("key", ParameterIn::Path, true, "Tag key")
    .param(
        "parentValue",
        ParameterIn::Query,
        false,
        "List the values one level below this one",
    )
    .param(
        "fromValue",
        ParameterIn::Query,
        false,
        "Start after this value",
    )
    .param("count", ParameterIn::Query, false, "Page size")
    .ok(200, "The values", Some(schema_ref(&TagValueList::name())))
    .errors(&[INVALID, FORBIDDEN, NOT_FOUND]);

    let all: [(Endpoint, &str, HttpMethod, Doc, MethodRouter<AppState>); 8] = [
        (
            Endpoint::List,
            &collection,
            HttpMethod::Get,
            list,
            get(handlers::list::<K>),
        ),
        (
            Endpoint::Get,
            &item,
            HttpMethod::Get,
            get_one,
            get(handlers::get::<K>),
        ),
        (
            Endpoint::Delete,
            &item,
            HttpMethod::Delete,
            remove,
            delete(handlers::delete::<K>),
        ),
        (
            Endpoint::Versions,
            &versions,
            HttpMethod::Get,
            list_versions,
            get(handlers::versions::<K>),
        ),
        (
            Endpoint::Version,
            &version,
            HttpMethod::Get,
            one_version,
            get(handlers::version::<K>),
        ),
        (
            Endpoint::Share,
            &membership,
            HttpMethod::Put,
            grant,
            put(handlers::grant::<K>),
        ),
        (
            Endpoint::Share,
            &membership,
            HttpMethod::Delete,
            revoke,
            delete(handlers::revoke::<K>),
        ),
        (
            Endpoint::Tags,
            "/tags/{key}",
            HttpMethod::Get,
            tags,
            get(handlers::tags::<K>),
        ),
    ];
    all.into_iter()
        .filter(|(endpoint, ..)| endpoints.contains(endpoint))
        .fold(
            OpenApiRouter::new(),
            |router, (_, path, method, doc, handler)| {
                router.routes(route(path, method, doc, tag, handler, schemas::<K>()))
            },
        )
}
