//! Run-time test PKI: a throw-away CA and leaf certificates (rcgen, ring), so conformance runs
//! and tests use SIP over TLS with mutual authentication without any committed private key.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use crate::{NetError, TlsConfig};

/// A certificate authority generated at run time.
pub struct TestCa {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

/// A leaf certificate and its private key, PEM.
#[derive(Clone)]
pub struct Leaf {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key (PKCS#8), PEM.
    pub key_pem: String,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Leaf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leaf").finish_non_exhaustive()
    }
}

fn pki(e: rcgen::Error) -> NetError {
    NetError::TlsPki {
        detail: e.to_string(),
    }
}

impl TestCa {
    /// A new self-signed CA named `name`.
    pub fn new(name: &str) -> Result<Self, NetError> {
        let key = KeyPair::generate().map_err(pki)?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(pki)?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).map_err(pki)?;
        Ok(Self {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        })
    }

    /// The CA certificate, PEM (what peers trust).
    pub fn cert_pem(&self) -> &str {
        &self.pem
    }

    /// A leaf for both server and client use, with subject alternative names `127.0.0.1` and
    /// `localhost`.
    pub fn leaf(&self, name: &str) -> Result<Leaf, NetError> {
        let key = KeyPair::generate().map_err(pki)?;
        let mut params =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
                .map_err(pki)?;
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let cert = params.signed_by(&key, &self.issuer).map_err(pki)?;
        Ok(Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// Adds this CA to a trust store (e.g. to make a TLS configuration trust it too).
    pub fn add_to(&self, roots: &mut rustls::RootCertStore) -> Result<(), NetError> {
        use rustls::pki_types::pem::PemObject;
        let der = rustls::pki_types::CertificateDer::from_pem_slice(self.pem.as_bytes()).map_err(
            |e| NetError::TlsPki {
                detail: format!("CA certificate: {e}"),
            },
        )?;
        roots
            .add(der)
            .map_err(|source| NetError::TlsBadCa { source })
    }

    /// A TLS configuration presenting a new leaf named `name` and trusting this CA
    /// (mutual authentication required).
    pub fn tls_config(&self, name: &str) -> Result<TlsConfig, NetError> {
        let leaf = self.leaf(name)?;
        TlsConfig::from_pem(&leaf.cert_pem, &leaf.key_pem, &self.pem)
    }
}
