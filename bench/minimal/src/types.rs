//! Four message types for the apps that measure what each additional type costs (`hook_json_1type`,
//! `hook_json_4types`, and leptos-use's `leptos_use_1type`, `leptos_use_4types`): four streams, decoded as JSON into
//! one type or into four. `PartialEq` is for leptos-use, which requires it of a message type (ours does not; unused,
//! it is not linked).

use serde::Deserialize;

/// A thermometer's reading.
#[derive(Clone, PartialEq, Deserialize)]
pub struct Reading {
    pub temperature: f64,
    pub at: String,
}

/// A random number.
#[derive(Clone, PartialEq, Deserialize)]
pub struct Number {
    pub value: u64,
    pub seq: u32,
}

/// A job's progress.
#[derive(Clone, PartialEq, Deserialize)]
pub struct Progress {
    pub percent: u8,
    pub done: bool,
    pub label: Option<String>,
}

/// A note on a private channel.
#[derive(Clone, PartialEq, Deserialize)]
pub struct Note {
    pub from: String,
    pub text: String,
    pub sent_ms: i64,
}

/// One line of text for each type, so that the views of both apps are alike.
pub trait Line {
    fn line(&self) -> String;
}

impl Line for Reading {
    fn line(&self) -> String {
        format!("{:.1} at {}", self.temperature, self.at)
    }
}

impl Line for Number {
    fn line(&self) -> String {
        format!("{} #{}", self.value, self.seq)
    }
}

impl Line for Progress {
    fn line(&self) -> String {
        format!("{}% {} {}", self.percent, self.done, self.label.as_deref().unwrap_or(""))
    }
}

impl Line for Note {
    fn line(&self) -> String {
        format!("{}: {} ({})", self.from, self.text, self.sent_ms)
    }
}
