//! Throughput of `Parser` (its owned API, `feed`, and its borrowed one, `feed_with`) against the `eventsource-stream`
//! crate on identical inputs and chunkings.
//!
//! Run with `cargo bench -p sse-live-protocol --bench parser` (add `-- --warm-up-time 1 --measurement-time 3` for a
//! quick run; `--bench parser` keeps those options from reaching the library's test harness, which rejects them).
//! Criterion reports MB/s (decimal megabytes); after each benchmark a line with events/s is printed too, averaged
//! over every iteration criterion ran (warm-up included).
//!
//! `eventsource-stream` rescans its buffered partial line from the start on every chunk and copies the rest of its
//! buffer after every line, so it is quadratic on a big event in small chunks and on many events in one big chunk:
//! its big-event figure is measured on a 1 MB event (100 MB would take hours), ours on 1 MB and on 100 MB.

#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_main!(native::benches);

/// Benchmarks do not run on wasm32; this keeps `--all-targets --target wasm32-unknown-unknown` building.
#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::cell::Cell;
    use std::convert::Infallible;
    use std::hint::black_box;
    use std::time::{Duration, Instant};

    use criterion::{criterion_group, BenchmarkGroup, Criterion, SamplingMode, Throughput};
    use futures::{executor::block_on, future::ready, stream, StreamExt};
    use sse_live_protocol::{EventBuilder, Parsed, ParsedRef, Parser};

    criterion_group!(benches, small_events, big_event);

    const SMALL_EVENTS: usize = 10_000;

    /// 10,000 events as the demo's server sends them: an id, a type and a line of JSON, about 90 bytes each.
    fn small_events_body() -> Vec<u8> {
        let mut body = Vec::new();
        for i in 0..SMALL_EVENTS {
            let data =
                format!(r#"{{"temperature":{}.{:02},"updatedAt":"2026-11-23T19:05:00Z"}}"#, 15 + i % 10, i % 100);
            let frame = EventBuilder::new().id(i.to_string()).event("reading").data(data).build().unwrap();
            body.extend_from_slice(frame.as_str().as_bytes());
        }
        body
    }

    /// One event whose data is a single line of `len` bytes.
    fn big_event_body(len: usize) -> Vec<u8> {
        let mut body = Vec::with_capacity(len + 16);
        body.extend_from_slice(b"data: ");
        body.resize(len + 6, b'x');
        body.extend_from_slice(b"\n\n");
        body
    }

    /// Parses the chunks with our parser, handing each event on as it completes; returns the number of events.
    fn ours(chunks: &[&[u8]]) -> usize {
        let mut parser = Parser::new();
        let mut out = Vec::new();
        let mut events = 0;
        for chunk in chunks {
            parser.feed(chunk, &mut out);
            for parsed in out.drain(..) {
                if let Parsed::Event(event) = parsed {
                    black_box(event);
                    events += 1;
                }
            }
        }
        parser.finish();
        events
    }

    /// The same with the borrowed API: each event is looked at in place (its three strings passed to `black_box`),
    /// nothing is copied out or allocated per event.
    fn ours_borrowed(chunks: &[&[u8]]) -> usize {
        let mut parser = Parser::new();
        let mut events = 0;
        for chunk in chunks {
            parser.feed_with(chunk, |parsed| {
                if let ParsedRef::Event(event) = parsed {
                    black_box(event);
                    events += 1;
                }
            });
        }
        parser.finish();
        events
    }

    /// The same with `eventsource-stream`, over a `futures::stream::iter` of the same chunks.
    fn theirs(chunks: &[&[u8]]) -> usize {
        let source = stream::iter(chunks.iter().map(|chunk| Ok::<_, Infallible>(*chunk)));
        block_on(eventsource_stream::EventStream::new(source).fold(0, |events, event| {
            black_box(event.expect("the bench inputs are valid"));
            ready(events + 1)
        }))
    }

    /// A floor for any parser returning `Event`s: cloning the 10,000 parsed events (three `String`s each) into a new
    /// `Vec`, which costs the allocations and copies a parser cannot avoid, and nothing else.
    fn clone_events(chunks: &[&[u8]]) -> usize {
        thread_local! {
            static EVENTS: Vec<sse_live_protocol::Event> = sse_live_protocol::parse_events(&small_events_body());
        }
        assert_eq!(chunks.len(), 1, "the floor is only measured next to the small events in one chunk");
        EVENTS.with(|events| black_box(events.to_vec()).len())
    }

    /// Runs one benchmark, then prints events/s and MB/s from every iteration criterion ran.
    fn bench(
        group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
        name: &str,
        parse: fn(&[&[u8]]) -> usize,
        chunks: &[&[u8]],
        expected_events: usize,
    ) {
        let bytes: usize = chunks.iter().map(|c| c.len()).sum();
        let (iterations, elapsed) = (Cell::new(0u64), Cell::new(Duration::ZERO));
        group.throughput(Throughput::BytesDecimal(bytes as u64));
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                if iterations.get() == 0 {
                    // Checked here rather than up front, so that a benchmark filtered out costs nothing.
                    assert_eq!(parse(chunks), expected_events, "{name} parsed a different number of events");
                }
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(parse(black_box(chunks)));
                }
                let time = start.elapsed();
                iterations.set(iterations.get() + iters);
                elapsed.set(elapsed.get() + time);
                time
            })
        });
        if iterations.get() == 0 {
            return; // Filtered out on the command line.
        }
        let seconds = elapsed.get().as_secs_f64() / iterations.get() as f64;
        println!(
            "{:>62}: {:>12.1} events/s {:>8.1} MB/s  ({} events, {} bytes, {} chunks)",
            format!("{}/{name}", group_name(group)),
            expected_events as f64 / seconds,
            bytes as f64 / seconds / 1e6,
            expected_events,
            bytes,
            chunks.len(),
        );
    }

    /// Criterion does not expose a group's name; the benches below keep it in a thread-local for the report.
    fn group_name(_: &BenchmarkGroup<'_, criterion::measurement::WallTime>) -> String {
        GROUP.with(|g| g.borrow().clone())
    }

    thread_local! {
        static GROUP: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }

    fn small_events(c: &mut Criterion) {
        let body = small_events_body();
        for (label, size) in [("one_chunk", body.len()), ("64_byte_chunks", 64), ("1_byte_chunks", 1)] {
            let chunks: Vec<&[u8]> = body.chunks(size).collect();
            let name = format!("10k_small_events/{label}");
            GROUP.with(|g| *g.borrow_mut() = name.clone());
            let mut group = c.benchmark_group(name);
            // eventsource-stream is quadratic on one big chunk: one iteration a sample keeps the run short.
            group.sampling_mode(SamplingMode::Flat).sample_size(10);
            bench(&mut group, "sse-live-protocol", ours, &chunks, SMALL_EVENTS);
            bench(&mut group, "sse-live-protocol borrowed", ours_borrowed, &chunks, SMALL_EVENTS);
            bench(&mut group, "eventsource-stream", theirs, &chunks, SMALL_EVENTS);
            if size == body.len() {
                bench(&mut group, "floor: clone the events", clone_events, &chunks, SMALL_EVENTS);
            }
            group.finish();
        }
    }

    fn big_event(c: &mut Criterion) {
        for (label, len, with_theirs) in [("1MB", 1 << 20, true), ("100MB", 100 << 20, false)] {
            let body = big_event_body(len);
            let chunks: Vec<&[u8]> = body.chunks(64).collect();
            let name = format!("one_{label}_event/64_byte_chunks");
            GROUP.with(|g| *g.borrow_mut() = name.clone());
            let mut group = c.benchmark_group(name);
            group.sampling_mode(SamplingMode::Flat).sample_size(10);
            bench(&mut group, "sse-live-protocol", ours, &chunks, 1);
            bench(&mut group, "sse-live-protocol borrowed", ours_borrowed, &chunks, 1);
            if with_theirs {
                bench(&mut group, "eventsource-stream", theirs, &chunks, 1);
            }
            group.finish();
        }
    }
}
