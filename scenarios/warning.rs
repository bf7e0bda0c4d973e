//! The public-warning deployment a run tests (draft-rosen-atoca-server-discovery): an ECRF
//! with warning mappings, alert servers reached over SIP, XMPP and HTTP, and an alert ingest
//! for the originator. The embedded one is the harness's own ECRF (sample areas plus
//! [`SAMPLE_WARNING_AREAS`]), its reference alert server (lmpe-alerts) and an XMPP server
//! (the embedded one of lmpe-xmpp, or a real one named in the target file); a target file's
//! `[warning]` can replace any of them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use lmpe_alerts::xmpp::{XmppCitizen, XmppPublisher};
use lmpe_alerts::{AlertFaults, AlertServer, AlertServerConfig, DistributionPoint, Publisher};
use lmpe_locsvc::http::{serve, HttpServer, LocServices};
use lmpe_locsvc::{
    fill_template, Ecrf, EcrfConfig, EcrfFaults, ServiceAreas, SAMPLE_AREAS, SAMPLE_WARNING_AREAS,
};

use crate::target::WarningTarget;

/// The sample data's points in area A and area B.
pub(crate) const WARN_POINT_A: [f64; 2] = [48.2, 16.2];
/// See [`WARN_POINT_A`].
pub(crate) const WARN_POINT_B: [f64; 2] = [48.2, 16.6];
/// Mappings of `urn:service:warning.met` at [`WARN_POINT_A`] in the sample data.
pub(crate) const SAMPLE_MET_MAPPINGS: usize = 2;
/// Bound of each setup step.
const SETUP: Duration = Duration::from_secs(10);

/// An XMPP server and the citizens' accounts on it.
#[derive(Debug, Clone)]
pub(crate) struct XmppAccess {
    /// Client-to-server address.
    pub(crate) server: SocketAddr,
    /// Account domain.
    pub(crate) domain: String,
    /// (user, password) of the citizens in area A and area B.
    pub(crate) citizens: [(String, String); 2],
}

impl XmppAccess {
    /// Logs the citizen of area `index` (0: A, 1: B) in.
    pub(crate) async fn citizen(&self, index: usize) -> Result<XmppCitizen, String> {
        let (user, pw) = &self.citizens[index.min(1)];
        let jid = if user.contains('@') {
            user.clone()
        } else {
            format!("{user}@{}", self.domain)
        };
        XmppCitizen::connect(self.server, &jid, pw, SETUP)
            .await
            .map_err(|e| e.to_string())
    }
}

/// A running (or named) warning deployment.
pub(crate) struct WarningNet {
    /// The LoST server citizens ask.
    pub(crate) ecrf_url: String,
    /// Where the originator POSTs alerts.
    pub(crate) ingest_url: String,
    /// A location in area A and one in area B.
    pub(crate) points: [[f64; 2]; 2],
    /// Expected `urn:service:warning.met` mappings at area A's point, if known.
    pub(crate) met_mappings: Option<usize>,
    /// Where SUBSCRIBEs to host names go.
    pub(crate) sip_proxy: Option<SocketAddr>,
    /// The XMPP side, if there is one.
    pub(crate) xmpp: Option<XmppAccess>,
    /// The harness's own ECRF and alert server (not for a fully real deployment).
    pub(crate) ecrf: Option<HttpServer>,
    pub(crate) alerts: Option<AlertServer>,
    /// The embedded XMPP server, when no real one is named.
    xmpp_server: Option<lmpe_xmpp::server::EmbeddedServer>,
}

impl std::fmt::Debug for WarningNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WarningNet")
            .field("ecrf_url", &self.ecrf_url)
            .field("ingest_url", &self.ingest_url)
            .finish()
    }
}

fn any() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// The pubsub service JID of a domain.
fn pubsub_of(domain: &str) -> String {
    format!("pubsub.{domain}")
}

impl WarningNet {
    /// Starts the deployment for a run: `target` (a target file's `[warning]`) or the
    /// embedded one, with the ECRF and alert-server faults of the run.
    pub(crate) async fn start(
        target: Option<&WarningTarget>,
        ecrf_faults: &EcrfFaults,
        alert_faults: &AlertFaults,
    ) -> Result<WarningNet, String> {
        let points = [
            target.and_then(|t| t.point_a).unwrap_or(WARN_POINT_A),
            target.and_then(|t| t.point_b).unwrap_or(WARN_POINT_B),
        ];
        let sip_proxy = target.and_then(|t| t.sip_proxy);
        if let Some(t) = target {
            if let (Some(ecrf), Some(ingest)) = (&t.ecrf, &t.ingest) {
                // A real deployment: nothing of ours runs.
                return Ok(WarningNet {
                    ecrf_url: ecrf.clone(),
                    ingest_url: ingest.clone(),
                    points,
                    met_mappings: t.met_mappings,
                    sip_proxy,
                    xmpp: t.xmpp.as_ref().map(access),
                    ecrf: None,
                    alerts: None,
                    xmpp_server: None,
                });
            }
        }
        // The XMPP side: the target's server, or the embedded one.
        let real_xmpp = target.and_then(|t| t.xmpp.clone());
        let (xmpp, xmpp_server, publisher_account, pubsub) = match &real_xmpp {
            Some(x) => {
                let pubsub = x.pubsub.clone().unwrap_or_else(|| pubsub_of(&x.domain));
                let publisher = x.publisher.clone().map(|[u, p]| (u, p));
                (Some(access(x)), None, publisher, pubsub)
            }
            None => {
                let domain = "lmpe.test";
                let server = start_embedded_xmpp(1000).await?;
                let a = XmppAccess {
                    server: server.addr(),
                    domain: domain.into(),
                    citizens: [
                        ("citizen-a".into(), "citizen-a".into()),
                        ("citizen-b".into(), "citizen-b".into()),
                    ],
                };
                (
                    Some(a),
                    Some(server),
                    Some((EMBEDDED_PUBLISHER.into(), EMBEDDED_PUBLISHER.into())),
                    pubsub_of(domain),
                )
            }
        };
        // The alert server, publishing on the XMPP server's pubsub service.
        let publisher = match (&xmpp, publisher_account) {
            (Some(x), Some((user, pw))) => {
                let jid = if user.contains('@') {
                    user
                } else {
                    format!("{user}@{}", x.domain)
                };
                Some((x.server, jid, pw))
            }
            _ => None,
        };
        let alerts = start_alert_server(publisher, &pubsub, alert_faults).await?;
        let warning_text = |sip: &str, http: &str| {
            fill_template(
                SAMPLE_WARNING_AREAS,
                &[
                    ("ALERTS_SIP", sip),
                    ("ALERTS_PUBSUB", &pubsub),
                    ("ALERTS_HTTP", http),
                ],
            )
            .map_err(|e| e.to_string())
        };
        // The ECRF: the sample areas plus the warning areas with the alert server's URIs.
        let mut areas = ServiceAreas::from_geojson(
            &fill_template(
                SAMPLE_AREAS,
                &[
                    ("PSAP_A", "sip:psap-a@127.0.0.1:9"),
                    ("PSAP_B", "sip:psap-b@127.0.0.1:9"),
                ],
            )
            .map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?;
        areas.extend(
            ServiceAreas::from_geojson(&warning_text(
                &alerts.sip_addr().to_string(),
                &alerts.http_base(),
            )?)
            .map_err(|e| e.to_string())?,
        );
        let mut ecrf = Ecrf::new(areas, EcrfConfig::default());
        ecrf.set_faults(ecrf_faults.clone());
        let server = serve(
            any(),
            LocServices {
                ecrf: Some(ecrf),
                lis: None,
            },
        )
        .await
        .map_err(|e| format!("the warning ECRF: {e}"))?;
        Ok(WarningNet {
            ecrf_url: server.url("/lost"),
            ingest_url: alerts.ingest_url(),
            points,
            met_mappings: target
                .and_then(|t| t.met_mappings)
                .or(Some(SAMPLE_MET_MAPPINGS)),
            sip_proxy,
            xmpp,
            ecrf: Some(server),
            alerts: Some(alerts),
            xmpp_server,
        })
    }

    /// Stops what the harness runs.
    pub(crate) async fn shutdown(&mut self) {
        if let Some(a) = self.alerts.take() {
            a.shutdown().await;
        }
        self.ecrf.take();
        self.xmpp_server.take();
    }
}

/// The account the harness's alert server publishes with on the embedded XMPP server (its
/// password is the same).
pub(crate) const EMBEDDED_PUBLISHER: &str = "alerts";

/// The embedded XMPP server (domain `lmpe.test`, any account; only [`EMBEDDED_PUBLISHER`]
/// creates pubsub nodes and publishes), for at most `connections` clients.
pub(crate) async fn start_embedded_xmpp(
    connections: usize,
) -> Result<lmpe_xmpp::server::EmbeddedServer, String> {
    let mut opts = lmpe_xmpp::server::ServerOptions::default().publisher(EMBEDDED_PUBLISHER);
    opts.max_connections = connections;
    lmpe_xmpp::server::EmbeddedServer::start(any(), opts)
        .await
        .map_err(|e| format!("the embedded XMPP server: {e}"))
}

/// The reference alert server over the sample warning points, publishing with `publisher`
/// (`(server, JID, password)`; none: nothing over XMPP) on the pubsub service `pubsub`.
pub(crate) async fn start_alert_server(
    publisher: Option<(SocketAddr, String, String)>,
    pubsub: &str,
    faults: &AlertFaults,
) -> Result<AlertServer, String> {
    let points = DistributionPoint::sample().map_err(|e| e.to_string())?;
    let publisher: Option<Arc<dyn Publisher>> = match publisher {
        Some((server, jid, pw)) => {
            let nodes: Vec<String> = points.iter().map(|p| p.id.clone()).collect();
            let p = XmppPublisher::connect(server, &jid, &pw, pubsub, &nodes, SETUP)
                .await
                .map_err(|e| format!("the alert server's XMPP publisher {jid}: {e}"))?;
            Some(Arc::new(p))
        }
        None => None,
    };
    AlertServer::start(AlertServerConfig {
        http_listen: any(),
        sip_listen: any(),
        points,
        faults: faults.clone(),
        publisher,
    })
    .await
    .map_err(|e| format!("the alert server: {e}"))
}

fn access(x: &crate::target::XmppTarget) -> XmppAccess {
    let acc = |i: usize| {
        x.citizens
            .get(i)
            .map(|[u, p]| (u.clone(), p.clone()))
            .unwrap_or_default()
    };
    XmppAccess {
        server: x.server,
        domain: x.domain.clone(),
        citizens: [acc(0), acc(1)],
    }
}
