//! Event fan-out: one DN event queued to N registered clients (encode once, N bounded-queue
//! pushes), the path every call and agent event takes. Reported per event; compare the N rows
//! (cost per extra client) rather than absolute numbers from one machine.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sfb_tserver::actors::directory::Directory;
use sfb_tserver::actors::outbound::{ClientHandle, SharedEvent};
use sfb_tserver::model::{AgentId, ConnId, DnName, KvList};
use sfb_tserver::tlib::{Event, EventKind, FrameCodec};
use std::time::{Duration, Instant};

fn ringing() -> Event {
    let mut ev = Event::new(EventKind::Ringing);
    ev.attrs.this_dn = Some(DnName::new("sip:agent01@skype.lab"));
    ev.attrs.other_dn = Some(DnName::new("+14155551212"));
    ev.attrs.conn_id = Some(ConnId(0x006c02462a161006));
    ev.attrs.agent_id = Some(AgentId::new("1001"));
    let mut ud = KvList::new();
    for i in 0..10 {
        ud.push(format!("key{i}"), format!("value number {i}").into());
    }
    ev.attrs.user_data = Some(ud);
    ev
}

fn fanout(c: &mut Criterion) {
    let mut group = c.benchmark_group("fanout");
    let codec = FrameCodec::default();
    let dn = DnName::new("sip:agent01@skype.lab");
    for n in [1usize, 10, 100, 1000] {
        let dir = Directory::default();
        let mut queues = Vec::new();
        for id in 0..n {
            let (h, q) = ClientHandle::new(id as u64, 1 << 16);
            dir.subscribe(&dn, h);
            queues.push(q);
        }
        group.throughput(Throughput::Elements(1));
        group.bench_with_input(BenchmarkId::new("clients", n), &n, |b, _| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                let mut done = 0;
                let mut out = Vec::with_capacity(4096);
                while done < iters {
                    // Stay below the queue bound, then drain outside the measured time.
                    let batch = (iters - done).min(1 << 15);
                    let start = Instant::now();
                    for _ in 0..batch {
                        let ev = SharedEvent::new(ringing());
                        dir.fan_out(&dn, &ev);
                        // What each client's writer does: take the shared frame (encoded once)
                        // and write it after its own EventSequenceNumber.
                        let frame = ev.frame(codec.max_frame()).expect("encodable");
                        for seq in 0..n as u64 {
                            out.clear();
                            frame.write(seq, &mut out);
                        }
                        std::hint::black_box(&out);
                    }
                    spent += start.elapsed();
                    for q in &mut queues {
                        while q.rx.try_recv().is_ok() {}
                    }
                    done += batch;
                }
                spent
            })
        });
    }
    group.finish();
}

criterion_group!(benches, fanout);
criterion_main!(benches);
