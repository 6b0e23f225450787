//! The OpenAPI document's frame; the paths and schemas come from the handlers' annotations.

use utoipa::Modify;
use utoipa::openapi::OpenApi as Document;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "sifr",
        description = "Carbon accounting engine, wire-compatible with the REST API of AWS's Sustainability Insights \
                       Framework (SIF) v1.0.0. Each SIF module is served under its own prefix."
    ),
    modifiers(&Security),
    tags(
        (name = "auth", description = "Log in for an ID token"),
        (name = "accessManagement", description = "Groups, users and roles (SIF access management)"),
        (name = "impacts", description = "Activities, their impacts and components, and activity tasks (SIF impacts)"),
        (name = "calculations", description = "Reusable formulas (SIF calculations)"),
        (name = "pipelines", description = "Pipelines, metrics and connectors (SIF pipelines)"),
        (name = "tenants", description = "Tenant management for operators"),
        (name = "operations", description = "Health and monitoring"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, document: &mut Document) {
        let components = document.components.get_or_insert_with(Default::default);
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.bearer_format = Some("JWT".to_owned());
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
        components.add_security_scheme(
            "operator",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}
