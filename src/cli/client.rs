//! `sfb-tserver client`: the T-Library CLI.
//!
//! `--json` is the contract for scripts: one JSON request per line on stdin (a ReferenceID is
//! assigned when absent), every event received printed as one JSON line on stdout, exit once
//! stdin is closed and every request has been answered (exit status 1 if some never were).
//! Without `--json` it is for people: type `MakeCall ThisDN=sip:agent01@skype.lab OtherDN=...`
//! (or a JSON object) and read events rendered one per line, user data shown in full.

use crate::client::Client;
use crate::model::sensitive::Visibility;
use crate::tlib::{json, Message, RequestKind};
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

#[derive(clap::Args, Debug)]
pub struct ClientArgs {
    /// T-Server address (host:port), e.g. the `tlib=` of the READY line.
    #[arg(long, default_value = "127.0.0.1:7000")]
    pub server: String,
    /// JSON lines mode (for scripts).
    #[arg(long)]
    pub json: bool,
    /// Connect with TLS, trusting the CA certificate(s) in this PEM file.
    #[arg(long)]
    pub tls_ca: Option<PathBuf>,
    /// Server name to verify with TLS.
    #[arg(long, default_value = "localhost")]
    pub tls_name: String,
    /// After stdin closes, how long to wait for outstanding answers.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub drain_timeout: Duration,
}

const NUMERIC: &[&str] = &["ReferenceID", "MediaType", "CallID", "PrivateMsgID", "ProtocolVersion"];

/// Turns one line of the human syntax (`Name Key=Value ...`) or a JSON object into a request.
pub fn parse_line(line: &str) -> Result<Message> {
    let line = line.trim();
    if line.starts_with('{') {
        return json::from_json(line).map_err(|e| anyhow::anyhow!("{e}"));
    }
    let mut words = line.split_whitespace();
    let name = words.next().context("empty line")?;
    // The guide's table writes requests with a leading T (TMakeCall); accept both spellings.
    let name = match name.strip_prefix('T') {
        Some(rest) if RequestKind::from_name(name).is_none() && RequestKind::from_name(rest).is_some() => rest,
        _ => name,
    };
    // The JSON text is assembled verbatim so UserData={...} keeps its order and repeated keys.
    let mut text = format!("{{\"request\":{}", Value::String(name.to_string()));
    for word in words {
        let (k, v) = word.split_once('=').with_context(|| format!("expected Key=Value, got {word:?}"))?;
        // Objects and arrays (UserData={"a":"b"}) and numeric attributes keep their type; anything
        // else is a string, so a DN such as 5001 stays a DN.
        let typed = v.starts_with('{') || v.starts_with('[') || (NUMERIC.contains(&k) && v.parse::<i64>().is_ok());
        let value = if typed { v.to_string() } else { Value::String(v.to_string()).to_string() };
        text.push_str(&format!(",{}:{value}", Value::String(k.to_string())));
    }
    text.push('}');
    json::from_json(&text).map_err(|e| anyhow::anyhow!("{e}"))
}

pub async fn run(args: ClientArgs) -> Result<()> {
    let tls = match &args.tls_ca {
        Some(ca) => Some((crate::transport::client_config(ca)?, args.tls_name.as_str())),
        None => None,
    };
    let mut client = Client::connect_with(&args.server, tls, "sfb-tserver-cli").await?;
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let mut stdout = tokio::io::stdout();
    let mut outstanding: HashSet<u32> = HashSet::new();
    let mut stdin_open = true;
    let mut deadline = None;
    loop {
        if !stdin_open && outstanding.is_empty() {
            return Ok(());
        }
        tokio::select! {
            line = stdin.next_line(), if stdin_open => match line? {
                None => {
                    stdin_open = false;
                    deadline = Some(tokio::time::Instant::now() + args.drain_timeout);
                }
                Some(line) if line.trim().is_empty() || line.trim_start().starts_with('#') => {}
                Some(line) => match parse_line(&line) {
                    Ok(Message::Request(req)) => {
                        let reference_id = client.send(req).await?;
                        outstanding.insert(reference_id);
                    }
                    Ok(Message::Event(_)) => eprintln!("error: clients send requests, not events"),
                    Err(e) if args.json => bail!("invalid request line {line:?}: {e}"),
                    Err(e) => eprintln!("error: {e}"),
                },
            },
            ev = client.next_event() => {
                let Some(ev) = ev else { bail!("connection closed by the server") };
                outstanding.remove(&ev.reference_id());
                let text = if args.json {
                    json::to_json(&Message::Event(ev))
                } else {
                    ev.log_display(Visibility::Shown).to_string()
                };
                stdout.write_all(text.as_bytes()).await?;
                stdout.write_all(b"\n").await?;
                stdout.flush().await?;
            }
            _ = async { tokio::time::sleep_until(deadline.unwrap()).await }, if deadline.is_some() => {
                bail!("{} request(s) still unanswered after {:?}: ReferenceID {:?}", outstanding.len(), args.drain_timeout, outstanding);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_syntax_parses_to_a_request() {
        let Message::Request(r) =
            parse_line("TMakeCall ThisDN=sip:Agent01@skype.lab OtherDN=sip:agent02@skype.lab ReferenceID=7").unwrap()
        else {
            panic!("not a request")
        };
        assert_eq!(r.kind, RequestKind::MakeCall);
        assert_eq!(r.attrs.this_dn.unwrap().as_str(), "sip:agent01@skype.lab");
        assert_eq!(r.attrs.reference_id, Some(7));
        let Message::Request(r) = parse_line(r#"AttachUserData ThisDN=a UserData={"z":"1","a":"2","z":"3"}"#).unwrap()
        else {
            panic!()
        };
        let keys: Vec<String> = r.attrs.user_data.unwrap().iter().map(|(k, _)| k.clone()).collect();
        assert_eq!(keys, vec!["z", "a", "z"], "order and repeated keys are kept");
        let Message::Request(r) = parse_line("TransactionMonitoring ThisDN=5001").unwrap() else { panic!() };
        assert_eq!(r.kind, RequestKind::TransactionMonitoring);
        assert_eq!(r.attrs.this_dn.unwrap().as_str(), "5001");
        assert!(parse_line("MakeCall ThisDN").is_err());
        assert!(parse_line("NoSuchRequest").is_err());
    }
}
