//! Drives a [`Transferor`] with a [`TransferClient`].

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;

use super::TransferClient;
use crate::transferee::Service;
use crate::transferor::{ReceivedResponse, TransferRequest, Transferor, TransferorOutput};
use crate::TransferError;

type Completion = (String, Service, Result<ReceivedResponse, TransferError>);

/// Runs a [`Transferor`] over HTTP: sends its requests (each on its own task), feeds back
/// responses, errors and timers, and hands every other output to the caller.
#[derive(Debug)]
pub struct TransferorRunner {
    machine: Transferor,
    client: Arc<TransferClient>,
    tx: mpsc::UnboundedSender<Completion>,
    rx: mpsc::UnboundedReceiver<Completion>,
}

impl TransferorRunner {
    /// A runner for `machine` sending with `client`.
    pub fn new(machine: Transferor, client: TransferClient) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            machine,
            client: Arc::new(client),
            tx,
            rx,
        }
    }

    /// The machine (e.g. to change faults or read a transfer's state).
    pub fn machine(&mut self) -> &mut Transferor {
        &mut self.machine
    }

    /// The client.
    pub fn client(&self) -> &TransferClient {
        &self.client
    }

    /// Starts a transfer now.
    pub fn start(&mut self, req: TransferRequest) -> Result<(), TransferError> {
        self.machine.start(Instant::now(), req)
    }

    /// The next output other than [`TransferorOutput::Send`] (those are sent here), waiting
    /// for responses and timers as needed. `None` when nothing is under way.
    pub async fn next_output(&mut self) -> Option<TransferorOutput> {
        loop {
            while let Some(out) = self.machine.poll_output() {
                match out {
                    TransferorOutput::Send(req) => {
                        let client = self.client.clone();
                        let tx = self.tx.clone();
                        tokio::spawn(async move {
                            let result = client.send(&req).await;
                            let _ = tx.send((req.call_id, req.service, result));
                        });
                    }
                    other => return Some(other),
                }
            }
            let deadline = self.machine.poll_timeout();
            // Every exchange in flight holds a clone of the client.
            if deadline.is_none() && self.rx.is_empty() && Arc::strong_count(&self.client) == 1 {
                return None;
            }
            tokio::select! {
                done = self.rx.recv() => {
                    let (call_id, service, result) = done?;
                    let now = Instant::now();
                    let r = match result {
                        Ok(resp) => self.machine.handle_response(now, &call_id, service, &resp),
                        Err(e) => self.machine.handle_transport_error(now, &call_id, service, &e.to_string()),
                    };
                    if let Err(e) = r {
                        tracing::debug!(%e, %call_id, "transferor ignored an HTTP completion");
                    }
                }
                _ = sleep_until_opt(deadline) => {
                    self.machine.handle_timeout(Instant::now());
                }
            }
        }
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}
