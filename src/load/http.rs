//! A minimal HTTP/1.1 client for the T-Server's admin endpoint and the simulation control API
//! (JSON in, JSON out, `Connection: close`, optional bearer token). A load run makes a few dozen
//! such requests, so a connection per request is fine and keeps this small.

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("admin endpoint {addr}: {reason}")]
    Io { addr: String, reason: String },
    #[error("{method} {path}: HTTP {status}: {body}")]
    Status { method: String, path: String, status: u16, body: String },
    #[error("{method} {path}: the answer is not JSON: {body}")]
    NotJson { method: String, path: String, body: String },
}

/// The admin endpoint of one T-Server.
#[derive(Clone, Debug)]
pub struct Admin {
    pub addr: String,
    pub token: Option<String>,
}

impl Admin {
    /// One request; (status, body).
    pub async fn raw(&self, method: &str, path: &str, body: &str) -> Result<(u16, String), HttpError> {
        let io = |e: std::io::Error| HttpError::Io { addr: self.addr.clone(), reason: e.to_string() };
        let mut s = tokio::net::TcpStream::connect(&self.addr).await.map_err(io)?;
        let auth = self.token.as_ref().map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        s.write_all(req.as_bytes()).await.map_err(io)?;
        let mut resp = Vec::new();
        s.read_to_end(&mut resp).await.map_err(io)?;
        let text = String::from_utf8_lossy(&resp);
        let status = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let chunked = head.lines().any(|l| {
            let l = l.to_ascii_lowercase();
            l.starts_with("transfer-encoding:") && l.contains("chunked")
        });
        Ok((status, if chunked { dechunk(body) } else { body.to_string() }))
    }

    /// A request whose 2xx answer is JSON.
    pub async fn json(&self, method: &str, path: &str, body: &str) -> Result<Value, HttpError> {
        let (status, text) = self.raw(method, path, body).await?;
        if !(200..300).contains(&status) {
            return Err(HttpError::Status { method: method.into(), path: path.into(), status, body: text });
        }
        serde_json::from_str(&text).map_err(|_| HttpError::NotJson {
            method: method.into(),
            path: path.into(),
            body: text,
        })
    }
}

/// The body of a `Transfer-Encoding: chunked` answer.
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else { break };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn chunked_bodies_are_joined() {
        assert_eq!(super::dechunk("4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n"), "{\"a\":1}");
    }
}
