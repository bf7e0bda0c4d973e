//! Test support shared by the integration tests of lmpe-net.

#![allow(dead_code)] // Each test binary uses a different part.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use lmpe_proto::endpoint::{Endpoint, Incoming, Transmit, TransportKind};

/// Replies to every input with the same bytes, to the sender, over the same transport (unless
/// `echo` is off); records inputs, transport errors and timeouts.
#[derive(Default)]
pub(crate) struct Echo {
    pub(crate) echo: bool,
    pub(crate) inputs: Vec<Incoming>,
    pub(crate) errors: Vec<(TransportKind, SocketAddr, String)>,
    pub(crate) out: VecDeque<Transmit>,
    pub(crate) timer: Option<Instant>,
    pub(crate) fired: usize,
}

impl Echo {
    pub(crate) fn replying() -> Self {
        Self {
            echo: true,
            ..Self::default()
        }
    }
}

impl Endpoint for Echo {
    fn handle_input(&mut self, _now: Instant, input: Incoming) {
        if self.echo {
            self.out.push_back(Transmit {
                transport: input.transport,
                remote: input.remote,
                bytes: input.bytes.clone().into(),
            });
        }
        self.inputs.push(input);
    }

    fn handle_transport_error(
        &mut self,
        _now: Instant,
        transport: TransportKind,
        remote: SocketAddr,
        error: &str,
    ) {
        self.errors.push((transport, remote, error.to_owned()));
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.pop_front()
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        self.timer
    }

    fn handle_timeout(&mut self, now: Instant) {
        if self.timer.is_some_and(|t| t <= now) {
            self.timer = None;
            self.fired += 1;
        }
    }
}
