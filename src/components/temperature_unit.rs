//! °C or °F: the reader's choice, remembered in `localStorage`, and the toggle that sets it.

use leptos::prelude::*;

use super::fixed;

/// The unit temperatures are shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TemperatureUnit {
    /// Degrees Celsius, the wire format's unit.
    #[default]
    Celsius,
    /// Degrees Fahrenheit.
    Fahrenheit,
}

/// The `localStorage` key of the reader's choice.
const STORAGE_KEY: &str = "sse-live.temperature-unit";

impl TemperatureUnit {
    /// `celsius` in this unit.
    ///
    /// ```
    /// use sse_live::components::TemperatureUnit;
    /// assert_eq!(TemperatureUnit::Fahrenheit.convert(100.0), 212.0);
    /// ```
    pub fn convert(self, celsius: f64) -> f64 {
        match self {
            Self::Celsius => celsius,
            Self::Fahrenheit => celsius * 9.0 / 5.0 + 32.0,
        }
    }

    /// `°C` or `°F`.
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Celsius => "°C",
            Self::Fahrenheit => "°F",
        }
    }

    /// `celsius` in this unit with one decimal and the symbol: `21.4 °C`.
    pub fn format(self, celsius: f64) -> String {
        self.format_converted(self.convert(celsius))
    }

    /// `value`, already in this unit, with one decimal and the symbol: `70.5 °F` (the chart's values are converted
    /// when the chart is drawn).
    pub fn format_converted(self, value: f64) -> String {
        let mut text = fixed(value, 1);
        text.push(' ');
        text.push_str(self.symbol());
        text
    }

    fn code(self) -> &'static str {
        match self {
            Self::Celsius => "C",
            Self::Fahrenheit => "F",
        }
    }

    fn from_code(code: &str) -> Option<Self> {
        match code {
            "C" => Some(Self::Celsius),
            "F" => Some(Self::Fahrenheit),
            _ => None,
        }
    }

    /// The reader's saved choice; Celsius when none (or no storage: private mode, a test page).
    pub fn saved() -> Self {
        storage()
            .and_then(|s| s.get_item(STORAGE_KEY).ok().flatten())
            .and_then(|c| Self::from_code(&c))
            .unwrap_or_default()
    }

    /// Remembers this choice for the next visit (silently not, when the browser refuses storage).
    pub fn save(self) {
        if let Some(storage) = storage() {
            let _ = storage.set_item(STORAGE_KEY, self.code());
        }
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// Two buttons, °C and °F; the pressed one is the current unit, and a click saves the choice.
#[component]
pub fn UnitToggle(
    /// The unit shown; the toggle sets it.
    unit: RwSignal<TemperatureUnit>,
) -> impl IntoView {
    let button = move |choice: TemperatureUnit| {
        view! {
            <button
                type="button"
                aria-pressed=move || (unit.get() == choice).to_string()
                on:click=move |_| {
                    unit.set(choice);
                    choice.save();
                }
            >
                {choice.symbol()}
            </button>
        }
    };
    view! {
        <div class="unit-toggle" role="group" aria-label="Temperature unit">
            {button(TemperatureUnit::Celsius)}
            {button(TemperatureUnit::Fahrenheit)}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::TemperatureUnit;

    #[test]
    fn conversions_and_codes_round_trip() {
        assert_eq!(TemperatureUnit::Celsius.format(21.44), "21.4 °C");
        assert_eq!(TemperatureUnit::Fahrenheit.format(0.0), "32.0 °F");
        assert_eq!(TemperatureUnit::Fahrenheit.format(-40.0), "-40.0 °F");
        assert_eq!(TemperatureUnit::Fahrenheit.format_converted(70.49), "70.5 °F");
        for unit in [TemperatureUnit::Celsius, TemperatureUnit::Fahrenheit] {
            assert_eq!(TemperatureUnit::from_code(unit.code()), Some(unit));
        }
        assert_eq!(TemperatureUnit::from_code("K"), None);
    }
}
