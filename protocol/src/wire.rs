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
