//! MLTP codec throughput: a PARTY_CREATED event (the most frequent message on a busy link) and a
//! MAKE_CALL carrying about ten pairs of user data, each typed -> frame -> bytes and back, plus
//! the masked log rendering every message goes through at debug level. One element = one message.

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sfb_tserver::mltp::{render_for_log, HideHeaders, Media, Mltp, MltpCodec, PartyState, TxId};
use sfb_tserver::model::{ConnId, KvList};
use std::hint::black_box;

fn party_created() -> (Mltp, TxId) {
    let m = Mltp::PartyCreated {
        call: 1_234_567,
        party: "sip:agent02@skype.lab".into(),
        media: Media::Voice,
        from: "sip:+15550100@skype.lab;user=phone".into(),
        to: "sip:rp-sales@skype.lab".into(),
        party_state: PartyState::Alerting,
    };
    (m, TxId::Unsolicited)
}

fn make_call() -> (Mltp, TxId) {
    let data = KvList::new()
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
    let m = Mltp::MakeCall {
        conn_id: ConnId(0x006c_0246_2a16_1006),
        from: "sip:agent01@skype.lab".into(),
        to: "tel:+15550199".into(),
        media: Media::Voice,
        conversation_id: None,
        data: Some(data),
        calling_method: None,
        cpn: None,
        text: String::new(),
    };
    (m, TxId::Tx(42))
}

fn codec(c: &mut Criterion) {
    let mut group = c.benchmark_group("mltp");
    group.throughput(Throughput::Elements(1));
    for (label, (typed, id)) in [("party_created", party_created()), ("make_call", make_call())] {
        let codec = MltpCodec::default();
        let mut wire = BytesMut::new();
        codec.encode(&typed.to_message(id), &mut wire).unwrap();
        let wire = wire.freeze();
        group.bench_function(format!("{label}/encode"), |b| {
            let mut buf = BytesMut::with_capacity(1024);
            b.iter(|| {
                buf.clear();
                codec.encode(&black_box(&typed).to_message(id), &mut buf).unwrap();
                black_box(buf.len())
            })
        });
        group.bench_function(format!("{label}/decode"), |b| {
            let mut codec = MltpCodec::default();
            b.iter(|| {
                let mut buf = BytesMut::from(&wire[..]);
                let frame = codec.decode(black_box(&mut buf)).unwrap().unwrap();
                black_box(Mltp::from_message(&frame).unwrap())
            })
        });
        let hide = HideHeaders::new(&["from".to_string()], true);
        let frame = typed.to_message(id);
        group
            .bench_function(format!("{label}/log"), |b| b.iter(|| black_box(render_for_log(black_box(&frame), &hide))));
    }
    group.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
