//! The JSON payloads of the demo's streams, shared so client and server cannot disagree.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// One reading of the living-room thermometer, the data of each event on `/e/temperatures`.
///
/// On the wire: `{"temperature": 21.37, "updatedAt": "2026-11-23T19:05:00Z"}` (degrees Celsius, RFC 3339 UTC).
///
/// ```
/// use sse_live_protocol::TemperatureReading;
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
/// use sse_live_protocol::RandomNumber;
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
/// use sse_live_protocol::JobStarted;
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
