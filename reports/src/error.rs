//! Errors returned by the report writers.

use std::path::PathBuf;

/// Failure while producing a report file.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file-system operation (creating the output directory or writing a
    /// report file) failed.
    #[error("report I/O error on `{}`: {source}", path.display())]
    Io {
        /// The file or directory that could not be created or written.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The run report could not be serialised to JSON.
    #[error("cannot serialise run report to JSON: {0}")]
    Json(#[from] serde_json::Error),
}

impl ReportError {
    /// Builds a [`ReportError::Io`] for `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
