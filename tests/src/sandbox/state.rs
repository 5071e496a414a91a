//! State shared by every request: configuration, scripted faults, the request log and the
//! fake platform.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::faults::FaultStore;
use super::platform::store::PlatformStore;
use super::request_log::RequestLog;
use super::SandboxConfig;

/// Cheap to clone: everything lives behind one `Arc`.
#[derive(Clone)]
pub(crate) struct SandboxState(Arc<Inner>);

pub(crate) struct Inner {
    pub api_key: String,
    /// `http://127.0.0.1:<port>`, for URLs the sandbox hands out.
    pub base_url: String,
    pub database_url: Option<String>,
    #[allow(dead_code)] // storage will keep objects here
    pub data_dir: PathBuf,
    pub max_upload: u64,
    pub statement_timeout: Duration,
    pub faults: FaultStore,
    pub requests: RequestLog,
    pub platform: PlatformStore,
}

impl SandboxState {
    pub fn new(config: &SandboxConfig, data_dir: PathBuf, base_url: String) -> Self {
        let faults = FaultStore::default();
        faults.add(config.faults.clone());
        Self(Arc::new(Inner {
            api_key: config.api_key.clone(),
            base_url,
            database_url: config.database_url.clone(),
            data_dir,
            max_upload: config.max_upload,
            statement_timeout: config.statement_timeout,
            faults,
            requests: RequestLog::default(),
            platform: PlatformStore::new(&config.platform),
        }))
    }
}

impl std::ops::Deref for SandboxState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}
