//! Socket configuration and binding UDP and TCP on one shared port (plus the TLS listener on
//! its own port).

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::time::Duration;

use lmpe_proto::endpoint::TransportKind;
use lmpe_wire::sip::MAX_MESSAGE_SIZE;
use tokio::sync::watch;

use crate::{tcp, udp, NetError, TlsConfig};

/// How many times a fresh ephemeral port is tried when TCP cannot bind the port UDP got.
const BIND_ATTEMPTS: usize = 8;

/// Kernel send/receive buffer size requested for every socket (Linux caps it at
/// `net.core.{r,w}mem_max`).
pub(crate) const SOCKET_BUFFER: usize = 4 << 20;

/// Which sockets to open for an endpoint, and transport limits.
#[derive(Debug, Clone)]
pub struct SipSocketConfig {
    /// Local address; port 0 picks an ephemeral port shared by UDP and TCP.
    pub bind: SocketAddr,
    /// Open a UDP socket.
    pub udp: bool,
    /// Open a TCP listener (and allow outbound TCP connections).
    pub tcp: bool,
    /// SIP over TLS (default `None`: off). When set, the endpoint also listens for TLS on its
    /// own port ([`TlsConfig::bind`]; see
    /// [`EndpointHandle::tls_local_addr`](crate::EndpointHandle::tls_local_addr)) and sends
    /// [`TransportKind::Tls`] transmits over mutually authenticated TLS connections.
    pub tls: Option<TlsConfig>,
    /// A TCP or TLS connection without traffic in either direction for this long is closed (default
    /// 180 s: ETSI TS 103 698 6.1.1 reuses connections with a session timeout of at least
    /// 3 minutes). `Duration::ZERO` never closes idle connections.
    pub tcp_idle_timeout: Duration,
    /// Largest SIP message framed out of a TCP or TLS stream; a larger one is a framing error that
    /// closes the connection. UDP datagrams are always handed to the endpoint whole.
    pub max_message: usize,
}

impl SipSocketConfig {
    /// The default idle timeout of TCP connections (3 minutes).
    pub const DEFAULT_TCP_IDLE_TIMEOUT: Duration = Duration::from_secs(180);

    /// UDP and TCP on `bind`, default idle timeout and message limit.
    pub fn new(bind: SocketAddr) -> Self {
        Self {
            bind,
            udp: true,
            tcp: true,
            tls: None,
            tcp_idle_timeout: Self::DEFAULT_TCP_IDLE_TIMEOUT,
            max_message: MAX_MESSAGE_SIZE,
        }
    }

    /// UDP and TCP on an ephemeral port of 127.0.0.1.
    pub fn loopback() -> Self {
        Self::new(SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// This configuration with SIP over TLS enabled.
    pub fn with_tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }
}

/// Sockets bound by [`bind`], not yet registered with tokio.
#[derive(Debug)]
pub(crate) struct Bound {
    pub(crate) udp: Option<UdpSocket>,
    pub(crate) tcp: Option<TcpListener>,
    /// The address shared by both.
    pub(crate) local: SocketAddr,
    /// The TLS listener and its address.
    pub(crate) tls: Option<(TcpListener, SocketAddr)>,
}

/// Binds UDP and TCP (see [`bind_shared`]), then the TLS listener if configured.
pub(crate) fn bind(cfg: &SipSocketConfig) -> Result<Bound, NetError> {
    if !cfg.udp && !cfg.tcp && cfg.tls.is_none() {
        return Err(NetError::NoTransport);
    }
    let mut bound = bind_shared(cfg)?;
    if let Some(tls) = &cfg.tls {
        let addr = tls.bind.unwrap_or(SocketAddr::new(cfg.bind.ip(), 0));
        let listener = tcp::bind(addr).map_err(|e| e.for_transport(TransportKind::Tls))?;
        let local = listener.local_addr().map_err(|source| NetError::Socket {
            transport: TransportKind::Tls,
            operation: "read local address",
            source,
        })?;
        bound.tls = Some((listener, local));
    }
    Ok(bound)
}

/// Binds UDP on the requested port first, then TCP on the port UDP got. When port 0 was
/// requested and TCP cannot have UDP's ephemeral port, both are retried on a fresh one.
fn bind_shared(cfg: &SipSocketConfig) -> Result<Bound, NetError> {
    let attempts = if cfg.udp && cfg.tcp && cfg.bind.port() == 0 {
        BIND_ATTEMPTS
    } else {
        1
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        let udp = if cfg.udp {
            Some(udp::bind(cfg.bind)?)
        } else {
            None
        };
        let local = match &udp {
            Some(socket) => socket.local_addr().map_err(|source| NetError::Socket {
                transport: TransportKind::Udp,
                operation: "read local address",
                source,
            })?,
            None => cfg.bind,
        };
        if !cfg.tcp {
            return Ok(Bound {
                udp,
                tcp: None,
                local,
                tls: None,
            });
        }
        match tcp::bind(local) {
            Ok(listener) => {
                let local = listener.local_addr().map_err(|source| NetError::Socket {
                    transport: TransportKind::Tcp,
                    operation: "read local address",
                    source,
                })?;
                return Ok(Bound {
                    udp,
                    tcp: Some(listener),
                    local,
                    tls: None,
                });
            }
            Err(NetError::Bind { source, .. }) if attempt < attempts => {
                tracing::debug!(%local, %source, attempt, "TCP cannot share UDP's ephemeral port, retrying");
            }
            Err(e) => return Err(e),
        }
    }
}

/// Resolves when `stop` becomes true or its sender is gone.
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}
