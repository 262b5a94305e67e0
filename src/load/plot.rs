//! The latency plot of a load run, as a hand-written SVG (no plotting dependency): latency by
//! percentile, the x axis logarithmic in 1 / (1 - p) as HdrHistogram's percentile plots are
//! (50%, 90%, 99%, 99.9%, ... evenly spaced), one step line per series. Pure: text out.

use std::fmt::Write;

const W: f64 = 900.0;
const H: f64 = 520.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 190.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 60.0;
const COLORS: &[&str] = &["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
/// The x axis runs to p99.999 (five nines).
const X_DECADES: f64 = 5.0;

/// One line: a label and (percentile 0..100, milliseconds) points in increasing percentile order.
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

fn x_of(percentile: f64) -> f64 {
    let p = (percentile / 100.0).min(1.0 - 10f64.powf(-X_DECADES));
    let decades = (1.0 / (1.0 - p)).log10();
    LEFT + (W - LEFT - RIGHT) * decades / X_DECADES
}

/// A "nice" upper bound and tick step for 0..max.
fn ticks(max: f64) -> (f64, f64) {
    let max = if max > 0.0 { max } else { 1.0 };
    let raw = max / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
    ((max / step).ceil() * step, step)
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The SVG document.
pub fn render(title: &str, series: &[Series]) -> String {
    let max = series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).fold(0.0, f64::max);
    let (top_ms, step) = ticks(max);
    let y_of = |ms: f64| TOP + (H - TOP - BOTTOM) * (1.0 - ms / top_ms);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(s, r#"<text x="{LEFT}" y="24" font-size="15">{}</text>"#, esc(title));
    // Horizontal grid and y labels.
    let mut v = 0.0;
    while v <= top_ms + step / 2.0 {
        let y = y_of(v);
        let _ = writeln!(s, r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/>"##, W - RIGHT);
        let _ = writeln!(s, r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#, LEFT - 6.0, y + 4.0, fmt_ms(v));
        v += step;
    }
    // Vertical grid at 0, 90, 99, 99.9, ... percent.
    for (i, label) in ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"].iter().enumerate() {
        let x = LEFT + (W - LEFT - RIGHT) * i as f64 / X_DECADES;
        let _ = writeln!(s, r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#ddd"/>"##, H - BOTTOM);
        let _ = writeln!(s, r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{label}</text>"#, H - BOTTOM + 16.0);
    }
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">percentile</text>"#,
        (LEFT + W - RIGHT) / 2.0,
        H - 18.0
    );
    let _ = writeln!(
        s,
        r#"<text x="16" y="{:.1}" transform="rotate(-90 16 {:.1})" text-anchor="middle">latency (ms)</text>"#,
        (TOP + H - BOTTOM) / 2.0,
        (TOP + H - BOTTOM) / 2.0
    );
    for (i, line) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let mut pts = String::new();
        let mut prev: Option<f64> = None;
        for &(p, ms) in &line.points {
            let (x, y) = (x_of(p), y_of(ms));
            if let Some(py) = prev {
                let _ = write!(pts, "{x:.1},{py:.1} ");
            }
            let _ = write!(pts, "{x:.1},{y:.1} ");
            prev = Some(y);
        }
        let _ = writeln!(s, r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#, pts.trim_end());
        let ly = TOP + 10.0 + 20.0 * i as f64;
        let lx = W - RIGHT + 12.0;
        let _ = writeln!(
            s,
            r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{color}" stroke-width="3"/>"#,
            lx + 20.0
        );
        let _ = writeln!(s, r#"<text x="{}" y="{}">{}</text>"#, lx + 26.0, ly + 4.0, esc(&line.label));
    }
    s.push_str("</svg>\n");
    s
}

fn fmt_ms(v: f64) -> String {
    if v >= 10.0 || v == 0.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_svg_with_one_step_line_per_series_and_escaped_labels() {
        let series = vec![
            Series { label: "request <all>".into(), points: vec![(0.0, 0.1), (50.0, 0.4), (99.0, 2.0), (99.9, 7.5)] },
            Series { label: "update".into(), points: vec![(0.0, 0.2), (99.0, 3.0)] },
        ];
        let svg = render("latency & co", &series);
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("request &lt;all&gt;") && svg.contains("latency &amp; co"));
        // A step line: each point after the first adds a horizontal then a vertical vertex.
        let first = svg.lines().find(|l| l.starts_with("<polyline")).unwrap();
        assert_eq!(first.split("points=\"").nth(1).unwrap().split_whitespace().count(), 7);
    }

    #[test]
    fn axes_place_percentiles_by_nines_and_ticks_are_round() {
        assert!((x_of(90.0) - x_of(0.0) - (x_of(99.0) - x_of(90.0))).abs() < 1e-6);
        assert_eq!(ticks(7.3), (8.0, 2.0));
        assert_eq!(ticks(0.42), (0.5, 0.1));
        assert_eq!(ticks(0.0), (1.0, 0.2));
        assert!(render("empty", &[]).starts_with("<svg"));
    }
}
