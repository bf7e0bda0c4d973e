//! The crate's one error type.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong starting Prosody, connecting, talking XMPP or running the
/// embedded server.
#[derive(Debug, thiserror::Error)]
pub enum XmppError {
    /// The `prosody` / `prosodyctl` programs are not installed.
    #[error(
        "{binary} not found: Prosody is not installed (Debian/Ubuntu: apt-get install -y prosody)"
    )]
    ProsodyNotInstalled {
        /// The program looked for.
        binary: PathBuf,
    },
    /// A Prosody command (e.g. `prosodyctl register`) failed.
    #[error("{command}: {reason}")]
    ProsodyCommand {
        /// The command line.
        command: String,
        /// Exit status and output.
        reason: String,
    },
    /// Prosody exited before it listened on its port.
    #[error("prosody exited during start-up ({status}); log:\n{log}")]
    ProsodyExited {
        /// The exit status.
        status: String,
        /// The end of Prosody's log file and output.
        log: String,
    },
    /// Prosody did not listen on its port in time.
    #[error("prosody did not listen on {addr} within {timeout:?}; log:\n{log}")]
    ProsodyStartTimeout {
        /// The client-to-server address.
        addr: SocketAddr,
        /// The time allowed.
        timeout: Duration,
        /// The end of Prosody's log file and output.
        log: String,
    },
    /// No port on 127.0.0.1 was free for Prosody's client-to-server listener.
    #[error("no port for Prosody: {0}")]
    NoFreePort(#[source] lmpe_net::NetError),
    /// A local file or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A JID does not parse, or is not of the kind needed (e.g. no local part).
    #[error("invalid JID {jid:?}: {reason}")]
    InvalidJid {
        /// The text given.
        jid: String,
        /// What is wrong.
        reason: String,
    },
    /// The TCP connection to the server could not be made.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// The server's address.
        addr: SocketAddr,
        /// The socket error.
        #[source]
        source: std::io::Error,
    },
    /// The XML stream broke or the peer violated the protocol during stream negotiation.
    #[error("XMPP stream with {peer}: {reason}")]
    Stream {
        /// The peer (address or JID).
        peer: String,
        /// What went wrong.
        reason: String,
    },
    /// SASL authentication was refused.
    #[error("authentication of {jid} refused: {reason}")]
    Auth {
        /// The JID that tried to log in.
        jid: String,
        /// The SASL failure condition or error.
        reason: String,
    },
    /// Something did not happen within its time limit.
    #[error("{what}: nothing within {timeout:?}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// The time allowed.
        timeout: Duration,
    },
    /// An IQ request was answered with `type="error"`.
    #[error("{what}: error reply {condition}: {xml}")]
    IqError {
        /// The request (e.g. "pubsub create warning-area-a").
        what: String,
        /// The defined condition (e.g. `item-not-found`).
        condition: String,
        /// The error stanza as received.
        xml: String,
    },
    /// A reply had an unexpected form.
    #[error("{what}: unexpected reply: {xml}")]
    UnexpectedReply {
        /// The request.
        what: String,
        /// The reply as received.
        xml: String,
    },
    /// The connection is closed (by the peer, an error, or [`crate::XmppClient::close`]).
    #[error("XMPP connection of {jid} closed: {reason}")]
    Disconnected {
        /// The local JID.
        jid: String,
        /// Why.
        reason: String,
    },
    /// The embedded server could not bind its listening socket.
    #[error("XMPP server on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The socket error.
        #[source]
        source: std::io::Error,
    },
}

impl XmppError {
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            what: what.into(),
            source,
        }
    }
}
