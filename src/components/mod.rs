//! The demo's components, one a file.

mod connection_badge;
mod random_numbers;
mod stream_card;
mod temperature_display;

pub use connection_badge::ConnectionBadge;
pub use random_numbers::RandomNumbers;
pub use stream_card::StreamCard;
pub use temperature_display::TemperatureDisplay;
