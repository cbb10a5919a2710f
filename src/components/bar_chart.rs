//! A rolling bar chart of values between 0 and 1, newest on the right, drawn as inline SVG.

use leptos::prelude::*;

use super::fixed;

/// The chart's drawing area in SVG user units; it scales to the card's width.
const WIDTH: f64 = 300.0;
const HEIGHT: f64 = 80.0;
/// `0 0 WIDTH HEIGHT`, written out (formatting the `f64`s would link float formatting).
const VIEW_BOX: &str = "0 0 300 80";

/// One bar: its left edge, top and height, for `count` bars side by side.
pub fn bar(index: usize, count: usize, value: f64) -> (f64, f64, f64) {
    let slot = WIDTH / count.max(1) as f64;
    let height = if value.is_finite() { value.clamp(0.0, 1.0) * HEIGHT } else { 0.0 };
    (index as f64 * slot, HEIGHT - height, height)
}

/// Bars for `values` (each in `0..=1`; others are clamped), oldest on the left, in `slots` places: fewer values
/// leave the left empty, so that bars do not change width as the first ones arrive.
#[component]
pub fn BarChart(
    /// The values, oldest first.
    #[prop(into)]
    values: Signal<Vec<f64>>,
    /// How many bars fit.
    slots: usize,
    /// What the chart shows, for screen readers.
    label: &'static str,
) -> impl IntoView {
    let bar_width = fixed((WIDTH / slots.max(1) as f64 - 2.0).max(1.0), 2);
    view! {
        <svg class="bar-chart" viewBox=VIEW_BOX preserveAspectRatio="none" role="img" aria-label=label>
            {move || {
                values.with(|values| {
                    let skip = values.len().saturating_sub(slots);
                    let offset = slots.saturating_sub(values.len());
                    values
                        .iter()
                        .skip(skip)
                        .enumerate()
                        .map(|(i, &value)| {
                            let (x, y, height) = bar(offset + i, slots, value);
                            // Attributes as text with two decimals: an `f64` attribute is formatted with float formatting.
                            view! { <rect x=fixed(x + 1.0, 2) y=fixed(y, 2) width=bar_width.clone() height=fixed(height, 2) /> }
                        })
                        .collect_view()
                })
            }}
        </svg>
    }
}

#[cfg(test)]
mod tests {
    use super::{bar, HEIGHT, VIEW_BOX, WIDTH};

    #[test]
    fn the_view_box_is_the_drawing_area() {
        assert_eq!(VIEW_BOX, format!("0 0 {WIDTH} {HEIGHT}"));
    }

    #[test]
    fn bars_share_the_width_and_grow_from_the_bottom() {
        assert_eq!(bar(0, 10, 1.0), (0.0, 0.0, 80.0));
        assert_eq!(bar(9, 10, 0.25), (270.0, 60.0, 20.0));
        assert_eq!(bar(3, 10, 7.0), (90.0, 0.0, 80.0), "clamped to 1");
        assert_eq!(bar(3, 10, f64::NAN), (90.0, 80.0, 0.0));
        assert_eq!(bar(0, 0, 0.5).2, 40.0, "no slot count: one slot");
    }
}
