//! A rolling bar chart of values between 0 and 1, newest on the right, drawn as one inline SVG path.

use leptos::prelude::*;

use super::{push_fixed, Chart};

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

/// The SVG path of the bars for `values` (each in `0..=1`; others are clamped), oldest on the left, in `slots`
/// places: fewer values leave the left empty, so that bars do not change width as the first ones arrive. Each bar is
/// a closed rectangle `M x,y h w V 80 h -w Z`, one pixel of gap on either side; a bar of height 0 draws nothing.
pub fn bars_path(values: &[f64], slots: usize) -> String {
    let width = (WIDTH / slots.max(1) as f64 - 2.0).max(1.0);
    let skip = values.len().saturating_sub(slots);
    let offset = slots.saturating_sub(values.len());
    let mut path = String::new();
    for (i, &value) in values.iter().skip(skip).enumerate() {
        let (x, y, _) = bar(offset + i, slots, value);
        if !path.is_empty() {
            path.push(' ');
        }
        path.push('M');
        push_fixed(&mut path, x + 1.0, 2);
        path.push(',');
        push_fixed(&mut path, y, 2);
        path.push('h');
        push_fixed(&mut path, width, 2);
        path.push_str("V80h-");
        push_fixed(&mut path, width, 2);
        path.push('Z');
    }
    path
}

/// A bar chart of `values` in `slots` places, drawn as one SVG path (no element per bar).
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
    let shape = Signal::derive(move || values.with(|values| bars_path(values, slots)));
    view! { <Chart class="bar-chart" view_box=VIEW_BOX label shape /> }
}

#[cfg(test)]
mod tests {
    use super::{bar, bars_path, HEIGHT, VIEW_BOX, WIDTH};

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

    #[test]
    fn the_path_has_one_rectangle_per_value_newest_on_the_right() {
        assert_eq!(bars_path(&[], 10), "");
        // Two values in ten slots of 30: the last two slots, 28 wide.
        assert_eq!(bars_path(&[1.0, 0.25], 10), "M241.00,0.00h28.00V80h-28.00Z M271.00,60.00h28.00V80h-28.00Z");
        // More values than slots: the oldest are left out.
        assert_eq!(bars_path(&[0.5, 1.0, 0.0], 2), "M1.00,0.00h148.00V80h-148.00Z M151.00,80.00h148.00V80h-148.00Z");
    }
}
