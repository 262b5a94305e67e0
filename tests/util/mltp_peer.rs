//! A scriptable fake T-Server for connector tests: speaks MLTP over a real socket, sends
//! requests, awaits the RESPONSE with the same transaction id, and keeps every event.

use bytes::BytesMut;
use sfb_tserver::mltp::{link_codec, Mltp, MltpMessage, Response, TxId};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub struct MltpPeer {
    stream: TcpStream,
    buf: BytesMut,
    codec: sfb_tserver::mltp::MltpCodec,
    next_tx: u64,
    pub events: Vec<Mltp>,
}

impl MltpPeer {
    pub async fn connect(addr: &str) -> MltpPeer {
        let stream = TcpStream::connect(addr).await.expect("connector reachable");
        MltpPeer { stream, buf: BytesMut::new(), codec: link_codec(), next_tx: 1, events: Vec::new() }
    }

    async fn read_one(&mut self, timeout: Duration) -> Option<MltpMessage> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(m) = self.codec.decode(&mut self.buf).expect("valid MLTP from the connector") {
                return Some(m);
            }
            match tokio::time::timeout_at(deadline, self.stream.read_buf(&mut self.buf)).await {
                Ok(Ok(n)) if n > 0 => {}
                _ => return None,
            }
        }
    }

    /// Sends requests in one write without waiting for their answers; their transaction ids.
    pub async fn send_all(&mut self, ms: Vec<Mltp>) -> Vec<u64> {
        let mut out = BytesMut::new();
        let mut txs = Vec::new();
        for m in ms {
            let tx = self.next_tx;
            self.next_tx += 1;
            link_codec().encode(&m.to_message(TxId::Tx(tx)), &mut out).unwrap();
            txs.push(tx);
        }
        self.stream.write_all(&out).await.unwrap();
        txs
    }

    /// The next message (RESPONSE or event) with its id; None on timeout.
    pub async fn next_message(&mut self, timeout: Duration) -> Option<(TxId, Mltp)> {
        let msg = self.read_one(timeout).await?;
        Some((msg.id, Mltp::from_message(&msg).expect("typed MLTP")))
    }

    /// Sends a request and returns its RESPONSE, keeping events that arrive meanwhile.
    pub async fn request(&mut self, m: Mltp) -> Response {
        let tx = self.send_all(vec![m]).await[0];
        loop {
            let msg = self.read_one(Duration::from_secs(10)).await.expect("a RESPONSE");
            match Mltp::from_message(&msg).expect("typed MLTP") {
                Mltp::Response(r) if msg.id == TxId::Tx(tx) => return r,
                other => self.events.push(other),
            }
        }
    }

    /// Reads events until `pred` matches one (kept in `events` too); false on timeout.
    pub async fn wait_event(&mut self, timeout: Duration, pred: impl Fn(&Mltp) -> bool) -> bool {
        if self.events.iter().any(&pred) {
            return true;
        }
        let deadline = tokio::time::Instant::now() + timeout;
        while let Some(msg) = self.read_one(deadline.saturating_duration_since(tokio::time::Instant::now())).await {
            if let Ok(m) = Mltp::from_message(&msg) {
                let hit = pred(&m);
                self.events.push(m);
                if hit {
                    return true;
                }
            }
        }
        false
    }
}
