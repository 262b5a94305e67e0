//! The binary's contracts for scripts: `run` prints exactly one READY line once everything is
//! bound and registered and stops cleanly on SIGTERM; `client --json` speaks JSON lines and exits
//! when its requests are answered; `check-config` refuses a broken file naming the option; logs
//! hide sensitive data by default.

use crate::util::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_sfb-tserver");

struct Running {
    child: Child,
    tlib: String,
    admin: String,
    _dir: tempfile::TempDir,
}

fn start_binary(extra_env: &[(&str, &str)]) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args([
        "run",
        "--tlib-listen",
        "127.0.0.1:0",
        "--admin-listen",
        "127.0.0.1:0",
        "--connector-listen",
        "127.0.0.1:0",
        "--data-dir",
    ])
    .arg(dir.path())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    let line = line.trim().to_string();
    let rest = line.strip_prefix("READY ").unwrap_or_else(|| panic!("first line is READY, got {line:?}"));
    let mut tlib = String::new();
    let mut admin = String::new();
    for part in rest.split(' ') {
        match part.split_once('=') {
            Some(("tlib", v)) => tlib = v.to_string(),
            Some(("admin", v)) => admin = v.to_string(),
            _ => panic!("unexpected READY field {part:?}"),
        }
    }
    Running { child, tlib, admin, _dir: dir }
}

fn sigterm(child: &mut Child) -> std::process::ExitStatus {
    let ok = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(ok.success());
    for _ in 0..200 {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    panic!("server did not stop within 10 s of SIGTERM");
}

#[tokio::test(flavor = "multi_thread")]
async fn run_prints_ready_serves_and_stops_on_sigterm() {
    let mut srv = start_binary(&[("RUST_LOG", "info")]);
    assert_eq!(http(&srv.admin, "GET", "/ready", None).await.0, 200);
    let c = sfb_tserver::client::Client::connect(&srv.tlib).await.unwrap();
    assert_eq!(c.register(AGENT01).await.unwrap().kind, sfb_tserver::tlib::EventKind::Registered);
    drop(c);
    let status = sigterm(&mut srv.child);
    assert!(status.success(), "exit status {status:?}");
    let mut rest = String::new();
    srv.child.stdout.take().unwrap().read_to_string(&mut rest).unwrap();
    assert!(rest.trim().is_empty(), "exactly one line on stdout, then {rest:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn client_json_mode_is_a_script_contract() {
    let mut srv = start_binary(&[("RUST_LOG", "debug")]);
    let input = [
        r#"{"request":"RegisterAddress","ThisDN":"sip:agent01@skype.lab"}"#,
        r#"{"request":"AgentLogin","ThisDN":"sip:agent01@skype.lab","AgentID":"1001","ReferenceID":77}"#,
        r#"{"request":"AnswerCall","ThisDN":"sip:agent01@skype.lab","UserData":{"CustomerSecret":"hunter2-very-secret"}}"#,
    ]
    .join("\n");
    let mut cli = Command::new(BIN)
        .args(["client", "--server", &srv.tlib, "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    cli.stdin.take().unwrap().write_all(input.as_bytes()).unwrap(); // stdin closes here
    let out = cli.wait_with_output().unwrap();
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let events: Vec<&str> = lines.iter().map(|l| l["event"].as_str().unwrap()).collect();
    // Answers to pipelined requests may interleave (the session answers some itself, a DN others).
    let registered = lines.iter().find(|l| l["event"] == "EventRegistered").expect("EventRegistered");
    assert!(registered["ReferenceID"].as_u64().unwrap() > 0, "a ReferenceID is assigned when absent");
    assert!(events.contains(&"EventAgentLogin"));
    let login = lines.iter().find(|l| l["event"] == "EventAgentLogin").unwrap();
    assert_eq!(login["ReferenceID"], 77);
    let err = lines.iter().find(|l| l["event"] == "EventError").unwrap();
    assert_eq!(err["ErrorCode"], 51);

    sigterm(&mut srv.child);
    let mut log = String::new();
    srv.child.stderr.take().unwrap().read_to_string(&mut log).unwrap();
    assert!(log.contains("AnswerCall"), "the request is logged at debug level");
    assert!(!log.contains("hunter2-very-secret"), "hide-sensitive-data masks user data in logs");
    assert!(log.contains("**** (length:"), "masked form as the guide shows it");
}

#[test]
fn check_config_prints_the_model_or_refuses_naming_the_option() {
    let ok = Command::new(BIN).args(["check-config", "config/default.toml"]).output().unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let text = String::from_utf8(ok.stdout).unwrap();
    assert!(text.contains("sip:agent01@skype.lab"));
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    let broken = std::fs::read_to_string("config/default.toml")
        .unwrap()
        .replace("hide-sensitive-data = true", "hide-sensitive-data = \"maybe\"");
    assert_ne!(broken, std::fs::read_to_string("config/default.toml").unwrap(), "the fixture edit applied");
    std::fs::write(&bad, broken).unwrap();
    let out = Command::new(BIN).arg("check-config").arg(&bad).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("hide-sensitive-data") && err.contains("maybe"), "{err}");
}

fn ready_line(child: &mut Child) -> String {
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    line.trim().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn standalone_connector_next_to_a_tserver_and_graceful_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = Command::new(BIN)
        .args(["connector", "--connector", "connector1=127.0.0.1:0", "--control-listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("conn"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let line = ready_line(&mut conn);
    // READY control=HOST:PORT connectors=connector1@HOST:PORT
    let control = line.split(' ').find_map(|p| p.strip_prefix("control=")).expect("control address").to_string();
    let cti =
        line.split(' ').find_map(|p| p.strip_prefix("connectors=connector1@")).expect("connector address").to_string();
    let port = cti.rsplit(':').next().unwrap();
    let text = std::fs::read_to_string("config/default.toml")
        .unwrap()
        .replace("embedded-connector = true", "embedded-connector = false")
        .replace("port = 9001", &format!("port = {port}"));
    let cfg = dir.path().join("tserver.toml");
    std::fs::write(&cfg, text).unwrap();
    let mut ts = Command::new(BIN)
        .args(["run", "--tlib-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--config"])
        .arg(&cfg)
        .arg("--data-dir")
        .arg(dir.path().join("ts"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let line = ready_line(&mut ts);
    let tlib = line
        .split(' ')
        .find_map(|p| p.strip_prefix("READY tlib=").or_else(|| p.strip_prefix("tlib=")))
        .unwrap()
        .to_string();
    let mut c = sfb_tserver::client::Client::connect(&tlib).await.unwrap();
    // The DN comes into service once the link has registered it on the standalone connector
    // (two debug processes on a loaded 2-core machine: allow the link's reconnect backoff).
    let in_service = wait_until(STEP * 2, || async {
        let ev = c.register(AGENT01).await.unwrap();
        ev.attrs.service_state == Some(sfb_tserver::model::DnServiceState::InService)
    })
    .await;
    assert!(in_service, "agent01 in service through the standalone connector");
    let (status, body) = http(&control, "GET", "/sim/users/sip:agent01@skype.lab", None).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"registered\":true"), "the connector registered the endpoint: {body}");

    // SIGTERM: graceful shutdown; with no calls the connector exits at once, cleanly.
    let status = sigterm(&mut conn);
    assert!(status.success(), "connector exit status {status:?}");
    let ev = c.wait_for(STEP, |e| e.kind == sfb_tserver::tlib::EventKind::DNOutOfService).await;
    assert!(ev.is_some(), "the T-Server reports the DN out of service when its only connector is gone");
    assert!(sigterm(&mut ts).success());
}
