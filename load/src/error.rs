//! The one error type of the load engine.

use std::path::PathBuf;

/// What can go wrong before or around a load run (failures *of the SUT* are measurements, not
/// errors).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// A profile file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A profile is not valid TOML or has unknown fields.
    #[error("profile {path}: {message}")]
    ProfileSyntax {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A profile value is out of range or inconsistent.
    #[error("profile: {0}")]
    Profile(String),
    /// `--shard K/N` is malformed.
    #[error("bad shard {0:?}: expected K/N with 0 <= K < N")]
    Shard(String),
    /// The transport could not be set up.
    #[error("network: {0}")]
    Net(#[from] lmpe_net::NetError),
    /// A report file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The HTTP load could not be set up or run (goose, the target's URLs).
    #[error("http load: {0}")]
    Http(String),
    /// A report (load.json or an interval log) could not be read back for merging.
    #[error("cannot merge {path}: {message}")]
    Merge {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
}
