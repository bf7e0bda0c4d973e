//! The XMPP side of the alert server ([`XmppPublisher`]: XEP-0127 items on XEP-0060 nodes)
//! and of the citizen ([`XmppCitizen`]: subscribes to nodes and turns event notifications
//! into [`Received`] alerts), each a task that owns one `lmpe-xmpp` client connection.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::{Duration, Instant};

use lmpe_xmpp::{pubsub_items, Element, XmppClient, XmppEvent};
use tokio::sync::{mpsc, oneshot};

use crate::citizen::{Received, XmppSubscriber};
use crate::server::Publisher;
use crate::{AlertsError, Channel};

type Reply = oneshot::Sender<Result<String, String>>;

enum Cmd {
    Publish {
        node: String,
        item_id: String,
        payload: String,
        reply: Reply,
    },
    Subscribe {
        service: String,
        node: String,
        uri: String,
        deliver: mpsc::UnboundedSender<Received>,
        reply: Reply,
    },
}

/// An XMPP account's connection, driven by its own task.
#[derive(Debug)]
struct Connection {
    cmds: mpsc::UnboundedSender<Cmd>,
    jid: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Connection {
    async fn open(
        server: SocketAddr,
        jid: &str,
        password: &str,
        pubsub: Option<String>,
        timeout: Duration,
    ) -> Result<Connection, AlertsError> {
        let mut client = XmppClient::connect(server, jid, password, timeout)
            .await
            .map_err(|e| AlertsError::Xmpp(e.to_string()))?;
        // Initial presence (RFC 6121 4.2): notifications to the bare JID reach only
        // available resources.
        client
            .send_presence(lmpe_xmpp::PresenceOut::available(Vec::new()))
            .map_err(|e| AlertsError::Xmpp(e.to_string()))?;
        let bound = client.jid().to_string();
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(client, rx, pubsub));
        Ok(Connection {
            cmds: tx,
            jid: bound,
            task,
        })
    }

    async fn call(&self, make: impl FnOnce(Reply) -> Cmd) -> Result<String, String> {
        let (reply, rx) = oneshot::channel();
        self.cmds
            .send(make(reply))
            .map_err(|_| format!("the XMPP connection of {} has ended", self.jid))?;
        rx.await
            .map_err(|_| format!("the XMPP connection of {} has ended", self.jid))?
    }
}

async fn run(
    mut client: XmppClient,
    mut cmds: mpsc::UnboundedReceiver<Cmd>,
    pubsub: Option<String>,
) {
    let me = client.jid().to_string();
    // (service, node) → (LoST URI, inbox)
    let mut routes: HashMap<(String, String), (String, mpsc::UnboundedSender<Received>)> =
        HashMap::new();
    loop {
        tokio::select! {
            cmd = cmds.recv() => {
                let Some(cmd) = cmd else { return };
                match cmd {
                    Cmd::Publish { node, item_id, payload, reply } => {
                        let service = pubsub.clone().unwrap_or_default();
                        let r = match payload.parse::<Element>() {
                            Err(e) => Err(format!("the item payload is not one XML element: {e}")),
                            Ok(el) => client
                                .pubsub_publish(&service, &node, &item_id, el)
                                .await
                                .map(|()| format!("published {item_id} on {node}"))
                                .map_err(|e| e.to_string()),
                        };
                        let _ = reply.send(r);
                    }
                    Cmd::Subscribe { service, node, uri, deliver, reply } => {
                        let r = client
                            .pubsub_subscribe(&service, &node)
                            .await
                            .map(|()| format!("subscribed to {node} at {service}"))
                            .map_err(|e| e.to_string());
                        if r.is_ok() {
                            routes.insert((service.to_ascii_lowercase(), node), (uri, deliver));
                        }
                        let _ = reply.send(r);
                    }
                }
            }
            ev = client.next_event(Duration::from_secs(3600)) => {
                let ev = match ev {
                    Ok(ev) => ev,
                    // Nothing for an hour: wait again. A closed connection ends the task.
                    Err(lmpe_xmpp::XmppError::Timeout { .. }) => continue,
                    Err(_) => return,
                };
                let at = Instant::now();
                match &ev {
                    XmppEvent::Message(m) => {
                        let from = m
                            .stanza
                            .from
                            .as_ref()
                            .map(|j| j.to_bare().to_string().to_ascii_lowercase())
                            .unwrap_or_default();
                        for item in pubsub_items(&m.stanza) {
                            let Some((uri, deliver)) = routes.get(&(from.clone(), item.node.clone())) else {
                                continue;
                            };
                            let alert = match &item.payload {
                                Some(p) => lmpe_warning::xep0127::extract_alert(&String::from(p))
                                    .map_err(|e| e.to_string()),
                                None => Err("the notification carries no item payload (XEP-0060 7.1.2.1)".into()),
                            };
                            let _ = deliver.send(Received {
                                channel: Channel::Xmpp,
                                source: uri.clone(),
                                subscriber: me.clone(),
                                at,
                                carrier: m.xml.clone(),
                                alert,
                            });
                        }
                    }
                    XmppEvent::Closed { .. } => return,
                    _ => {}
                }
            }
        }
    }
}

/// The alert server's XMPP side: publishes each alert as an item on the point's node of a
/// pubsub service (creating the nodes at start).
#[derive(Debug)]
pub struct XmppPublisher {
    conn: Connection,
}

impl XmppPublisher {
    /// Logs in as `jid` at `server` and creates `nodes` on `pubsub` (a node that exists
    /// already is fine).
    pub async fn connect(
        server: SocketAddr,
        jid: &str,
        password: &str,
        pubsub: &str,
        nodes: &[String],
        timeout: Duration,
    ) -> Result<XmppPublisher, AlertsError> {
        let mut client = XmppClient::connect(server, jid, password, timeout)
            .await
            .map_err(|e| AlertsError::Xmpp(e.to_string()))?;
        for n in nodes {
            if let Err(e) = client.pubsub_create(pubsub, n).await {
                let text = e.to_string();
                if !text.contains("conflict") {
                    return Err(AlertsError::Xmpp(format!(
                        "creating node {n} at {pubsub}: {text}"
                    )));
                }
            }
        }
        let bound = client.jid().to_string();
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(client, rx, Some(pubsub.to_owned())));
        Ok(XmppPublisher {
            conn: Connection {
                cmds: tx,
                jid: bound,
                task,
            },
        })
    }
}

impl Publisher for XmppPublisher {
    fn publish<'a>(
        &'a self,
        node: &'a str,
        item_id: &'a str,
        payload: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            self.conn
                .call(|reply| Cmd::Publish {
                    node: node.to_owned(),
                    item_id: item_id.to_owned(),
                    payload: payload.to_owned(),
                    reply,
                })
                .await
                .map(drop)
        })
    }
}

/// A citizen's XMPP account: subscribes to pubsub nodes and delivers their items.
#[derive(Debug)]
pub struct XmppCitizen {
    conn: Connection,
}

impl XmppCitizen {
    /// Logs in as `jid` at `server`.
    pub async fn connect(
        server: SocketAddr,
        jid: &str,
        password: &str,
        timeout: Duration,
    ) -> Result<XmppCitizen, AlertsError> {
        Ok(XmppCitizen {
            conn: Connection::open(server, jid, password, None, timeout).await?,
        })
    }

    /// The bound JID.
    pub fn jid(&self) -> &str {
        &self.conn.jid
    }
}

impl XmppSubscriber for XmppCitizen {
    fn subscribe<'a>(
        &'a self,
        service: &'a str,
        node: &'a str,
        uri: &'a str,
        deliver: mpsc::UnboundedSender<Received>,
    ) -> Pin<Box<dyn Future<Output = Result<String, String>> + Send + 'a>> {
        Box::pin(async move {
            self.conn
                .call(|reply| Cmd::Subscribe {
                    service: service.to_owned(),
                    node: node.to_owned(),
                    uri: uri.to_owned(),
                    deliver,
                    reply,
                })
                .await
        })
    }
}
