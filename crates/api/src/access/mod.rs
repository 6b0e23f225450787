//! The access-management module of SIF, served under `/accessManagement`: groups, users and
//! their tags. Every handler asks `sifr_domain::authorize` before it acts.

mod groups;
pub(crate) mod tags;
mod users;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(groups::create, groups::list))
        .routes(routes!(groups::get, groups::update, groups::delete))
        .routes(routes!(users::create, users::list))
        .routes(routes!(users::get, users::update, users::delete))
        .routes(routes!(tags::values))
}
