//! TLS (ETSI TS 103 698 6.1.1 SIP-1: TCP with TLS, mutual authentication with X.509
//! certificates): the user-facing [`TlsConfig`], the rustls client/server configurations
//! built from it (ring crypto provider), and precise descriptions of handshake failures.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{AlertDescription, CertificateError, ClientConfig, RootCertStore, ServerConfig};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::NetError;

/// Certificates, trust anchors and the listening address for SIP over TLS.
///
/// Set it as [`SipSocketConfig::tls`](crate::SipSocketConfig::tls): the endpoint then also
/// listens for TLS connections on its own port ([`TlsConfig::bind`], reported by
/// [`EndpointHandle::tls_local_addr`](crate::EndpointHandle::tls_local_addr)) and sends
/// [`TransportKind::Tls`](lmpe_proto::endpoint::TransportKind::Tls) transmits over TLS connections. The same certificate chain is
/// presented as server certificate (inbound connections) and as client certificate
/// (outbound connections); `roots` are the CAs trusted for the peer's certificate in both
/// directions.
#[non_exhaustive]
pub struct TlsConfig {
    /// Where the TLS listener binds. `None` (the default): the IP address of
    /// [`SipSocketConfig::bind`](crate::SipSocketConfig::bind) with an ephemeral port; a port
    /// of 0 also picks an ephemeral port (e.g. SIPS on `5061` is `Some(ip:5061)`).
    pub bind: Option<SocketAddr>,
    /// Our certificate chain, leaf first.
    pub cert_chain: Vec<CertificateDer<'static>>,
    /// The private key of the leaf certificate.
    pub key: PrivateKeyDer<'static>,
    /// CAs trusted for peer certificates (servers we connect to, clients that connect to us).
    pub roots: RootCertStore,
    /// Whether inbound connections must present a client certificate issued by one of
    /// `roots` (default `true`: mutual authentication). When `false`, a client certificate is
    /// still verified if one is presented.
    pub require_client_auth: bool,
    /// The name expected in the server's certificate (and sent as SNI when it is a DNS name)
    /// when connecting. `None` (the default): the peer's IP address, which the server
    /// certificate must then carry as an IP subject alternative name.
    pub server_name: Option<String>,
    /// Give up a TLS handshake (after the TCP connection is established) after this long
    /// (default [`TlsConfig::DEFAULT_HANDSHAKE_TIMEOUT`]).
    pub handshake_timeout: Duration,
}

impl TlsConfig {
    /// The default handshake timeout (10 s).
    pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

    /// A configuration with mutual authentication, the listener on an ephemeral port and the
    /// peer's IP address as expected server name.
    pub fn new(
        cert_chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        roots: RootCertStore,
    ) -> Self {
        Self {
            bind: None,
            cert_chain,
            key,
            roots,
            require_client_auth: true,
            server_name: None,
            handshake_timeout: Self::DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }

    /// Like [`TlsConfig::new`], from PEM text: `cert_pem` holds the certificate chain (leaf
    /// first), `key_pem` the private key (PKCS#8, PKCS#1 or SEC1; other sections are
    /// skipped, so the key may share a file with the chain), `ca_pem` the trusted CAs.
    pub fn from_pem(cert_pem: &str, key_pem: &str, ca_pem: &str) -> Result<Self, NetError> {
        let cert_chain = certificates(cert_pem, "certificate chain")?;
        let key = match PrivateKeyDer::from_pem_slice(key_pem.as_bytes()) {
            Ok(key) => key,
            Err(rustls::pki_types::pem::Error::NoItemsFound) => return Err(NetError::TlsNoKey),
            Err(source) => {
                return Err(NetError::TlsPem {
                    what: "private key",
                    source,
                })
            }
        };
        let mut roots = RootCertStore::empty();
        for ca in certificates(ca_pem, "CA certificates")? {
            roots
                .add(ca)
                .map_err(|source| NetError::TlsBadCa { source })?;
        }
        Ok(Self::new(cert_chain, key, roots))
    }

    /// Like [`TlsConfig::from_pem`], reading the three PEM files.
    pub fn from_pem_files(
        cert_path: impl AsRef<Path>,
        key_path: impl AsRef<Path>,
        ca_path: impl AsRef<Path>,
    ) -> Result<Self, NetError> {
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|source| NetError::TlsFile {
                path: path.to_owned(),
                source,
            })
        };
        Self::from_pem(
            &read(cert_path.as_ref())?,
            &read(key_path.as_ref())?,
            &read(ca_path.as_ref())?,
        )
    }
}

impl Clone for TlsConfig {
    fn clone(&self) -> Self {
        Self {
            bind: self.bind,
            cert_chain: self.cert_chain.clone(),
            key: self.key.clone_key(),
            roots: self.roots.clone(),
            require_client_auth: self.require_client_auth,
            server_name: self.server_name.clone(),
            handshake_timeout: self.handshake_timeout,
        }
    }
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("bind", &self.bind)
            .field(
                "cert_chain",
                &format_args!("[{} certificates]", self.cert_chain.len()),
            )
            .field("key", &"<redacted>")
            .field(
                "roots",
                &format_args!("[{} trust anchors]", self.roots.len()),
            )
            .field("require_client_auth", &self.require_client_auth)
            .field("server_name", &self.server_name)
            .field("handshake_timeout", &self.handshake_timeout)
            .finish()
    }
}

/// All certificates in `pem`; at least one.
fn certificates(pem: &str, what: &'static str) -> Result<Vec<CertificateDer<'static>>, NetError> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| NetError::TlsPem { what, source })?;
    if certs.is_empty() {
        return Err(NetError::TlsNoCertificate { what });
    }
    Ok(certs)
}

/// The rustls configurations built from a [`TlsConfig`], shared by the listener and the
/// connection tasks.
pub(crate) struct TlsContext {
    pub(crate) acceptor: TlsAcceptor,
    pub(crate) connector: TlsConnector,
    /// `None`: the peer's IP address.
    server_name: Option<ServerName<'static>>,
    pub(crate) handshake_timeout: Duration,
}

impl fmt::Debug for TlsContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsContext")
            .field("server_name", &self.server_name)
            .field("handshake_timeout", &self.handshake_timeout)
            .finish_non_exhaustive()
    }
}

impl TlsContext {
    /// Validates `cfg` and builds the server and client configurations.
    pub(crate) fn new(cfg: &TlsConfig) -> Result<Self, NetError> {
        let setup = |context: &'static str| {
            move |e: rustls::Error| NetError::TlsSetup {
                context,
                reason: e.to_string(),
            }
        };
        if cfg.cert_chain.is_empty() {
            return Err(NetError::TlsNoCertificate {
                what: "certificate chain",
            });
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = Arc::new(cfg.roots.clone());

        let client_verifier = if cfg.roots.is_empty() && !cfg.require_client_auth {
            WebPkiClientVerifier::no_client_auth()
        } else {
            let builder = WebPkiClientVerifier::builder_with_provider(
                Arc::clone(&roots),
                Arc::clone(&provider),
            );
            let builder = if cfg.require_client_auth {
                builder
            } else {
                builder.allow_unauthenticated()
            };
            builder.build().map_err(|e| NetError::TlsSetup {
                context: "client certificate verifier",
                reason: e.to_string(),
            })?
        };
        let server = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(setup("protocol versions"))?
            .with_client_cert_verifier(client_verifier)
            .with_single_cert(cfg.cert_chain.clone(), cfg.key.clone_key())
            .map_err(setup("certificate and private key"))?;

        let server_verifier =
            WebPkiServerVerifier::builder_with_provider(roots, Arc::clone(&provider))
                .build()
                .map_err(|e| NetError::TlsSetup {
                    context: "server certificate verifier",
                    reason: e.to_string(),
                })?;
        let client = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(setup("protocol versions"))?
            .with_webpki_verifier(server_verifier)
            .with_client_auth_cert(cfg.cert_chain.clone(), cfg.key.clone_key())
            .map_err(setup("client certificate and private key"))?;

        let server_name = cfg
            .server_name
            .as_ref()
            .map(|name| {
                ServerName::try_from(name.clone()).map_err(|e| NetError::TlsSetup {
                    context: "server name",
                    reason: format!("{name:?}: {e}"),
                })
            })
            .transpose()?;
        Ok(Self {
            acceptor: TlsAcceptor::from(Arc::new(server)),
            connector: TlsConnector::from(Arc::new(client)),
            server_name,
            handshake_timeout: cfg.handshake_timeout,
        })
    }

    /// The name the server at `remote` must prove.
    pub(crate) fn server_name(&self, remote: SocketAddr) -> ServerName<'static> {
        match &self.server_name {
            Some(name) => name.clone(),
            None => ServerName::IpAddress(remote.ip().into()),
        }
    }
}

/// The rustls error behind an I/O error from a TLS stream, if there is one.
pub(crate) fn tls_error(e: &io::Error) -> Option<&rustls::Error> {
    e.get_ref()?.downcast_ref::<rustls::Error>()
}

/// A precise, human-readable reason for a failed handshake or a TLS protocol failure.
pub(crate) fn describe(e: &io::Error) -> String {
    let Some(tls) = tls_error(e) else {
        return e.to_string();
    };
    match tls {
        rustls::Error::InvalidCertificate(cert) => match cert {
            CertificateError::UnknownIssuer => {
                "peer certificate not trusted (unknown issuer)".to_owned()
            }
            CertificateError::BadSignature => {
                "peer certificate not trusted (bad signature)".to_owned()
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                format!("peer certificate not valid for the expected name ({tls})")
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                format!("peer certificate expired ({tls})")
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                format!("peer certificate not valid yet ({tls})")
            }
            CertificateError::Revoked => "peer certificate revoked".to_owned(),
            _ => format!("peer certificate rejected ({tls})"),
        },
        rustls::Error::NoCertificatesPresented => "peer presented no certificate".to_owned(),
        rustls::Error::AlertReceived(alert) => match alert {
            AlertDescription::CertificateRequired => {
                "peer requires a client certificate (alert certificate_required)".to_owned()
            }
            AlertDescription::UnknownCA
            | AlertDescription::BadCertificate
            | AlertDescription::CertificateUnknown
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateRevoked
            | AlertDescription::AccessDenied => {
                format!("peer rejected our certificate (alert {alert:?})")
            }
            _ => format!("peer sent fatal alert {alert:?}"),
        },
        other => other.to_string(),
    }
}
