//! T-Library codec throughput: a typical EventRinging (about 10 user-data pairs) encoded and
//! decoded through framing + binary payload, and through the JSON mapping. One element = one
//! message, so the report reads as messages per second.

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sfb_tserver::model::{CallState, CallType, ConnId, DnName, DnRole, KvList, MediaType};
use sfb_tserver::tlib::{from_json, to_json, Attributes, Event, EventKind, FrameCodec, Message, Timestamp};
use std::hint::black_box;

fn typical_ringing() -> Message {
    let user_data = KvList::new()
        .with("CustomerId", "C-0042817")
        .with("CustomerName", "Alice Example")
        .with("Segment", "Gold")
        .with("Language", "en-US")
        .with("Priority", 7i64)
        .with("Reason", "Billing question")
        .with("IVRPath", "1-3-2")
        .with("AccountBalance", 1250i64)
        .with("Token", vec![0u8, 17, 42, 255, 3, 9])
        .with("Order", KvList::new().with("Id", "A-17").with("Lines", 3i64));
    Message::Event(Event::with_attrs(
        EventKind::Ringing,
        Attributes {
            conn_id: Some(ConnId(0x006c_0246_2a16_1006)),
            this_dn: Some(DnName::new("sip:agent02@skype.lab")),
            this_dn_role: Some(DnRole::Destination),
            this_queue: Some(DnName::new("sip:rp-sales@skype.lab")),
            other_dn: Some(DnName::new("sip:+15550100@skype.lab")),
            other_dn_role: Some(DnRole::Origination),
            call_uuid: Some("AM5D3AE9D90757BKTSVJTCIAR4000014".into()),
            call_state: Some(CallState::Ok),
            call_type: Some(CallType::Inbound),
            media_type: Some(MediaType::VOICE),
            ani: Some("+15550100".into()),
            dnis: Some("+15550199".into()),
            event_sequence_number: Some(123_456),
            server_start_time: Some(Timestamp { seconds: 1_700_000_000, micros: 0 }),
            time: Some(Timestamp { seconds: 1_700_000_321, micros: 654_321 }),
            user_data: Some(user_data),
            extensions: Some(KvList::new().with("Conversation-ID", "b3f1c2d4e5")),
            ..Default::default()
        },
    ))
}

fn binary(c: &mut Criterion) {
    let codec = FrameCodec::default();
    let msg = typical_ringing();
    let mut frame = BytesMut::new();
    codec.encode(&msg, &mut frame).unwrap();
    let frame = frame.freeze();

    let mut group = c.benchmark_group("tlib_binary");
    group.throughput(Throughput::Elements(1));
    group.bench_function("encode_frame", |b| {
        let mut buf = BytesMut::with_capacity(1024);
        b.iter(|| {
            buf.clear();
            codec.encode(black_box(&msg), &mut buf).unwrap();
            black_box(buf.len())
        })
    });
    group.bench_function("decode_frame", |b| {
        b.iter(|| {
            let mut buf = BytesMut::from(&frame[..]);
            black_box(codec.decode(black_box(&mut buf)).unwrap())
        })
    });
    group.finish();
}

fn json(c: &mut Criterion) {
    let msg = typical_ringing();
    let line = to_json(&msg);

    let mut group = c.benchmark_group("tlib_json");
    group.throughput(Throughput::Elements(1));
    group.bench_function("encode", |b| b.iter(|| black_box(to_json(black_box(&msg)))));
    group.bench_function("decode", |b| b.iter(|| black_box(from_json(black_box(&line)).unwrap())));
    group.finish();
}

criterion_group!(benches, binary, json);
criterion_main!(benches);
