//! The T-Library protocol, version 1, sans-IO: the catalogue of requests and events with the
//! guide's support marks, the attributes they carry, the binary payload codec, length-prefixed
//! framing with the handshake rule, and the JSON mapping. docs/protocol.md describes the wire for
//! implementers of other clients and is checked against this code by a test.
//! This module never does I/O, never spawns or awaits, and knows nothing of actors: sessions feed
//! it bytes and take messages back.

mod attributes;
mod catalogue;
pub mod codec;
pub mod frame;
pub mod json;
mod message;
pub mod sequenced;

pub use attributes::{kv_depth, AttributeInfo, Attributes, AttrsLog, Timestamp, ATTRIBUTES, MAX_KV_DEPTH};
pub use catalogue::{EventKind, RequestKind, Support, SUPPORTED_TREATMENTS};
pub use codec::CodecError;
pub use frame::{check_open_server, FrameCodec, FrameError, DEFAULT_MAX_FRAME};
pub use json::{from_json, to_json, JsonError};
pub use message::{Event, Message, MessageLog, Request};
pub use sequenced::SequencedFrame;

/// The protocol version a client announces in OpenServer (ProtocolVersion; absent means 1).
pub const PROTOCOL_VERSION: u32 = 1;

#[cfg(test)]
mod tests {
    use super::attributes::for_each_attribute;
    use super::*;
    use crate::model::*;
    use bytes::BytesMut;
    use proptest::collection::vec;
    use proptest::prelude::*;

    /// Raw material from which every attribute type draws a value (index = attribute tag).
    #[derive(Debug, Clone)]
    struct Seed {
        nums: Vec<u64>,
        strs: Vec<String>,
        dns: Vec<String>,
        lists: Vec<KvList>,
    }

    trait Arb {
        fn arb(s: &Seed, i: usize) -> Self;
    }

    fn pick<T: Copy>(all: &[T], n: u64) -> T {
        all[(n % all.len() as u64) as usize]
    }

    macro_rules! arb_as {
        ($($ty:ty => |$s:ident, $i:ident| $e:expr;)+) => {$(
            impl Arb for $ty {
                fn arb($s: &Seed, $i: usize) -> Self { $e }
            }
        )+};
    }

    macro_rules! arb_genem {
        ($($ty:ident),+) => {$(
            impl Arb for $ty {
                fn arb(s: &Seed, i: usize) -> Self { pick($ty::ALL, s.nums[i]) }
            }
        )+};
    }

    arb_as! {
        u64 => |s, i| s.nums[i];
        u32 => |s, i| s.nums[i] as u32;
        i32 => |s, i| s.nums[i] as i32;
        String => |s, i| s.strs[i].clone();
        DnName => |s, i| DnName::new(&s.dns[i]);
        AgentId => |s, i| AgentId::new(s.strs[i].clone());
        ConnId => |s, i| ConnId(s.nums[i]);
        MediaType => |s, i| MediaType(s.nums[i] as i32);
        ErrorCode => |s, i| pick(ErrorCode::ALL, s.nums[i]);
        EventKind => |s, i| pick(EventKind::ALL, s.nums[i]);
        Timestamp => |s, i| Timestamp { seconds: s.nums[i], micros: (s.nums[i] >> 7) as u32 };
        KvList => |s, i| s.lists[i % s.lists.len()].clone();
        Vec<EventKind> => |s, i| (0..s.nums[i] % 5).map(|j| pick(EventKind::ALL, s.nums[i] >> (8 * j))).collect();
        Vec<DnName> => |s, i| (0..s.nums[i] % 4).map(|j| DnName::new(format!("{}{j}", s.dns[i]))).collect();
    }

    super::attributes::with_genem_enums!(arb_genem);

    macro_rules! build_attrs {
        ($($tag:literal $field:ident : $ty:ty => $key:literal, $vis:ident, $doc:literal;)+) => {
            /// The attributes whose tag bit is set in `mask`, valued from `seed`.
            fn build(mask: u64, seed: &Seed) -> Attributes {
                let mut a = Attributes::default();
                $(if mask & (1u64 << $tag) != 0 {
                    a.$field = Some(<$ty as Arb>::arb(seed, $tag));
                })+
                a
            }
        };
    }

    for_each_attribute!(build_attrs);

    const SLOTS: usize = 64;

    /// Every attribute present, with binary, nested and non-ASCII values.
    fn rich_attributes() -> Attributes {
        let user_data = KvList::new()
            .with("Customer", "Zoë O'Brien")
            .with("Segment", 3i64)
            .with("Blob", vec![0u8, 1, 254, 255])
            .with("Order", KvList::new().with("Id", "A-17").with("Lines", KvList::new().with("n", -2i64)))
            .with("Customer", "duplicate keys keep order");
        let seed = Seed {
            nums: (0..SLOTS as u64).map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15)).collect(),
            strs: (0..SLOTS).map(|i| format!("value-{i} \"quoted\" ü")).collect(),
            dns: (0..SLOTS).map(|i| format!("sip:agent{i:02}@skype.lab")).collect(),
            lists: vec![user_data, KvList::new().with("ReasonCode", "Break"), KvList::new()],
        };
        let a = build(u64::MAX, &seed);
        assert_eq!(a.len(), ATTRIBUTES.len(), "rich attributes set every attribute");
        a
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

    fn arb_attributes() -> impl Strategy<Value = Attributes> {
        let mask = prop_oneof![Just(0u64), Just(u64::MAX), any::<u64>()];
        let seed = (
            vec(any::<u64>(), SLOTS),
            vec(".{0,16}", SLOTS),
            vec("[a-zA-Z0-9:@._+ -]{0,24}", SLOTS),
            vec(arb_kvlist(), 3),
        )
            .prop_map(|(nums, strs, dns, lists)| Seed { nums, strs, dns, lists });
        (mask, seed).prop_map(|(mask, seed)| build(mask, &seed))
    }

    fn arb_message() -> impl Strategy<Value = Message> {
        let kind = prop_oneof![
            proptest::sample::select(RequestKind::ALL).prop_map(|k| Message::Request(Request::new(k))),
            proptest::sample::select(EventKind::ALL).prop_map(|k| Message::Event(Event::new(k))),
        ];
        (kind, arb_attributes()).prop_map(|(mut m, attrs)| {
            *m.attrs_mut() = attrs;
            m
        })
    }

    fn through_frame(codec: &FrameCodec, msg: &Message) -> Message {
        let mut buf = BytesMut::new();
        codec.encode(msg, &mut buf).expect("encodes");
        let back = codec.decode(&mut buf).expect("decodes").expect("complete");
        assert!(buf.is_empty());
        back
    }

    #[test]
    fn every_kind_round_trips_through_frames_and_json() {
        let codec = FrameCodec::default();
        let attrs = rich_attributes();
        let kinds = RequestKind::ALL
            .iter()
            .map(|k| Message::Request(Request::with_attrs(*k, attrs.clone())))
            .chain(EventKind::ALL.iter().map(|k| Message::Event(Event::with_attrs(*k, attrs.clone()))));
        for msg in kinds {
            assert_eq!(through_frame(&codec, &msg), msg, "binary: {}", msg.name());
            assert_eq!(from_json(&to_json(&msg)).as_ref(), Ok(&msg), "json: {}", msg.name());
        }
    }

    proptest! {
        #[test]
        fn arbitrary_messages_round_trip_both_encodings(msg in arb_message()) {
            let codec = FrameCodec::default();
            prop_assert_eq!(&through_frame(&codec, &msg), &msg);
            let json = to_json(&msg);
            prop_assert_eq!(from_json(&json), Ok(msg));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..512)) {
            let codec = FrameCodec::new(4096);
            let mut buf = BytesMut::from(&bytes[..]);
            // Drain: each step consumes a frame, waits for more, or fails with a typed error.
            while let Ok(Some(_)) = codec.decode(&mut buf) {}
        }

        #[test]
        fn arbitrary_payloads_after_a_valid_header(payload in vec(any::<u8>(), 0..512)) {
            let codec = FrameCodec::default();
            let mut buf = BytesMut::new();
            buf.extend_from_slice(&(payload.len() as u32).to_be_bytes());
            buf.extend_from_slice(&payload);
            match codec.decode(&mut buf) {
                Ok(Some(_)) | Err(FrameError::Codec(_)) => prop_assert!(buf.is_empty()),
                other => prop_assert!(false, "unexpected {:?}", other),
            }
        }

        #[test]
        fn corrupted_valid_frames_never_panic(
            msg in arb_message(),
            flips in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        ) {
            let mut payload = codec::encode_to_vec(&msg).unwrap();
            for (at, byte) in flips {
                let i = at.index(payload.len());
                payload[i] = byte;
            }
            let _ = codec::decode(&payload);
            let _ = codec::decode(&payload[..payload.len() / 2]);
        }

        #[test]
        fn arbitrary_json_never_panics(s in ".{0,64}") {
            let _ = from_json(&s);
            let _ = from_json(&format!(r#"{{"request":"MakeCall","UserData":{s}}}"#));
        }
    }

    /// The generated part of docs/protocol.md: code tables derived from the catalogue, the
    /// attribute list and the GenEM enumerations.
    fn protocol_tables() -> String {
        use std::fmt::Write;
        let mut out = String::new();
        out.push_str("### Attributes\n\n| Tag | Key | Wire value | JSON value | Masked in logs | Meaning |\n|---:|---|---|---|---|---|\n");
        for a in ATTRIBUTES {
            let (wire, json) = wire_type(a.rust_type);
            let masked = if a.sensitive { "yes" } else { "" };
            writeln!(out, "| {} | `{}` | {wire} | {json} | {masked} | {} |", a.tag, a.key, a.doc).unwrap();
        }
        out.push_str("\n### Requests\n\nSupport is the guide's mark: Y supported, N not supported, I reserved for Genesys \
                      Engineering (N and I are answered EventError 51). `*` marks the event the guide says carries the \
                      request's ReferenceID.\n\n| Code | Request | Support | Corresponding events |\n|---:|---|:---:|---|\n");
        for k in RequestKind::ALL {
            let events: Vec<String> = k
                .answered_by()
                .iter()
                .map(|e| {
                    let star = if k.marked_event() == Some(*e) { "*" } else { "" };
                    let mark = match k.event_support(*e) {
                        Some(Support::EventOnly) => " (E)",
                        _ => "",
                    };
                    format!("{}{star}{mark}", e.name())
                })
                .collect();
            writeln!(out, "| {} | `{}` | {} | {} |", k.code(), k.name(), k.support().mark(), events.join(", "))
                .unwrap();
        }
        out.push_str("\n### Events\n\n| Code | Event |\n|---:|---|\n");
        for e in EventKind::ALL {
            writeln!(out, "| {} | `{}` |", e.code(), e.name()).unwrap();
        }
        out.push_str("\n### Worked examples\n\nEach example shows the JSON line and the complete binary frame (header included) in hex.\n");
        for (title, msg) in doc_examples() {
            let mut frame = BytesMut::new();
            FrameCodec::default().encode(&msg, &mut frame).unwrap();
            write!(out, "\n{title}:\n\n```json\n{}\n```\n\n```text\n", to_json(&msg)).unwrap();
            for chunk in frame.chunks(16) {
                let line: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
                writeln!(out, "{}", line.join(" ")).unwrap();
            }
            out.push_str("```\n");
        }
        out.push_str("\n### Enumerations (wire: GenEM code as i32; JSON: the name)\n\n| Type | Values (name = code) |\n|---|---|\n");
        macro_rules! enum_rows {
            ($($ty:ident),+) => {$(
                let values: Vec<String> = $ty::ALL.iter().map(|v| format!("{} = {}", v.name(), v.code())).collect();
                writeln!(out, "| `{}` | {} |", stringify!($ty), values.join(", ")).unwrap();
            )+};
        }
        super::attributes::with_genem_enums!(enum_rows);
        out
    }

    fn doc_examples() -> Vec<(&'static str, Message)> {
        let agent01 = || Some(DnName::new("sip:agent01@skype.lab"));
        let agent02 = || Some(DnName::new("sip:agent02@skype.lab"));
        let make_call = Request::with_attrs(
            RequestKind::MakeCall,
            Attributes { reference_id: Some(3), this_dn: agent01(), other_dn: agent02(), ..Default::default() },
        );
        let ringing = Event::with_attrs(
            EventKind::Ringing,
            Attributes {
                conn_id: Some(ConnId(0x006c_0246_2a16_1006)),
                this_dn: agent02(),
                this_dn_role: Some(DnRole::Destination),
                other_dn: agent01(),
                other_dn_role: Some(DnRole::Origination),
                call_state: Some(CallState::Ok),
                call_type: Some(CallType::Internal),
                media_type: Some(MediaType::VOICE),
                event_sequence_number: Some(17),
                user_data: Some(KvList::new().with("Customer", "Alice").with("Segment", 3i64)),
                ..Default::default()
            },
        );
        let mut error = Event::error(4, ErrorCode::UnsupOper, ErrorCode::UnsupOper.description());
        error.attrs.this_dn = agent01();
        let attach = Request::with_attrs(
            RequestKind::AttachUserData,
            Attributes {
                reference_id: Some(5),
                conn_id: Some(ConnId(0x006c_0246_2a16_1006)),
                this_dn: agent02(),
                user_data: Some(
                    KvList::new()
                        .with("Blob", vec![0u8, 1, 255])
                        .with("Order", KvList::new().with("Id", "A-17").with("Qty", -2i64)),
                ),
                ..Default::default()
            },
        );
        vec![
            ("MakeCall from agent01 to agent02", make_call.into()),
            ("EventRinging at agent02, with user data", ringing.into()),
            ("EventError answering an unsupported request (AnswerCall, ReferenceID 4)", error.into()),
            ("AttachUserData with a binary value and a nested list", attach.into()),
        ]
    }

    fn wire_type(rust_type: &str) -> (&'static str, &'static str) {
        match rust_type.replace(' ', "").as_str() {
            "DnName" | "AgentId" | "String" => ("string", "string"),
            "ConnId" => ("u64", "string, 16 lower-case hex digits"),
            "u64" => ("u64", "number"),
            "u32" => ("u32", "number"),
            "i32" | "MediaType" => ("i32", "number"),
            "ErrorCode" => ("i32 (error code)", "number"),
            "EventKind" => ("u32 (event code)", "event name"),
            "Vec<EventKind>" => ("list of u32 (event code)", "array of event names"),
            "Vec<DnName>" => ("list of string", "array of strings"),
            "Timestamp" => ("u64 seconds, u32 micros", "{\"seconds\":n,\"micros\":n}"),
            "KvList" => ("kv-list", "object"),
            _ => ("i32 (GenEM code)", "GenEM name"),
        }
    }

    const BEGIN: &str = "<!-- BEGIN GENERATED: tlib tables (UPDATE_PROTOCOL_DOC=1 cargo test --lib tlib) -->\n";
    const END: &str = "<!-- END GENERATED -->";

    #[test]
    fn protocol_doc_is_in_sync() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/protocol.md");
        let doc = std::fs::read_to_string(&path).expect("docs/protocol.md exists");
        let (start, end) = match (doc.find(BEGIN), doc.find(END)) {
            (Some(s), Some(e)) if s < e => (s + BEGIN.len(), e),
            _ => panic!("docs/protocol.md lacks the generated-section markers"),
        };
        let expected = protocol_tables();
        if doc[start..end] != expected {
            if std::env::var_os("UPDATE_PROTOCOL_DOC").is_some() {
                let updated = format!("{}{}{}", &doc[..start], expected, &doc[end..]);
                std::fs::write(&path, updated).unwrap();
            } else {
                panic!("docs/protocol.md tables are stale: rerun with UPDATE_PROTOCOL_DOC=1");
            }
        }
    }
}
