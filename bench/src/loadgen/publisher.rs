//! The publisher: `POST`s JSON events carrying their send time (`sentAtUs`) to a publish URL, at a fixed rate or as
//! fast as the server answers, on a thread and runtime of its own so the subscribers' load does not delay it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;
use http_body_util::BodyExt;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::Request;
use tokio::time::MissedTickBehavior;

use super::http::{connect, Target};
use super::stats::histogram;

/// How to publish.
#[derive(Debug, Clone)]
pub struct PublishPlan {
    /// Where to `POST`.
    pub target: Target,
    /// Sent as `Authorization: Bearer <key>` when given.
    pub key: Option<String>,
    /// Events per second in all, or `None` for as fast as the server answers.
    pub rate: Option<f64>,
    /// Connections publishing at once.
    pub concurrency: usize,
    /// Bytes of padding in each event's JSON (besides the timestamp and sequence number).
    pub padding: usize,
}

/// What the publisher counted.
pub struct Published {
    /// Requests answered 2xx.
    pub ok: u64,
    /// Requests that failed or were answered otherwise.
    pub failed: u64,
    /// Request to answer, µs.
    pub latency: Histogram<u64>,
    /// The first failure.
    pub first_error: Option<String>,
}

/// The JSON of event `seq` sent at `sent_at_us`, with `padding` bytes of filler.
pub fn payload(seq: u64, sent_at_us: u64, padding: usize) -> String {
    format!(r#"{{"sentAtUs":{sent_at_us},"seq":{seq},"pad":"{}"}}"#, "x".repeat(padding))
}

/// Starts publishing on a thread of its own until `stop` is set; joining the handle gives the counts.
pub fn spawn(plan: PublishPlan, stop: Arc<AtomicBool>) -> JoinHandle<Published> {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
        runtime.block_on(async move {
            let plan = Arc::new(plan);
            let workers: Vec<_> = (0..plan.concurrency.max(1))
                .map(|w| tokio::spawn(worker(plan.clone(), w as u64, stop.clone())))
                .collect();
            let mut total = Published { ok: 0, failed: 0, latency: histogram(), first_error: None };
            for worker in workers {
                let Ok(part) = worker.await else { continue };
                total.ok += part.ok;
                total.failed += part.failed;
                total.latency.add(&part.latency).expect("same bounds");
                total.first_error = total.first_error.or(part.first_error);
            }
            total
        })
    })
}

async fn worker(plan: Arc<PublishPlan>, number: u64, stop: Arc<AtomicBool>) -> Published {
    let mut counts = Published { ok: 0, failed: 0, latency: histogram(), first_error: None };
    let workers = plan.concurrency.max(1) as u64;
    let mut ticks = plan.rate.map(|rate| {
        let mut ticks = tokio::time::interval(Duration::from_secs_f64(workers as f64 / rate));
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        ticks
    });
    let mut sender = None;
    let mut seq = number;
    while !stop.load(Ordering::Relaxed) {
        if let Some(ticks) = &mut ticks {
            ticks.tick().await;
        }
        let started = Instant::now();
        match publish_one(&plan, &mut sender, seq).await {
            Ok(()) => {
                counts.ok += 1;
                counts.latency.saturating_record(started.elapsed().as_micros() as u64);
            }
            Err(error) => {
                counts.failed += 1;
                counts.first_error.get_or_insert(error);
                sender = None;
                // A server that refuses is not hammered in a tight loop.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        seq += workers;
    }
    counts
}

/// One `POST` on the worker's connection (opened again when it closed).
async fn publish_one(
    plan: &PublishPlan,
    sender: &mut Option<hyper::client::conn::http1::SendRequest<String>>,
    seq: u64,
) -> Result<(), String> {
    let connection = match sender {
        Some(connection) if !connection.is_closed() => connection,
        _ => sender.insert(connect(&plan.target, None).await?),
    };
    connection.ready().await.map_err(|e| format!("connection: {e}"))?;
    let sent_at_us = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64);
    let mut request =
        Request::post(&plan.target.path).header(HOST, &plan.target.host).header(CONTENT_TYPE, "application/json");
    if let Some(key) = &plan.key {
        request = request.header(AUTHORIZATION, format!("Bearer {key}"));
    }
    let request = request.body(payload(seq, sent_at_us, plan.padding)).map_err(|e| format!("request: {e}"))?;
    let response = connection.send_request(request).await.map_err(|e| format!("request: {e}"))?;
    let status = response.status();
    let body = response.into_body().collect().await.map_err(|e| format!("answer: {e}"))?.to_bytes();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("answered {status}: {}", String::from_utf8_lossy(&body).trim()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loadgen::stats::sent_at_us;

    #[test]
    fn the_payload_carries_the_timestamp_the_subscribers_read() {
        let json = payload(7, 1_764_000_000_123_456, 4);
        assert_eq!(json, r#"{"sentAtUs":1764000000123456,"seq":7,"pad":"xxxx"}"#);
        assert_eq!(sent_at_us(&json), Some(1_764_000_000_123_456));
    }
}
