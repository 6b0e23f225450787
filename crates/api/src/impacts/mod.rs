//! The impacts module of SIF, served under `/impacts` (spec §5): activities (emission factor
//! sets) with their impacts and components, versions, tags, and activity tasks that create or
//! change many activities in the background.

mod activities;
mod model;
mod resolve;
mod subresources;
mod tasks;

use axum::extract::DefaultBodyLimit;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::resources::{self, Endpoint};
use crate::state::AppState;
use activities::Activities;

pub(crate) use activities::{check, create_or_update};
pub(crate) use model::{ActivityRequest, ImpactRequest};
pub(crate) use resolve::resolve_activity;

/// The largest activity-task request, as SIF allows it.
const TASK_BODY_LIMIT: usize = 6 * 1024 * 1024;

pub fn router() -> OpenApiRouter<AppState> {
    let mut shared = resources::VERSIONED.to_vec();
    shared.push(Endpoint::Tags);
    OpenApiRouter::new()
        .routes(routes!(activities::create))
        .routes(routes!(activities::update))
        .merge(resources::routes::<Activities>(&shared))
        .routes(routes!(subresources::list))
        .routes(routes!(
            subresources::get,
            subresources::put,
            subresources::update,
            subresources::delete
        ))
        .routes(routes!(subresources::components))
        .routes(routes!(
            subresources::component,
            subresources::put_component,
            subresources::update_component,
            subresources::delete_component
        ))
        .routes(routes!(tasks::create, tasks::list).layer(DefaultBodyLimit::max(TASK_BODY_LIMIT)))
        .routes(routes!(tasks::get, tasks::delete))
        .routes(routes!(tasks::items))
        .routes(routes!(tasks::item))
}
