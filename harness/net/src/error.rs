//! The error type of this crate.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

use lmpe_proto::endpoint::TransportKind;

/// What can go wrong setting up or talking to an endpoint driver.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// The configuration enables neither UDP, TCP nor TLS.
    #[error("neither UDP, TCP nor TLS is enabled in the socket configuration")]
    NoTransport,
    /// Binding a socket failed (address in use, not a local address, permission, …).
    #[error("cannot bind the {} socket to {addr}: {source}", .transport.via_token())]
    Bind {
        /// Which socket.
        transport: TransportKind,
        /// The address that was requested.
        addr: SocketAddr,
        /// The operating system's error.
        source: io::Error,
    },
    /// Creating or configuring a socket (before or after binding) failed.
    #[error("cannot set up the {} socket ({operation}): {source}", .transport.via_token())]
    Socket {
        /// Which socket.
        transport: TransportKind,
        /// The failing step, e.g. `"listen"` or `"register with tokio"`.
        operation: &'static str,
        /// The operating system's error.
        source: io::Error,
    },
    /// [`crate::unused_port`] found no port free for both TCP and UDP on the address.
    #[error("no port on {ip} is free for both TCP and UDP (tried {tried})")]
    NoFreePort {
        /// The address.
        ip: std::net::IpAddr,
        /// How many ports were tried.
        tried: u32,
    },
    /// Generating a run-time test certificate failed.
    #[error("cannot generate a test certificate: {detail}")]
    TlsPki {
        /// What rcgen reported.
        detail: String,
    },
    /// A PEM file for [`crate::TlsConfig::from_pem_files`] cannot be read.
    #[error("cannot read TLS PEM file {}: {source}", .path.display())]
    TlsFile {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// PEM text is malformed (bad section markers, bad base64, …).
    #[error("malformed PEM in the TLS {what}: {source}")]
    TlsPem {
        /// Which input: `"certificate chain"`, `"private key"` or `"CA certificates"`.
        what: &'static str,
        /// The PEM parser's error.
        source: rustls::pki_types::pem::Error,
    },
    /// PEM text (or a [`crate::TlsConfig`]) holds no certificate where at least one is needed.
    #[error("no certificate found in the TLS {what}")]
    TlsNoCertificate {
        /// Which input: `"certificate chain"` or `"CA certificates"`.
        what: &'static str,
    },
    /// The private-key PEM holds no PKCS#8, PKCS#1 or SEC1 private key.
    #[error("no private key found in the TLS private key PEM")]
    TlsNoKey,
    /// A CA certificate cannot be used as a trust anchor.
    #[error("invalid TLS CA certificate: {source}")]
    TlsBadCa {
        /// Why rustls refused it.
        source: rustls::Error,
    },
    /// The TLS configuration is inconsistent (key does not match the certificate, unsupported
    /// key type, no trust anchors while client authentication is required, invalid server
    /// name, …).
    #[error("invalid TLS configuration ({context}): {reason}")]
    TlsSetup {
        /// The part of the configuration that failed.
        context: &'static str,
        /// Why.
        reason: String,
    },
    /// The driver task has stopped (after [`crate::EndpointHandle::shutdown`], or because the
    /// endpoint panicked), so the request could not be carried out.
    #[error("the endpoint driver has stopped")]
    Stopped,
}

impl NetError {
    /// The same error attributed to `transport` (the TLS listener reuses the TCP code).
    pub(crate) fn for_transport(self, transport: TransportKind) -> Self {
        match self {
            Self::Bind { addr, source, .. } => Self::Bind {
                transport,
                addr,
                source,
            },
            Self::Socket {
                operation, source, ..
            } => Self::Socket {
                transport,
                operation,
                source,
            },
            other => other,
        }
    }
}
