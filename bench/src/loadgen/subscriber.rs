//! One SSE connection: open it, check the answer, feed every chunk to the project's [`Parser`] and record the
//! events.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use http_body_util::BodyExt;
use hyper::header::{ACCEPT, CONTENT_TYPE, HOST};
use hyper::{Request, StatusCode};
use sse_live_protocol::{ParsedRef, Parser};
use tokio::sync::OwnedSemaphorePermit;

use super::http::{connect, Target};
use super::stats::Recorder;

/// Distinct failure messages kept for the report.
const MAX_ERRORS: usize = 5;

/// The counts all connections share.
#[derive(Default)]
pub struct Tally {
    /// Connections that got a stream.
    pub held: AtomicU64,
    /// Connections that did not.
    pub failed: AtomicU64,
    /// Streams that ended while `done` was false.
    pub ended: AtomicU64,
    /// Nanoseconds from the start to the latest answer (stream or failure).
    pub last_answer_ns: AtomicU64,
    /// Set when the run is over: streams ending after it are not counted as ended early.
    pub done: AtomicBool,
    /// The first few distinct failures.
    pub errors: Mutex<Vec<String>>,
}

impl Tally {
    /// Held and failed together.
    pub fn answered(&self) -> u64 {
        self.held.load(Ordering::SeqCst) + self.failed.load(Ordering::SeqCst)
    }

    fn answer(&self, started: Instant) {
        let ns = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.last_answer_ns.fetch_max(ns, Ordering::SeqCst);
    }

    fn error(&self, error: String) {
        let mut errors = self.errors.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if errors.len() < MAX_ERRORS && !errors.contains(&error) {
            errors.push(error);
        }
    }
}

/// Connection number `index`: opens a stream to `target` from `source` (holding `opening` meanwhile), then reads it
/// until it ends.
pub async fn run(
    index: usize,
    target: &Target,
    source: Option<IpAddr>,
    opening: OwnedSemaphorePermit,
    started: Instant,
    tally: &Tally,
    recorder: &Recorder,
) {
    let opened = open(target, source).await;
    // The permit bounds the connections being opened at once, not those open.
    drop(opening);
    let body = match opened {
        Ok(body) => body,
        Err(error) => {
            tally.failed.fetch_add(1, Ordering::SeqCst);
            tally.answer(started);
            tally.error(error);
            return;
        }
    };
    tally.held.fetch_add(1, Ordering::SeqCst);
    tally.answer(started);
    let end = read(index, body, recorder).await;
    if !tally.done.load(Ordering::SeqCst) {
        tally.ended.fetch_add(1, Ordering::SeqCst);
        tally.error(end);
    }
}

async fn open(target: &Target, source: Option<IpAddr>) -> Result<hyper::body::Incoming, String> {
    let mut sender = connect(target, source).await?;
    let request = Request::get(&target.path)
        .header(HOST, &target.host)
        .header(ACCEPT, "text/event-stream")
        .body(String::new())
        .map_err(|e| format!("request: {e}"))?;
    let response = sender.send_request(request).await.map_err(|e| format!("request: {e}"))?;
    let content_type = response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if response.status() != StatusCode::OK || !content_type.starts_with("text/event-stream") {
        return Err(format!("answered {} with content type {content_type:?}", response.status()));
    }
    Ok(response.into_body())
}

/// Reads the stream to its end and says how it ended.
async fn read(index: usize, mut body: hyper::body::Incoming, recorder: &Recorder) -> String {
    let mut parser = Parser::new();
    loop {
        match body.frame().await {
            Some(Ok(frame)) => {
                let Ok(data) = frame.into_data() else { continue };
                let received = Instant::now();
                let unix_us = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64);
                parser.feed_with(&data, |parsed| {
                    if let ParsedRef::Event(event) = parsed {
                        recorder.record(index, &event, received, unix_us);
                    }
                });
            }
            Some(Err(error)) => return format!("stream broke: {error}"),
            None => return "the server ended a stream".to_owned(),
        }
    }
}
