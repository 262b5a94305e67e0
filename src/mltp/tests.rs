//! Cross-cutting MLTP tests: every typed message round-trips through frame and bytes, the decoder
//! is incremental and total on arbitrary input, limits bite before the excess is buffered, typed
//! errors name message and header, and docs/mltp.md stays in sync with the catalogue.

use super::catalogue::sample;
use super::*;
use crate::model::{ConnId, DnName, DnType, ErrorCode, KvList, KvValue, RouteType, TreatmentType};
use bytes::BytesMut;
use proptest::collection::vec;
use proptest::prelude::*;

/// Raw material for test messages; fields draw from it in turn.
#[derive(Clone, Debug)]
pub(super) struct Seed {
    nums: Vec<u64>,
    /// Single-line, trimmed.
    strs: Vec<String>,
    /// Any text, newlines included.
    bodies: Vec<String>,
    lists: Vec<KvList>,
    cursor: usize,
    /// Forces every optional field present (`Some(true)`) or absent (`Some(false)`).
    optional: Option<bool>,
}

impl Seed {
    fn new(nums: Vec<u64>, strs: Vec<String>, bodies: Vec<String>, lists: Vec<KvList>) -> Self {
        let strs = strs.iter().map(|s| s.replace(['\r', '\n'], " ").trim().to_string()).collect();
        Seed { nums, strs, bodies, lists, cursor: 0, optional: None }
    }

    fn rich(optional: bool) -> Self {
        let mut s = Seed::new(
            (0..16u64).map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ i).collect(),
            vec!["Zoë O'Brien".into(), "sip:+15550100@skype.lab;user=phone".into(), "tel:+33 1 23".into(), "".into()],
            vec!["Bonjour, ça va ? 👋\nSecond line\r\n".into(), "".into(), "x".into()],
            vec![
                KvList::new().with("Customer", "Zoë").with("Blob", vec![0u8, 255]).with("N", -3i64),
                KvList::new().with("Order", KvList::new().with("Id", "A-17")).with("Customer", "dup"),
                KvList::new(),
            ],
        );
        s.optional = Some(optional);
        s
    }

    fn next(&mut self) -> u64 {
        let n = self.nums[self.cursor % self.nums.len()].rotate_left(self.cursor as u32);
        self.cursor += 1;
        n
    }

    fn pick<T: Copy>(&mut self, all: &[T]) -> T {
        all[(self.next() % all.len() as u64) as usize]
    }

    fn from<T: Clone>(&mut self, all: &[T]) -> T {
        all[(self.next() % all.len() as u64) as usize].clone()
    }

    pub(super) fn present(&mut self) -> bool {
        self.optional.unwrap_or_else(|| self.next() & 1 == 0)
    }

    pub(super) fn body_text(&mut self) -> String {
        let bodies = self.bodies.clone();
        self.from(&bodies)
    }

    pub(super) fn json(&mut self) -> String {
        let lists = self.lists.clone();
        if self.present() {
            serde_json::to_string(&self.from(&lists)).unwrap()
        } else {
            String::new()
        }
    }

    pub(super) fn json_array(&mut self) -> String {
        let n = self.next() % 3;
        let records: Vec<String> =
            (0..n).map(|_| format!("{{\"call\":{},\"data\":{}}}", self.next(), self.json_or_null())).collect();
        format!("[{}]", records.join(","))
    }

    fn json_or_null(&mut self) -> String {
        let j = self.json();
        if j.is_empty() {
            "null".into()
        } else {
            j
        }
    }

    pub(super) fn response(&mut self) -> Response {
        let status = self.pick(ResponseStatus::ALL);
        let error = self.present().then(|| (self.pick(ErrorCode::ALL), String::sample(self)));
        let results = (0..self.next() % 4).map(|i| (format!("result{i}-x"), String::sample(self))).collect();
        Response { status, error, results }
    }
}

pub(super) trait Sample {
    fn sample(s: &mut Seed) -> Self;
}

impl Sample for u64 {
    fn sample(s: &mut Seed) -> Self {
        s.next()
    }
}
impl Sample for u32 {
    fn sample(s: &mut Seed) -> Self {
        s.next() as u32
    }
}
impl Sample for bool {
    fn sample(s: &mut Seed) -> Self {
        s.next() % 2 == 1
    }
}
impl Sample for String {
    fn sample(s: &mut Seed) -> Self {
        let strs = s.strs.clone();
        s.from(&strs)
    }
}
impl Sample for DnName {
    fn sample(s: &mut Seed) -> Self {
        DnName::new(format!("sip:agent{:02}@skype.lab", s.next() % 100))
    }
}
impl Sample for ConnId {
    fn sample(s: &mut Seed) -> Self {
        ConnId(s.next())
    }
}
impl Sample for KvList {
    fn sample(s: &mut Seed) -> Self {
        let lists = s.lists.clone();
        s.from(&lists)
    }
}

macro_rules! sample_enum {
    ($($ty:ident),+) => {$(
        impl Sample for $ty {
            fn sample(s: &mut Seed) -> Self {
                s.pick($ty::ALL)
            }
        }
    )+};
}

sample_enum!(
    ErrorCode,
    DnType,
    TreatmentType,
    RouteType,
    Media,
    PartyState,
    ConnectorState,
    PresenceType,
    MonitorMode,
    Direction,
    HaKind,
    HaOp,
    TreatmentStatus,
    DnState
);

/// The id a message of this kind travels with.
fn id_for(name: MessageName, n: u64) -> TxId {
    match name.kind() {
        MessageKind::Event => TxId::Unsolicited,
        MessageKind::Request | MessageKind::Response => TxId::Tx(n),
    }
}

fn to_bytes(msg: &MltpMessage) -> BytesMut {
    let mut buf = BytesMut::new();
    MltpCodec::default().encode(msg, &mut buf).expect("encodes");
    buf
}

/// typed -> frame -> bytes -> frame -> typed, checking each step.
fn assert_round_trip(typed: &Mltp, id: TxId) {
    let frame = typed.to_message(id);
    let mut buf = to_bytes(&frame);
    let back = MltpCodec::default().decode(&mut buf).expect("decodes").expect("complete");
    assert!(buf.is_empty(), "{}: the whole frame is consumed", typed.name());
    assert_eq!(back, frame, "{}: frame", typed.name());
    assert_eq!(Mltp::from_message(&back).as_ref(), Ok(typed), "{}: typed", typed.name());
}

#[test]
fn every_message_round_trips_with_and_without_optional_fields() {
    for optional in [true, false] {
        let mut seed = Seed::rich(optional);
        for (i, name) in MessageName::ALL.iter().enumerate() {
            // Several draws per message so bodies go through UTF-8, multi-line and empty values.
            for _ in 0..3 {
                let typed = sample(*name, &mut seed);
                assert_eq!(typed.name(), *name);
                assert_round_trip(&typed, id_for(*name, i as u64));
            }
        }
    }
}

#[test]
fn party_created_bytes_match_the_documented_wire_format() {
    let typed = Mltp::PartyCreated {
        call: 7,
        party: "sip:user1@domain.com".into(),
        media: Media::Voice,
        from: "sip:user1@domain.com".into(),
        to: "sip:user21@domain.com".into(),
        party_state: PartyState::Alerting,
    };
    let bytes = to_bytes(&typed.to_message(TxId::Unsolicited));
    assert_eq!(
        std::str::from_utf8(&bytes).unwrap(),
        "PARTY_CREATED * MLTP/1.0\r\ncall: 7\r\nparty: sip:user1@domain.com\r\nmedia: voice\r\n\
         from: sip:user1@domain.com\r\nto: sip:user21@domain.com\r\nparty-state: ALERTING\r\ncontent-length: 0\r\n\r\n"
    );
}

#[test]
fn lf_input_and_any_header_case_are_accepted() {
    let wire = "MAKE_CALL 12 MLTP/1.0\nConn-ID: 006c02462a161006\nFROM: sip:agent01@skype.lab\nto:tel:+15550100\n\
                MEDIA:   im  \nDATA: {\"Customer\":\"Zoë\"}\nContent-Length: 6\n\nhello!";
    let msg = MltpCodec::default().decode(&mut BytesMut::from(wire)).unwrap().unwrap();
    assert_eq!(msg.header("conn-id"), Some("006c02462a161006"));
    assert_eq!(msg.headers[4], ("Data".to_string(), "{\"Customer\":\"Zoë\"}".to_string()));
    assert_eq!(msg.headers[2], ("to".to_string(), "tel:+15550100".to_string()));
    let Mltp::MakeCall { conn_id, media, data, text, conversation_id, .. } = Mltp::from_message(&msg).unwrap() else {
        panic!("MAKE_CALL decodes as MakeCall");
    };
    assert_eq!(
        (conn_id, media, text.as_str(), conversation_id),
        (ConnId(0x006c_0246_2a16_1006), Media::Im, "hello!", None)
    );
    assert_eq!(data, Some(KvList::new().with("Customer", "Zoë")));
    let crlf = wire.replace('\n', "\r\n");
    assert_eq!(MltpCodec::default().decode(&mut BytesMut::from(crlf.as_str())).unwrap(), Some(msg));
}

fn sample_wire() -> (Vec<MltpMessage>, BytesMut) {
    let mut seed = Seed::rich(true);
    let msgs: Vec<MltpMessage> =
        [MessageName::MakeCall, MessageName::PartyCreated, MessageName::Ping, MessageName::ImReceived]
            .iter()
            .map(|n| sample(*n, &mut seed).to_message(id_for(*n, 5)))
            .collect();
    let mut buf = BytesMut::new();
    for m in &msgs {
        buf.extend_from_slice(&to_bytes(m));
    }
    (msgs, buf)
}

#[test]
fn decoding_split_at_every_byte_boundary_yields_the_same_messages() {
    let (msgs, wire) = sample_wire();
    for cut in 0..=wire.len() {
        let mut codec = MltpCodec::default();
        let mut buf = BytesMut::from(&wire[..cut]);
        let mut out = Vec::new();
        while let Some(m) = codec.decode(&mut buf).unwrap() {
            out.push(m);
        }
        buf.extend_from_slice(&wire[cut..]);
        while let Some(m) = codec.decode(&mut buf).unwrap() {
            out.push(m);
        }
        assert_eq!(out, msgs, "cut at {cut}");
        assert!(buf.is_empty());
    }
}

#[test]
fn decoding_byte_by_byte_yields_each_message_once() {
    let (msgs, wire) = sample_wire();
    let mut codec = MltpCodec::default();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for b in wire.iter() {
        buf.extend_from_slice(&[*b]);
        if let Some(m) = codec.decode(&mut buf).unwrap() {
            out.push(m);
        }
    }
    assert_eq!(out, msgs);
    assert!(buf.is_empty());
}

#[test]
fn incomplete_frames_consume_nothing() {
    let (msgs, wire) = sample_wire();
    let first_len = to_bytes(&msgs[0]).len();
    for cut in 0..first_len {
        let mut buf = BytesMut::from(&wire[..cut]);
        assert_eq!(MltpCodec::default().decode(&mut buf), Ok(None), "cut at {cut}");
        assert_eq!(buf.len(), cut);
    }
}

fn decode_str(codec: &mut MltpCodec, text: &str) -> Result<Option<MltpMessage>, MltpError> {
    codec.decode(&mut BytesMut::from(text))
}

#[test]
fn limits_are_enforced_before_the_excess_is_buffered() {
    let mut codec = MltpCodec::new(64, 3, 100);
    // A line that outgrows the limit is refused without waiting for its end.
    let long = format!("PING 1 MLTP/1.0\r\nreason: {}", "x".repeat(70));
    assert_eq!(decode_str(&mut codec, &long), Err(MltpError::LineTooLong { max: 64 }));
    assert_eq!(decode_str(&mut codec, &"A".repeat(66)), Err(MltpError::LineTooLong { max: 64 }));
    // A line of exactly the limit is fine, with CRLF or LF; one byte more is not.
    let exact = format!("PING 1 MLTP/1.0\r\nreason: {}\r\n\r\n", "x".repeat(56));
    assert!(decode_str(&mut codec, &exact).unwrap().is_some());
    let over = format!("PING 1 MLTP/1.0\nreason: {}\n", "x".repeat(57));
    assert_eq!(decode_str(&mut codec, &over), Err(MltpError::LineTooLong { max: 64 }));
    // content-length above the limit is refused as soon as its line is read: no blank line, no body.
    let big = "IM_RECEIVED * MLTP/1.0\r\ncontent-length: 101\r\n";
    assert_eq!(decode_str(&mut codec, big), Err(MltpError::BodyTooLarge { len: 101, max: 100 }));
    let huge = "IM_RECEIVED * MLTP/1.0\r\ncontent-length: 99999999999999999999999\r\n";
    assert!(matches!(decode_str(&mut codec, huge), Err(MltpError::BadContentLength(_))));
    // The fourth header is refused when its line completes.
    let many = "PING 1 MLTP/1.0\r\na: 1\r\nb: 2\r\ncontent-length: 0\r\nc: 3\r\nd: 4\r\n";
    assert_eq!(decode_str(&mut codec, many), Err(MltpError::TooManyHeaders { max: 3 }));
    let three = "PING 1 MLTP/1.0\r\na: 1\r\nb: 2\r\ncontent-length: 0\r\nc: 3\r\n\r\n";
    assert_eq!(decode_str(&mut codec, three).unwrap().unwrap().headers.len(), 3);
    // A body at the limit is reserved for, never more.
    let mut buf = BytesMut::from("IM_RECEIVED * MLTP/1.0\r\ncontent-length: 100\r\n\r\n");
    assert_eq!(codec.decode(&mut buf), Ok(None));
    assert!(buf.capacity() <= 1024);
    for e in [MltpError::LineTooLong { max: 1 }, MltpError::TooManyHeaders { max: 1 }] {
        assert!(e.is_fatal());
    }
}

#[test]
fn a_foreign_buffer_restarts_decoding_instead_of_panicking() {
    let mut codec = MltpCodec::default();
    let mut buf = BytesMut::from("PING 1 MLTP/1.0\r\ncontent-length: 0\r\n");
    assert_eq!(codec.decode(&mut buf), Ok(None));
    let mut other = BytesMut::from("PI");
    assert_eq!(codec.decode(&mut other), Ok(None));
    other.extend_from_slice(b"NG 2 MLTP/1.0\r\n\r\n");
    assert_eq!(codec.decode(&mut other).unwrap().map(|m| m.id), Some(TxId::Tx(2)));
}

#[test]
fn encode_refuses_what_the_decoder_would_refuse_and_leaves_the_buffer_alone() {
    let codec = MltpCodec::new(64, 2, 8);
    let ping = || MltpMessage::new(MessageName::Ping, TxId::Tx(1));
    let cases = [
        (ping().with_header("reason", "a\nb"), MltpError::MultiLineValue { header: "reason".into() }),
        (ping().with_header("Content-Length", "3"), MltpError::ReservedHeader("Content-Length".into())),
        (ping().with_header("bad name", "x"), MltpError::InvalidHeaderName("bad name".into())),
        (ping().with_header("a", "1").with_header("A", "2"), MltpError::DuplicateHeader { header: "A".into() }),
        (
            ping().with_header("a", "1").with_header("b", "2").with_header("c", "3"),
            MltpError::TooManyHeaders { max: 2 },
        ),
        (ping().with_header("a", "x".repeat(62)), MltpError::LineTooLong { max: 64 }),
        (ping().with_body("123456789"), MltpError::BodyTooLarge { len: 9, max: 8 }),
    ];
    for (msg, err) in cases {
        let mut buf = BytesMut::from("keep");
        assert_eq!(codec.encode(&msg, &mut buf), Err(err));
        assert_eq!(&buf[..], b"keep");
    }
    let mut buf = BytesMut::new();
    codec.encode(&ping().with_header("a", "  padded  ").with_body("12345678"), &mut buf).unwrap();
    assert_eq!(&buf[..], b"PING 1 MLTP/1.0\r\na: padded\r\ncontent-length: 8\r\n\r\n12345678");
}

#[test]
fn recoverable_errors_consume_the_frame_and_decoding_continues() {
    let ping = "PING 9 MLTP/1.0\r\ncontent-length: 0\r\n\r\n";
    let cases = [
        (
            "FROB 4 MLTP/1.0\r\ncall: 1\r\ncontent-length: 2\r\n\r\nhi",
            MltpError::UnknownMessage { name: "FROB".into(), id: TxId::Tx(4) },
        ),
        ("PING 4 MLTP/1.0\r\ncall: 1\r\nCall: 2\r\n\r\n", MltpError::DuplicateHeader { header: "call".into() }),
        ("PING 4 MLTP/1.0\r\nno colon\r\n\r\n", MltpError::BadHeaderLine("no colon".into())),
        ("PING 4 MLTP/1.0\r\nconn_id: 1\r\n\r\n", MltpError::InvalidHeaderName("conn_id".into())),
    ];
    for (bad, err) in &cases {
        let mut codec = MltpCodec::default();
        let mut buf = BytesMut::from(format!("{bad}{ping}").as_str());
        assert_eq!(codec.decode(&mut buf).as_ref(), Err(err));
        assert!(!err.is_fatal());
        assert_eq!(codec.decode(&mut buf).unwrap().map(|m| m.id), Some(TxId::Tx(9)), "after {err}");
    }
    let mut bytes = b"IM_RECEIVED * MLTP/1.0\r\ncall: 1\r\nfrom: x\r\ncontent-length: 2\r\n\r\n\xff\xfe".to_vec();
    bytes.extend_from_slice(ping.as_bytes());
    let mut codec = MltpCodec::default();
    let mut buf = BytesMut::from(&bytes[..]);
    assert_eq!(codec.decode(&mut buf), Err(MltpError::InvalidUtf8 { header: "body".into() }));
    assert!(codec.decode(&mut buf).unwrap().is_some());
}

#[test]
fn fatal_start_line_errors() {
    let fatal = [
        ("PING 1 MLTP/2.0\r\n", MltpError::UnsupportedVersion("MLTP/2.0".into())),
        ("PING -1 MLTP/1.0\r\n", MltpError::BadStartLine("the transaction id must be `*` or a decimal number".into())),
        ("PING  1 MLTP/1.0\r\n", MltpError::BadStartLine("expected `NAME id MLTP/1.0`".into())),
        ("\r\n", MltpError::BadStartLine("expected `NAME id MLTP/1.0`".into())),
        ("\u{16}\u{3}\u{1} 1 MLTP/1.0\r\n", MltpError::BadStartLine("the message name must be printable ASCII".into())),
        (
            "PING 1 MLTP/1.0\r\ncontent-length: 1\r\ncontent-length: 1\r\n",
            MltpError::BadContentLength("appears twice".into()),
        ),
    ];
    for (text, err) in fatal {
        assert_eq!(decode_str(&mut MltpCodec::default(), text), Err(err.clone()), "{text:?}");
        assert!(err.is_fatal());
    }
}

#[test]
fn typed_errors_name_message_and_header() {
    let frame = |name, id, headers: &[(&str, &str)]| {
        let mut m = MltpMessage::new(name, id);
        for (n, v) in headers {
            m.push_header(*n, *v);
        }
        m
    };
    let missing = frame(MessageName::ReleaseCall, TxId::Tx(1), &[("call", "7")]);
    let err = Mltp::from_message(&missing).unwrap_err();
    assert_eq!(err, MltpError::MissingHeader { message: MessageName::ReleaseCall, header: "party".into() });
    assert_eq!(err.to_string(), "RELEASE_CALL: missing required header party");

    let bad = frame(MessageName::ReleaseCall, TxId::Tx(1), &[("call", "seven"), ("party", "sip:a@b")]);
    let err = Mltp::from_message(&bad).unwrap_err();
    assert_eq!(err.to_string(), "RELEASE_CALL: header call: \"seven\" is not a decimal u64");

    let code = frame(MessageName::Response, TxId::Tx(1), &[("status", "error"), ("error-code", "4242")]);
    assert!(matches!(Mltp::from_message(&code), Err(MltpError::BadValue { header, .. }) if header == "error-code"));

    let data = frame(
        MessageName::MakeCall,
        TxId::Tx(1),
        &[("conn-id", "1"), ("from", "a"), ("to", "b"), ("media", "voice"), ("Data", "[\"4111\"]")],
    );
    let err = Mltp::from_message(&data).unwrap_err().to_string();
    assert!(err.starts_with("MAKE_CALL: header Data:") && !err.contains("4111"), "{err}");

    let restore = MltpMessage::new(MessageName::HaRestore, TxId::Tx(2)).with_body("{}");
    assert!(matches!(Mltp::from_message(&restore), Err(MltpError::BadValue { header, .. }) if header == "body"));
    let restore = MltpMessage::new(MessageName::HaRestore, TxId::Tx(2));
    assert_eq!(
        Mltp::from_message(&restore),
        Err(MltpError::MissingHeader { message: MessageName::HaRestore, header: "body".into() })
    );

    let event_with_id = MltpMessage::new(MessageName::CallDeleted, TxId::Tx(3)).with_header("call", "1");
    assert_eq!(
        Mltp::from_message(&event_with_id),
        Err(MltpError::WrongTxId { message: MessageName::CallDeleted, id: TxId::Tx(3) })
    );
    let request_unsolicited = MltpMessage::new(MessageName::Ping, TxId::Unsolicited);
    assert!(matches!(Mltp::from_message(&request_unsolicited), Err(MltpError::WrongTxId { .. })));
    // Unknown headers are ignored, so Connectors may add optional ones.
    let extra = frame(MessageName::CallDeleted, TxId::Unsolicited, &[("call", "1"), ("x-trace", "abc")]);
    assert_eq!(Mltp::from_message(&extra), Ok(Mltp::CallDeleted { call: 1, cause: None }));
}

#[test]
fn responses_carry_status_error_and_results() {
    let ok = Response::ok().with("connector", "connector1".to_string()).with("state", ConnectorState::Active);
    assert_eq!(ok.get("STATE"), Some("active"));
    assert_eq!(ok.get_as::<ConnectorState>("state"), Ok(Some(ConnectorState::Active)));
    assert_eq!(
        ok.get_as::<u64>("connector").unwrap_err().to_string(),
        "RESPONSE: header connector: \"connector1\" is not a decimal u64"
    );
    assert_eq!(ok.failure(), None);
    assert_eq!(ok.reason(), None);
    let failed = Response::error(ErrorCode::PartyNotOnCall, "party not on call");
    assert_eq!(failed.reason(), Some("party not on call"));
    assert_eq!(failed.failure(), Some((ErrorCode::PartyNotOnCall, "party not on call")));
    assert_round_trip(&Mltp::Response(failed), TxId::Tx(8));
    let bare = MltpMessage::new(MessageName::Response, TxId::Tx(1))
        .with_header("status", "error")
        .with_header("reason", "boom");
    let Ok(Mltp::Response(r)) = Mltp::from_message(&bare) else { panic!("a RESPONSE") };
    assert_eq!(r.failure(), Some((ErrorCode::UnknownError, ErrorCode::UnknownError.description())));
    assert_eq!(r.get("reason"), Some("boom"));
    let coded = MltpMessage::new(MessageName::Response, TxId::Tx(1))
        .with_header("status", "error")
        .with_header("error-code", "236");
    let Ok(Mltp::Response(r)) = Mltp::from_message(&coded) else { panic!("a RESPONSE") };
    assert_eq!(r.failure(), Some((ErrorCode::ConnectorTimeout, ErrorCode::ConnectorTimeout.description())));
}

#[test]
fn ha_restore_joins_stored_records_verbatim() {
    let stored = [r#"{"call":7, "parties":["sip:a@b"]}"#, "", r#"{"call":9}"#];
    let typed = Mltp::ha_restore(stored);
    assert_eq!(typed, Mltp::HaRestore { records: r#"[{"call":7, "parties":["sip:a@b"]},{"call":9}]"#.into() });
    assert_round_trip(&typed, TxId::Tx(3));
    assert_round_trip(&Mltp::ha_restore(Vec::<String>::new()), TxId::Tx(4));
}

fn arb_kvlist() -> impl Strategy<Value = KvList> {
    let leaf = prop_oneof![
        ".{0,8}".prop_map(KvValue::Str),
        any::<i64>().prop_map(KvValue::Int),
        vec(any::<u8>(), 0..8).prop_map(KvValue::Bin),
    ];
    // Keys never start with '$': {"$binary": ..} alone is how JSON spells a binary value.
    let value = leaf.prop_recursive(3, 24, 4, |inner| {
        vec(("[a-zA-Z0-9_]{0,6}", inner), 0..4).prop_map(|v| KvValue::List(KvList(v)))
    });
    vec(("[a-zA-Z0-9_ .-]{0,8}", value), 0..6).prop_map(KvList)
}

fn arb_seed() -> impl Strategy<Value = Seed> {
    (vec(any::<u64>(), 1..32), vec("\\PC{0,24}", 1..8), vec("(?s).{0,40}", 1..4), vec(arb_kvlist(), 1..4))
        .prop_map(|(nums, strs, bodies, lists)| Seed::new(nums, strs, bodies, lists))
}

fn arb_frame() -> impl Strategy<Value = MltpMessage> {
    let name = proptest::sample::select(MessageName::ALL);
    let id = prop_oneof![Just(TxId::Unsolicited), any::<u64>().prop_map(TxId::Tx)];
    let headers = proptest::sample::subsequence(
        vec!["call", "party", "Data", "media", "x-1", "treatment-params", "to", "from", "status", "a-b-c"],
        0..10,
    );
    let values = vec("[^\r\n]{0,30}", 10);
    let body = proptest::option::of("(?s).{1,64}");
    (name, id, headers, values, body).prop_map(|(name, id, headers, values, body)| MltpMessage {
        name,
        id,
        headers: headers.iter().zip(values).map(|(h, v)| (canonical_header_name(h), v.trim().to_string())).collect(),
        body,
    })
}

proptest! {
    #[test]
    fn arbitrary_typed_messages_round_trip(
        seed in arb_seed(),
        which in any::<prop::sample::Index>(),
        n in any::<u64>(),
    ) {
        let name = MessageName::ALL[which.index(MessageName::ALL.len())];
        let mut seed = seed;
        assert_round_trip(&sample(name, &mut seed), id_for(name, n));
    }

    #[test]
    fn arbitrary_frames_round_trip_through_bytes(frame in arb_frame(), cut in any::<prop::sample::Index>()) {
        let wire = to_bytes(&frame);
        let mut codec = MltpCodec::default();
        let at = cut.index(wire.len() + 1);
        let mut buf = BytesMut::from(&wire[..at]);
        let early = codec.decode(&mut buf).unwrap();
        buf.extend_from_slice(&wire[at..]);
        let decoded = match early {
            Some(m) => m,
            None => codec.decode(&mut buf).unwrap().expect("complete"),
        };
        prop_assert_eq!(decoded, frame);
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..512)) {
        let mut codec = MltpCodec::new(128, 8, 256);
        let mut buf = BytesMut::from(&bytes[..]);
        // Drain: each step yields a frame, waits for more, or fails with a typed error.
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(m)) => { let _ = Mltp::from_message(&m); }
                Ok(None) => break,
                Err(e) if e.is_fatal() => break,
                Err(_) => {}
            }
        }
    }

    #[test]
    fn mutated_valid_frames_never_panic(
        seed in arb_seed(),
        which in any::<prop::sample::Index>(),
        flips in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let name = MessageName::ALL[which.index(MessageName::ALL.len())];
        let mut seed = seed;
        let mut wire = to_bytes(&sample(name, &mut seed).to_message(id_for(name, 1))).to_vec();
        for (at, byte) in flips {
            let i = at.index(wire.len());
            wire[i] = byte;
        }
        let mut codec = MltpCodec::default();
        let mut buf = BytesMut::from(&wire[..]);
        while let Ok(Some(m)) = codec.decode(&mut buf) {
            let _ = Mltp::from_message(&m);
        }
    }
}

// --- docs/mltp.md -------------------------------------------------------------------------------

/// The generated part of docs/mltp.md: one table per message, from the catalogue.
fn catalogue_tables() -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for name in MessageName::ALL {
        let kind = match name.kind() {
            MessageKind::Request => "request, T-Server → Connector, answered by `RESPONSE`",
            MessageKind::Response => "response",
            MessageKind::Event => "event, Connector → T-Server, id `*`",
        };
        write!(out, "\n#### `{name}` — {kind}\n\n{}\n\n", name.doc()).unwrap();
        let headers = name.headers();
        if headers.is_empty() {
            out.push_str("No headers.\n");
        } else {
            out.push_str("| Header | Required | Value | Masked in logs |\n|---|:---:|---|---|\n");
            for h in headers {
                let required = if h.required { "yes" } else { "" };
                let masked =
                    if h.name == "body" || SENSITIVE_HEADERS.contains(&h.name) { "hide-sensitive-data" } else { "" };
                writeln!(out, "| `{}` | {required} | {} | {masked} |", h.name, h.syntax.replace('|', "\\|")).unwrap();
            }
        }
        let results = name.result_headers();
        if !results.is_empty() {
            let list: Vec<String> = results.iter().map(|h| format!("`{}` ({})", h.name, h.syntax)).collect();
            writeln!(out, "\nRESPONSE result headers on success: {}.", list.join(", ")).unwrap();
        }
    }
    out
}

const BEGIN: &str = "<!-- BEGIN GENERATED: mltp catalogue (UPDATE_MLTP_DOC=1 cargo test --lib mltp) -->\n";
const END: &str = "<!-- END GENERATED -->";

fn mltp_doc() -> (std::path::PathBuf, String) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/mltp.md");
    let doc = std::fs::read_to_string(&path).expect("docs/mltp.md exists");
    (path, doc)
}

#[test]
fn mltp_doc_tables_are_in_sync() {
    let (path, doc) = mltp_doc();
    let (start, end) = match (doc.find(BEGIN), doc.find(END)) {
        (Some(s), Some(e)) if s < e => (s + BEGIN.len(), e),
        _ => panic!("docs/mltp.md lacks the generated-section markers"),
    };
    let expected = catalogue_tables();
    if doc[start..end] != expected {
        if std::env::var_os("UPDATE_MLTP_DOC").is_some() {
            std::fs::write(&path, format!("{}{}{}", &doc[..start], expected, &doc[end..])).unwrap();
        } else {
            panic!("docs/mltp.md tables are stale: rerun with UPDATE_MLTP_DOC=1");
        }
    }
}

/// The prose (outside the generated tables) explains every message, and names the error codes
/// and options a Connector writer needs.
#[test]
fn mltp_doc_prose_mentions_every_message() {
    let (_, doc) = mltp_doc();
    let prose = match (doc.find(BEGIN), doc.find(END)) {
        (Some(s), Some(e)) if s < e => format!("{}{}", &doc[..s], &doc[e..]),
        _ => doc.clone(),
    };
    for name in MessageName::ALL {
        assert!(prose.contains(&format!("`{name}`")), "docs/mltp.md prose does not mention `{name}`");
    }
    for word in ["236", "237", "58", "415", "470", "hide-header", "hide-sensitive-data", "suspending", "**** (length:"]
    {
        assert!(prose.contains(word), "docs/mltp.md prose does not mention {word}");
    }
}
