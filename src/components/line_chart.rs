//! A line chart drawn as inline SVG from a series of timed values, with its minimum, maximum and average as text.

use leptos::prelude::*;

use super::push_fixed;

/// The chart's drawing area in SVG user units; it scales to the card's width.
const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 160.0;
/// Room kept free above and below the line so that its stroke is not cut.
const PAD: f64 = 6.0;
/// `0 0 WIDTH HEIGHT`, written out (formatting the `f64`s would link float formatting).
const VIEW_BOX: &str = "0 0 600 160";

/// The smallest, largest and mean value of a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    pub min: f64,
    pub max: f64,
    pub average: f64,
}

impl Stats {
    /// The stats of `values`; `None` when there is none.
    ///
    /// ```
    /// use sse_live::components::Stats;
    /// let stats = Stats::of([20.0, 22.0, 24.0]).unwrap();
    /// assert_eq!((stats.min, stats.max, stats.average), (20.0, 24.0, 22.0));
    /// ```
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Self> {
        let (mut min, mut max, mut sum, mut count) = (f64::INFINITY, f64::NEG_INFINITY, 0.0, 0u32);
        for value in values.into_iter().filter(|v| v.is_finite()) {
            min = min.min(value);
            max = max.max(value);
            sum += value;
            count += 1;
        }
        (count > 0).then(|| Self { min, max, average: sum / f64::from(count) })
    }
}

/// The SVG `points` of a polyline through `points` (time, value), oldest first: time runs left to right over the
/// series' own span, values bottom to top over its range, widened around its middle to at least `min_range` so that
/// noise on a flat series stays flat (a series of one value sits in the middle).
pub fn polyline(points: &[(f64, f64)], min_range: f64) -> String {
    let Some(stats) = Stats::of(points.iter().map(|&(_, value)| value)) else { return String::new() };
    let (first, last) = (points.first().map_or(0.0, |p| p.0), points.last().map_or(0.0, |p| p.0));
    let span = last - first;
    let range = (stats.max - stats.min).max(min_range);
    let top = (stats.max + stats.min) / 2.0 + range / 2.0;
    let mut out = String::new();
    for &(time, value) in points.iter().filter(|(_, value)| value.is_finite()) {
        let x = if span > 0.0 { (time - first) / span * WIDTH } else { WIDTH };
        let y = if range > 0.0 { PAD + (top - value) / range * (HEIGHT - 2.0 * PAD) } else { HEIGHT / 2.0 };
        if !out.is_empty() {
            out.push(' ');
        }
        push_fixed(&mut out, x, 1);
        out.push(',');
        push_fixed(&mut out, y, 1);
    }
    out
}

/// The [`polyline`] as SVG path data: `M` and the points (after `M`, further points are lines to them); empty when
/// there is no point (a lone `M` is an error in the browser's console).
pub fn line_path(points: &[(f64, f64)], min_range: f64) -> String {
    let line = polyline(points, min_range);
    if line.is_empty() {
        line
    } else {
        format!("M{line}")
    }
}

/// An SVG drawing of one path, `shape` (SVG path data in `view_box`'s units), stretched to the element's size: the
/// demo's two charts are both drawn with it, from their data.
#[component]
pub fn Chart(
    /// The SVG element's CSS class.
    class: &'static str,
    /// The drawing area, `0 0 WIDTH HEIGHT`.
    view_box: &'static str,
    /// What the chart shows, for screen readers.
    label: &'static str,
    /// The path's data.
    #[prop(into)]
    shape: Signal<String>,
) -> impl IntoView {
    view! {
        <svg class=class viewBox=view_box preserveAspectRatio="none" role="img" aria-label=label>
            <path d=shape />
        </svg>
    }
}

/// A line chart of `points` with a caption of its minimum, maximum and average formatted by `format`.
#[component]
pub fn LineChart(
    /// (time in milliseconds since the epoch, value), oldest first.
    #[prop(into)]
    points: Signal<Vec<(f64, f64)>>,
    /// How a value reads in the caption (with its unit).
    #[prop(into)]
    format: Callback<f64, String>,
    /// What the chart shows, for screen readers.
    label: &'static str,
    /// The smallest span of values the chart's height stands for (default 0: the series' own range).
    #[prop(default = 0.0)]
    min_range: f64,
) -> impl IntoView {
    view! {
        <figure class="line-chart" data-points=move || points.with(Vec::len)>
            <Chart class="line" view_box=VIEW_BOX label shape=Signal::derive(move || points.with(|points| line_path(points, min_range))) />
            <figcaption>
                // Read once a change, so no `Memo` (code of its own for each type).
                {move || match points.with(|points| Stats::of(points.iter().map(|&(_, value)| value))) {
                    Some(Stats { min, max, average }) => format!(
                        "min {} · max {} · average {}",
                        format.run(min),
                        format.run(max),
                        format.run(average),
                    ),
                    None => "No readings yet".to_owned(),
                }}
            </figcaption>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_view_box_is_the_drawing_area() {
        assert_eq!(VIEW_BOX, format!("0 0 {WIDTH} {HEIGHT}"));
    }

    #[test]
    fn the_line_spans_the_width_and_the_value_range() {
        let points = polyline(&[(0.0, 10.0), (50.0, 20.0), (100.0, 15.0)], 0.0);
        assert_eq!(points, "0.0,154.0 300.0,6.0 600.0,80.0");
        // A range narrower than the minimum is widened around its middle: 15 ± 10 here.
        let points = polyline(&[(0.0, 10.0), (50.0, 20.0), (100.0, 15.0)], 20.0);
        assert_eq!(points, "0.0,117.0 300.0,43.0 600.0,80.0");
    }

    #[test]
    fn flat_single_and_empty_series_do_not_divide_by_zero() {
        assert_eq!(polyline(&[(0.0, 5.0), (10.0, 5.0)], 0.0), "0.0,80.0 600.0,80.0");
        assert_eq!(polyline(&[(0.0, 5.0), (10.0, 5.0)], 1.0), "0.0,80.0 600.0,80.0");
        assert_eq!(polyline(&[(7.0, 5.0)], 0.0), "600.0,80.0");
        assert_eq!(polyline(&[], 1.0), "");
        assert_eq!(line_path(&[], 1.0), "", "no point, no path: a lone M is invalid");
        assert_eq!(line_path(&[(f64::NAN, f64::NAN)], 1.0), "");
        assert_eq!(line_path(&[(7.0, 5.0)], 0.0), "M600.0,80.0");
        assert_eq!(Stats::of([]), None);
        assert_eq!(Stats::of([f64::NAN, 1.0]), Some(Stats { min: 1.0, max: 1.0, average: 1.0 }));
    }
}
