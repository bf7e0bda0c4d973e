//! Priority classes (Resource-Priority, 6.1.2.5) and the message kinds measured.

use std::fmt;

use lmpe_wire::lmpe::MessageType;

/// A Resource-Priority class of the `esnet` namespace (RFC 7135), or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    /// `esnet.0`.
    Esnet0,
    /// `esnet.1`.
    Esnet1,
    /// `esnet.2`.
    Esnet2,
    /// No Resource-Priority header.
    None,
}

impl Class {
    /// All classes, in report order.
    pub const ALL: [Self; 4] = [Self::Esnet0, Self::Esnet1, Self::Esnet2, Self::None];

    /// The name used in profiles and reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Esnet0 => "esnet.0",
            Self::Esnet1 => "esnet.1",
            Self::Esnet2 => "esnet.2",
            Self::None => "none",
        }
    }

    /// Parses a profile name.
    pub fn by_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The `Resource-Priority` header value, if any.
    pub fn header(self) -> Option<&'static str> {
        match self {
            Self::None => None,
            c => Some(c.name()),
        }
    }

    /// Index into per-class arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The kinds of APP messages counted separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// start/257.
    Start,
    /// in-chat/259.
    InChat,
    /// stop/258.
    Stop,
    /// heartbeat/260 (or 388 inactive).
    Heartbeat,
}

impl Kind {
    /// All kinds, in report order.
    pub const ALL: [Self; 4] = [Self::Start, Self::InChat, Self::Stop, Self::Heartbeat];

    /// The report name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::InChat => "in-chat",
            Self::Stop => "stop",
            Self::Heartbeat => "heartbeat",
        }
    }

    /// The kind of an LMPE Message Type (`None` for types a load chat does not send).
    pub fn of(t: MessageType) -> Option<Self> {
        match t {
            MessageType::START => Some(Self::Start),
            MessageType::IN_CHAT => Some(Self::InChat),
            MessageType::STOP => Some(Self::Stop),
            MessageType::HEARTBEAT | MessageType::HEARTBEAT_INACTIVE => Some(Self::Heartbeat),
            _ => None,
        }
    }

    /// Index into per-kind arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
