//! Optional TLS on the T-Library port (rustls), through the one transport adapter.

use crate::util::*;
use sfb_tserver::client::Client;
use sfb_tserver::config::TlsFiles;
use sfb_tserver::tlib::EventKind;

#[tokio::test]
async fn tls_clients_connect_and_plain_clients_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.key_pair.serialize_pem()).unwrap();
    let files = TlsFiles { cert: cert.clone(), key };
    let server = TestServer::start_with(move |c| c.server.tls = Some(files)).await;

    let config = sfb_tserver::transport::client_config(&cert).unwrap();
    let c = Client::connect_with(&server.tlib(), Some((config, "localhost")), "tls-test").await.unwrap();
    assert_eq!(c.register(AGENT01).await.unwrap().kind, EventKind::Registered);

    // A plain client cannot open a session on the TLS port, and the TLS client is unaffected.
    assert!(Client::connect(&server.tlib()).await.is_err());
    assert_eq!(c.register(AGENT02).await.unwrap().kind, EventKind::Registered);
}
