//! `POST /jobs`: the demo's finite job, with `--demo-jobs` (404 otherwise).
//!
//! A job counts from 0 to 100 % in steps of 5, one step every `--job-step`, publishing
//! [`JobProgress`](sse_live_demo_wire::JobProgress) to its own topic `jobs/{id}`, then an event of type `end` (data
//! `done`) that tells clients the stream is over (the hook's `terminal_event("end")`). The answer, 201
//! [`JobStarted`], comes once 0 % is published, so a client that reads the topic from its start
//! (`?lastEventId=0`) misses nothing. A finished job's topic is kept a minute for late readers, then forgotten.
//! At most [`MAX_JOBS`] run at once: beyond, 429 with `Retry-After`. Jobs stop on shutdown.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use sse_live_demo_wire::{JobProgress, JobStarted};

use crate::error::ApiError;
use crate::hub::TopicName;
use crate::state::AppState;

/// How many jobs may run at once.
pub(crate) const MAX_JOBS: usize = 8;

/// How much each step adds.
pub(crate) const STEP: u8 = 5;

/// The `event:` type of a job's last event.
pub(crate) const END_EVENT: &str = "end";

/// How long a finished job's topic is kept.
pub(crate) const KEEP_FINISHED: Duration = Duration::from_secs(60);

/// The jobs started so far and running now.
#[derive(Debug, Default)]
pub(crate) struct Jobs {
    started: AtomicU64,
    running: AtomicUsize,
}

/// A running job's place among the [`MAX_JOBS`]; given back when dropped.
struct Slot(Arc<Jobs>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Jobs {
    /// A slot and the new job's id, unless [`MAX_JOBS`] run already.
    fn start(self: &Arc<Self>) -> Option<(Slot, u64)> {
        self.running.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < MAX_JOBS).then_some(n + 1)).ok()?;
        let id = self.started.fetch_add(1, Ordering::AcqRel) + 1;
        Some((Slot(self.clone()), id))
    }
}

/// Starts a job; see the module docs.
pub(crate) async fn start(State(state): State<AppState>) -> Result<(StatusCode, Json<JobStarted>), ApiError> {
    if !state.config.demo_jobs {
        return Err(ApiError::NotFound);
    }
    let retry_after = state.config.job_step * u32::from(100 / STEP);
    let (slot, id) = state.jobs.start().ok_or(ApiError::TooManyJobs { limit: MAX_JOBS, retry_after })?;
    let topic = TopicName::parse(&format!("jobs/{id}")).map_err(|e| ApiError::Internal(e.to_string()))?;
    state.publish(&topic, &progress(0)).await?;
    tokio::spawn(run(state.clone(), topic.clone(), slot));
    Ok((StatusCode::CREATED, Json(JobStarted { id: id.to_string(), topic: topic.as_str().to_owned() })))
}

fn progress(percent: u8) -> String {
    // A struct of one integer always serializes.
    serde_json::to_string(&JobProgress { percent }).unwrap_or_default()
}

/// The job itself: the steps, the end, and forgetting the topic a minute later.
async fn run(state: AppState, topic: TopicName, slot: Slot) {
    let step = state.config.job_step;
    for percent in (STEP..=100).step_by(usize::from(STEP)) {
        tokio::select! {
            () = tokio::time::sleep(step) => {}
            () = state.shutdown.cancelled() => return,
        }
        if let Err(error) = state.publish(&topic, &progress(percent)).await {
            tracing::warn!(%topic, %error, "a job could not publish its progress");
            return;
        }
    }
    if let Err(error) = state.publish_event(&topic, Some(END_EVENT), "done").await {
        tracing::warn!(%topic, %error, "a job could not publish its end");
    }
    drop(slot);
    tokio::select! {
        () = tokio::time::sleep(KEEP_FINISHED) => state.hub.forget(&topic),
        () = state.shutdown.cancelled() => {}
    }
}
