//! The demo's JSON payloads, shared by the demo page (the root crate) and the server (its demo streams, jobs and
//! tokens) so that they cannot disagree. Not published: they are the demo's, not part of sse-live's protocol.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// One reading of the living-room thermometer, the data of each event on `/e/temperatures`.
///
/// On the wire: `{"temperature": 21.37, "updatedAt": "2026-11-23T19:05:00Z"}` (degrees Celsius, RFC 3339 UTC).
///
/// ```
/// use sse_live_demo_wire::TemperatureReading;
/// let json = r#"{"temperature":21.37,"updatedAt":"2026-11-23T19:05:00Z"}"#;
/// let reading: TemperatureReading = serde_json::from_str(json).unwrap();
/// assert_eq!(reading.temperature, 21.37);
/// assert_eq!(serde_json::to_string(&reading).unwrap(), json);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemperatureReading {
    /// Degrees Celsius, rounded to hundredths.
    pub temperature: f64,
    /// When the reading was taken, in UTC (RFC 3339 on the wire).
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// One value of the random-number stream, the data of each event on `/stream-random-numbers`.
///
/// On the wire: `{"value": 0.4217}`, a number in `[0, 1)`.
///
/// ```
/// use sse_live_demo_wire::RandomNumber;
/// let n: RandomNumber = serde_json::from_str(r#"{"value":0.4217}"#).unwrap();
/// assert_eq!(n.value, 0.4217);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RandomNumber {
    /// A uniformly drawn number in `[0, 1)`.
    pub value: f64,
}

/// The answer to `POST /jobs`: the demo's finite job, started; its progress streams on `/events/{topic}`.
///
/// On the wire: `{"id": "7", "topic": "jobs/7"}`.
///
/// ```
/// use sse_live_demo_wire::JobStarted;
/// let job: JobStarted = serde_json::from_str(r#"{"id":"7","topic":"jobs/7"}"#).unwrap();
/// assert_eq!(job.topic, "jobs/7");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobStarted {
    /// The job's id.
    pub id: String,
    /// The topic its progress is published on.
    pub topic: String,
}

/// One step of a job's progress, the data of each `message` event on its topic; an `end` event (data `done`)
/// follows the last one.
///
/// On the wire: `{"percent": 40}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobProgress {
    /// How far the job is, 0 to 100.
    pub percent: u8,
}

/// A message of the demo's private channels (`users/{name}/inbox`), as the page publishes and reads it.
///
/// On the wire: `{"text": "hello"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// What was written, shown as text (never as HTML).
    pub text: String,
}

/// The answer of `GET /demo-token?sub=NAME` (only on a server started with `--demo-auth`): a short-lived
/// subscriber token for private topics.
///
/// On the wire: `{"token":"eyJ...","sub":"ada","topics":["users/ada/*"],"publish":["users/ada/*"],
/// "expiresAt":1795000000}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DemoToken {
    /// The JWT, for `Authorization: Bearer`, the `sse_live_token` cookie or the `token` query parameter.
    pub token: String,
    /// The subject it was minted for.
    pub sub: String,
    /// The topic patterns it allows.
    pub topics: Vec<String>,
    /// The topic patterns it may publish to with `POST /events/{topic}` (older servers send none).
    #[serde(default)]
    pub publish: Vec<String>,
    /// When it expires, in seconds since the Unix epoch.
    pub expires_at: u64,
}
