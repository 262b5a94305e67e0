//! IM features (issue 6 item 5): `im-reporting` (IM calls not reported at all when disabled; the
//! mode in EventRegistered / EventAddressInfo) and UTF-8 user data and IM text passed byte for
//! byte.

use crate::util::*;
use sfb_tserver::config::ImReporting;
use sfb_tserver::model::{DnName, KvList};
use sfb_tserver::tlib::{EventKind, RequestKind};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_im_reporting_disabled_im_calls_are_not_reported() {
    let server = TestServer::start_with(|c| c.tserver.im_reporting = ImReporting::Disabled).await;
    let mut desk = server.client().await;
    let reg = desk.register(AGENT01).await.unwrap();
    assert_eq!(reg.attrs.extensions.unwrap().get_str("im-reporting"), Some("disabled"));
    // An IM to the agent: nothing reaches the desktop...
    let (status, v) = server
        .admin_json(
            "POST",
            "/sim/calls",
            &format!(r#"{{"from":"{AGENT03}","to":"{AGENT01}","media":"im","text":"hi"}}"#),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    // ...as a voice call that follows shows: it is the first call event the desktop gets.
    server.admin_json("POST", "/sim/calls", &format!(r#"{{"from":"tel:+14155550401","to":"{AGENT01}"}}"#)).await;
    let first = desk.wait_for(STEP, |e| e.attrs.conn_id.is_some()).await.expect("the voice call");
    assert_eq!((first.kind, first.attrs.media_type.map(|m| m.0)), (EventKind::Ringing, Some(0)), "{first:?}");
    // An IM TMakeCall is refused.
    let mut make = req(RequestKind::MakeCall, AGENT01);
    make.attrs.other_dn = Some(DnName::new(AGENT02));
    make.attrs.extensions = Some(KvList::new().with("chat", "true"));
    assert_eq!(error_code(&desk.request(make).await.unwrap()), Some(51));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn utf8_user_data_and_im_text_pass_byte_for_byte() {
    let server = TestServer::start().await;
    let desk = server.client().await;
    let mut callee = server.client().await;
    let reg = desk.register(AGENT01).await.unwrap();
    assert_eq!(reg.attrs.extensions.unwrap().get_str("im-reporting"), Some("default"));
    callee.register(AGENT02).await.unwrap();
    let text = "Grüße, 你好 — ¿qué tal? 🚀";
    let mut make = req(RequestKind::MakeCall, AGENT01);
    make.attrs.other_dn = Some(DnName::new(AGENT02));
    make.attrs.extensions = Some(KvList::new().with("chat", "true"));
    make.attrs.user_data = Some(KvList::new().with("Kundenname", "Zoë Ångström").with("备注", text));
    assert_eq!(desk.request(make).await.unwrap().kind, EventKind::Dialing);
    let ringing = callee.wait_for(STEP, |e| e.kind == EventKind::Ringing).await.expect("EventRinging");
    let data = ringing.attrs.user_data.expect("user data");
    assert_eq!(data.get_str("Kundenname"), Some("Zoë Ångström"));
    assert_eq!(data.get_str("备注"), Some(text));
    // IM text typed in the SfB client reaches the other side unchanged.
    server.admin_json("POST", &format!("/sim/users/{AGENT02}/answer"), "").await;
    let body = serde_json::json!({ "text": text }).to_string();
    let (status, v) = server.admin_json("POST", &format!("/sim/users/{AGENT02}/im"), &body).await;
    assert_eq!(status, 200, "{v}");
    let (_, v) = server.admin_json("GET", &format!("/sim/users/{AGENT01}"), "").await;
    let ims: Vec<&str> = v["ims"].as_array().unwrap().iter().filter_map(|m| m["text"].as_str()).collect();
    assert!(ims.contains(&text), "{ims:?}");
}
