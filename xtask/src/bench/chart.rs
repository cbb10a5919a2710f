//! The chart of the capacity sweep as SVG, written by hand: two panels, fan-out spread p99 and server RSS per
//! stream against the number of streams, ours beside the bare peer and the floor. No fonts or libraries are needed
//! to draw it (the viewer lays out the text).

use std::fmt::Write as _;

use super::results::{Results, BARE, FLOOR, OURS};

/// One line: a label, a colour and its points (streams, value).
struct Series {
    label: &'static str,
    colour: &'static str,
    points: Vec<(f64, f64)>,
}

const PANEL_W: f64 = 420.0;
const PANEL_H: f64 = 300.0;
const MARGIN_L: f64 = 70.0;
const MARGIN_B: f64 = 50.0;
const MARGIN_T: f64 = 40.0;

/// The SVG, or `None` when the results have no capacity runs.
pub fn render(results: &Results) -> Option<String> {
    let counts = results.connection_counts("capacity");
    if counts.is_empty() {
        return None;
    }
    let series = |f: &dyn Fn(&sse_live_bench::report::Report) -> Option<f64>| {
        [(OURS, "#1f6feb"), (BARE, "#d9730d"), (FLOOR, "#6e7781")]
            .into_iter()
            .map(|(server, colour)| Series {
                label: server,
                colour,
                points: counts
                    .iter()
                    .filter_map(|&n| {
                        results.find("capacity", server, n).and_then(|r| f(&r.report)).map(|v| (n as f64, v))
                    })
                    .collect(),
            })
            .collect::<Vec<_>>()
    };
    let spread = series(&|r| r.spread.map(|l| l.p99_us as f64 / 1000.0));
    let rss = series(&|r| r.server_rss.and_then(|s| s.per_connection_bytes).map(|b| b / 1024.0));
    let width = 2.0 * (PANEL_W + MARGIN_L) + 50.0;
    let height = PANEL_H + MARGIN_T + MARGIN_B + 30.0;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    panel(&mut svg, MARGIN_L, "fan-out spread p99, ms (1 event/s)", &spread, (50.0, "goal p99 50 ms"));
    panel(&mut svg, 2.0 * MARGIN_L + PANEL_W + 20.0, "server RSS per stream, KiB", &rss, (8.0, "goal 8 KiB"));
    let legend_y = height - 12.0;
    // Servers without runs (the floor, in results from before it) have no line and no legend entry.
    for (i, s) in spread.iter().filter(|s| !s.points.is_empty()).enumerate() {
        let x = MARGIN_L + i as f64 * 160.0;
        let _ = writeln!(
            svg,
            r#"<line x1="{x}" y1="{legend_y}" x2="{}" y2="{legend_y}" stroke="{}" stroke-width="3"/><text x="{}" y="{}">{}</text>"#,
            x + 24.0,
            s.colour,
            x + 30.0,
            legend_y + 4.0,
            s.label
        );
    }
    svg.push_str("</svg>\n");
    Some(svg)
}

/// A round step for about five ticks up to `max`.
pub fn tick_step(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let rough = max / 5.0;
    let magnitude = 10f64.powf(rough.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * magnitude).find(|step| *step >= rough).unwrap_or(10.0 * magnitude)
}

/// One panel: axes, ticks, a dashed line at the goal, and the series.
fn panel(svg: &mut String, left: f64, title: &str, series: &[Series], (goal, goal_label): (f64, &str)) {
    let top = MARGIN_T;
    let bottom = top + PANEL_H;
    let all = || series.iter().flat_map(|s| s.points.iter());
    let x_data = all().map(|p| p.0).fold(0.0, f64::max).max(1.0);
    let x_step = tick_step(x_data);
    let x_max = (x_data / x_step).ceil() * x_step;
    let y_data = all().map(|p| p.1).fold(goal, f64::max);
    let y_step = tick_step(y_data);
    let y_max = (y_data / y_step).ceil().max(1.0) * y_step;
    let x = |v: f64| left + v / x_max * PANEL_W;
    let y = |v: f64| bottom - v / y_max * PANEL_H;
    let _ = writeln!(svg, r#"<text x="{left}" y="{}" font-size="14">{title}</text>"#, top - 14.0);
    let _ = writeln!(
        svg,
        r##"<rect x="{left}" y="{top}" width="{PANEL_W}" height="{PANEL_H}" fill="none" stroke="#999"/>"##
    );
    let mut tick = 0.0;
    while tick <= y_max + y_step / 2.0 {
        let _ = writeln!(
            svg,
            r##"<line x1="{left}" y1="{0}" x2="{1}" y2="{0}" stroke="#eee"/><text x="{2}" y="{3}" text-anchor="end">{4}</text>"##,
            y(tick),
            left + PANEL_W,
            left - 6.0,
            y(tick) + 4.0,
            trim(tick)
        );
        tick += y_step;
    }
    let _ = writeln!(
        svg,
        r##"<line x1="{left}" y1="{0}" x2="{1}" y2="{0}" stroke="#2a2" stroke-dasharray="6 4"/><text x="{2}" y="{3}" fill="#2a2" text-anchor="end">{goal_label}</text>"##,
        y(goal),
        left + PANEL_W,
        left + PANEL_W - 4.0,
        y(goal) - 4.0
    );
    let mut tick = 0.0;
    while tick <= x_max + x_step / 2.0 {
        let _ =
            writeln!(svg, r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#, x(tick), bottom + 16.0, trim(tick));
        tick += x_step;
    }
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle">streams</text>"#,
        left + PANEL_W / 2.0,
        bottom + 34.0
    );
    for s in series.iter().filter(|s| !s.points.is_empty()) {
        let points: Vec<String> = s.points.iter().map(|&(px, py)| format!("{:.1},{:.1}", x(px), y(py))).collect();
        let _ = writeln!(
            svg,
            r#"<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>"#,
            s.colour,
            points.join(" ")
        );
        for &(px, py) in &s.points {
            let _ = writeln!(svg, r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{}"/>"#, x(px), y(py), s.colour);
        }
    }
}

/// A tick label without a pointless `.0`.
fn trim(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round() {
        assert_eq!(tick_step(19_900.0), 5_000.0);
        assert_eq!(tick_step(42.0), 10.0);
        assert_eq!(tick_step(0.9), 0.2);
        assert_eq!(tick_step(0.0), 1.0);
    }
}
