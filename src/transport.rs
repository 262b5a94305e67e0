//! TCP and TLS behind one stream type. Protocol code (T-Library sessions, MLTP links) only sees
//! [`Stream`]; whether bytes are encrypted is decided once here, from configuration. TLS uses
//! rustls with PEM certificate and key files. This module never parses protocol bytes.

use std::io;
use std::path::Path;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::rustls;

/// A connected byte stream, plain or TLS.
pub trait AsyncStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> AsyncStream for T {}

pub type Stream = Box<dyn AsyncStream>;

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("cannot read {what} {path}: {source}")]
    Read { what: &'static str, path: String, source: io::Error },
    #[error("{path} holds no {what}")]
    Empty { what: &'static str, path: String },
    #[error("invalid TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    #[error("invalid TLS server name {0:?}")]
    ServerName(String),
}

/// Accepts connections, wrapping them in TLS when a server configuration is set.
#[derive(Clone, Default)]
pub struct Acceptor {
    tls: Option<tokio_rustls::TlsAcceptor>,
}

impl Acceptor {
    pub fn plain() -> Self {
        Acceptor { tls: None }
    }

    pub fn tls(config: Arc<rustls::ServerConfig>) -> Self {
        Acceptor { tls: Some(tokio_rustls::TlsAcceptor::from(config)) }
    }

    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    pub async fn accept(&self, tcp: TcpStream) -> io::Result<Stream> {
        let _ = tcp.set_nodelay(true);
        match &self.tls {
            None => Ok(Box::new(tcp)),
            Some(acceptor) => Ok(Box::new(acceptor.accept(tcp).await?)),
        }
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds a TLS server configuration from PEM files (certificate chain and private key).
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, TransportError> {
    let certs = read_certs(cert)?;
    let key_bytes = std::fs::read(key).map_err(|source| TransportError::Read {
        what: "private key",
        path: key.display().to_string(),
        source,
    })?;
    let key_der = rustls_pemfile::private_key(&mut key_bytes.as_slice())
        .map_err(|source| TransportError::Read { what: "private key", path: key.display().to_string(), source })?
        .ok_or_else(|| TransportError::Empty { what: "private key", path: key.display().to_string() })?;
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)?;
    Ok(Arc::new(config))
}

/// Builds a TLS client configuration trusting the certificates in `ca` (PEM).
pub fn client_config(ca: &Path) -> Result<Arc<rustls::ClientConfig>, TransportError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in read_certs(ca)? {
        roots.add(cert)?;
    }
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

fn read_certs(path: &Path) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, TransportError> {
    let bytes = std::fs::read(path).map_err(|source| TransportError::Read {
        what: "certificate",
        path: path.display().to_string(),
        source,
    })?;
    let certs: Vec<_> = rustls_pemfile::certs(&mut bytes.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|source| TransportError::Read { what: "certificate", path: path.display().to_string(), source })?;
    if certs.is_empty() {
        return Err(TransportError::Empty { what: "certificate", path: path.display().to_string() });
    }
    Ok(certs)
}

/// Connects to `addr`, with TLS when `tls` is given (`server_name` is checked against the
/// server's certificate).
pub async fn connect(
    addr: &str,
    tls: Option<(Arc<rustls::ClientConfig>, &str)>,
) -> Result<Stream, Box<dyn std::error::Error + Send + Sync>> {
    let tcp = TcpStream::connect(addr).await?;
    let _ = tcp.set_nodelay(true);
    match tls {
        None => Ok(Box::new(tcp)),
        Some((config, name)) => {
            let server_name = rustls::pki_types::ServerName::try_from(name.to_string())
                .map_err(|_| TransportError::ServerName(name.to_string()))?;
            let stream = tokio_rustls::TlsConnector::from(config).connect(server_name, tcp).await?;
            Ok(Box::new(stream))
        }
    }
}
