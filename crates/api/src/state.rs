//! What every handler can reach.

use std::ops::Deref;
use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use sifr_domain::TenantId;
use sifr_store::{BlobStore, Store};

use crate::auth::Authenticator;
use crate::config::Config;
use crate::processor::Runner;
use crate::referencedatasets::DatasetLibrary;
use crate::transfers::Transfers;

#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub store: Arc<dyn Store>,
    pub auth: Authenticator,
    pub config: Config,
    pub default_tenant: TenantId,
    pub metrics: PrometheusHandle,
    /// Files kept besides the records: dataset CSVs, execution inputs and outputs.
    pub blobs: Arc<dyn BlobStore>,
    /// Signed upload and download URLs.
    pub transfers: Transfers,
    /// Reference datasets read for LOOKUP.
    pub datasets: Arc<DatasetLibrary>,
    /// Runs pipeline executions, one at a time per tenant.
    pub(crate) runner: Runner,
}

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}
