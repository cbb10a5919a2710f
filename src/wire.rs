//! The demo's JSON, read by the browser: every payload (the streams' data and the answers to the demo's requests) is
//! parsed by `JSON.parse` and its fields read from the object, into the demo's wire types (`sse-live-demo-wire`,
//! which the server writes with serde) or, where the page needs less, into a smaller type of its own.
//!
//! Why not serde: the hook's `json` feature and serde's derived code for each type, with `time`'s RFC 3339 parser
//! for a reading's time, cost the demo 11,180 B brotli of its 127,290 B (BENCHMARKS.md, issue 12's fifth pass); the
//! browser has a JSON parser and a date parser already. Any app can do the same with
//! `use_event_source_with_decoder`; serde's derive is the easier path when the bytes matter less. The browser tests
//! (`tests/components.rs`) decode what the server's serde writes for each type, so the two sides cannot drift apart
//! unnoticed.

use js_sys::wasm_bindgen::{JsCast, JsValue};
use js_sys::{Reflect, JSON};

use sse_live_demo_wire::{JobProgress, JobStarted, Note, RandomNumber};
use sse_live_protocol::wire::Published;

/// A JSON object parsed by the browser, its fields read by name.
pub struct Object(JsValue);

impl Object {
    /// `text` parsed as JSON: an object, or why not (the browser's `SyntaxError` message, or what it is instead).
    pub fn parse(text: &str) -> Result<Self, String> {
        let value = JSON::parse(text).map_err(|error| {
            error.dyn_ref::<js_sys::Error>().map_or_else(|| "invalid JSON".to_owned(), |e| String::from(e.message()))
        })?;
        if value.is_object() && !js_sys::Array::is_array(&value) {
            Ok(Self(value))
        } else {
            Err("invalid type: expected a JSON object".to_owned())
        }
    }

    /// The field `name` (its own, not inherited), or "missing field".
    fn field(&self, name: &str) -> Result<JsValue, String> {
        let key = JsValue::from_str(name);
        let own = js_sys::Object::has_own(self.0.unchecked_ref::<js_sys::Object>(), &key);
        match own.then(|| Reflect::get(&self.0, &key).ok()).flatten() {
            Some(value) => Ok(value),
            None => Err(format!("missing field `{name}`")),
        }
    }

    /// The string field `name`.
    pub fn string(&self, name: &str) -> Result<String, String> {
        self.field(name)?.as_string().ok_or_else(|| format!("invalid type: `{name}` is not a string"))
    }

    /// The number field `name`.
    pub fn number(&self, name: &str) -> Result<f64, String> {
        self.field(name)?.as_f64().ok_or_else(|| format!("invalid type: `{name}` is not a number"))
    }

    /// The number field `name` as a whole number from 0 to `max`.
    pub fn whole(&self, name: &str, max: u64) -> Result<u64, String> {
        let number = self.number(name)?;
        if number.fract() == 0.0 && (0.0..=max as f64).contains(&number) {
            Ok(number as u64)
        } else {
            Err(format!("invalid value: `{name}` is not a whole number from 0 to {max}"))
        }
    }

    /// The string field `name`, an RFC 3339 time, in milliseconds since the epoch (`Date.parse`).
    pub fn time(&self, name: &str) -> Result<f64, String> {
        let text = self.string(name)?;
        let millis = js_sys::Date::parse(&text);
        if millis.is_nan() {
            Err(format!("invalid value: `{name}` is not a time: {text}"))
        } else {
            Ok(millis)
        }
    }
}

/// A reading of the living-room thermometer as the page uses it: `TemperatureReading` with its time in
/// milliseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    /// Degrees Celsius.
    pub temperature: f64,
    /// When it was taken, in milliseconds since the epoch.
    pub updated_at: f64,
}

/// A `TemperatureReading` (`{"temperature": 21.37, "updatedAt": "2026-11-23T19:05:00Z"}`).
pub fn reading(data: &str) -> Result<Reading, String> {
    let object = Object::parse(data)?;
    Ok(Reading { temperature: object.number("temperature")?, updated_at: object.time("updatedAt")? })
}

/// A decoder of a payload that is one number: the random numbers' and the job's streams share the hook's code for
/// `f64` values through it (a decoder of another type, or another function's type, would compile the hook's typed
/// part again).
pub type Number = fn(&str) -> Result<f64, String>;

/// A `RandomNumber`'s `value` (`{"value": 0.4217}`).
pub const RANDOM_NUMBER: Number = |data| Ok(random_number(data)?.value);

/// A `JobProgress`'s `percent` (`{"percent": 40}`), a whole number from 0 to 255.
pub const JOB_PERCENT: Number = |data| Ok(f64::from(job_progress(data)?.percent));

/// A `RandomNumber` (`{"value": 0.4217}`).
pub fn random_number(data: &str) -> Result<RandomNumber, String> {
    Ok(RandomNumber { value: Object::parse(data)?.number("value")? })
}

/// A `JobProgress` (`{"percent": 40}`).
pub fn job_progress(data: &str) -> Result<JobProgress, String> {
    Ok(JobProgress { percent: Object::parse(data)?.whole("percent", 255)? as u8 })
}

/// A `Note` (`{"text": "hello"}`).
pub fn note(data: &str) -> Result<Note, String> {
    Ok(Note { text: Object::parse(data)?.string("text")? })
}

/// A `JobStarted` (`{"id": "7", "topic": "jobs/7"}`).
pub fn job_started(data: &str) -> Result<JobStarted, String> {
    let object = Object::parse(data)?;
    Ok(JobStarted { id: object.string("id")?, topic: object.string("topic")? })
}

/// A `Published` (`{"topic": "news", "id": 42}`).
pub fn published(data: &str) -> Result<Published, String> {
    let object = Object::parse(data)?;
    Ok(Published { topic: object.string("topic")?, id: object.whole("id", 1 << 53)? })
}

/// What the page uses of a `DemoToken`: the token and whom it was minted for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The JWT, sent as `Authorization: Bearer`.
    pub token: String,
    /// The name it was minted for.
    pub sub: String,
}

/// A `DemoToken`'s `token` and `sub` (`{"token": "eyJ...", "sub": "ada", ...}`).
pub fn token(data: &str) -> Result<Token, String> {
    let object = Object::parse(data)?;
    Ok(Token { token: object.string("token")?, sub: object.string("sub")? })
}

/// The `error` of a JSON error body (`{"error": "..."}`, as our server answers), if the body is one.
pub fn error_message(body: &str) -> Option<String> {
    Object::parse(body).ok()?.string("error").ok()
}
