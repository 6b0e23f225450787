//! The `pagination` object of list responses.

use serde::Serialize;
use sifr_domain::Page;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    /// Pass as `fromToken` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_evaluated_token: Option<String>,
}

impl Pagination {
    /// Present when the request asked for pages (`count` or `fromToken`), as in SIF.
    pub fn of<T>(page: &Page<T>) -> Option<Self> {
        page.paginated.then(|| Self {
            last_evaluated_token: page.next.as_ref().map(|c| c.to_token()),
        })
    }
}
