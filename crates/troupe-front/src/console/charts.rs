//! Small charts as inline SVG, drawn by the front (no script, no external resource): one
//! polyline per series over a fixed box, its largest value as a label, and a title.

use super::history::Point;
use std::fmt::Write;

pub const WIDTH: u32 = 240;
pub const HEIGHT: u32 = 60;

/// One line: its name, its colour and its values (`None`: no data at that point).
#[derive(Debug)]
pub struct Line<'a> {
    pub name: &'a str,
    pub color: &'a str,
    pub values: Vec<Option<f64>>,
}

fn fmt_value(v: f64, unit: &str) -> String {
    if v >= 100.0 || v == v.trunc() {
        format!("{v:.0}{unit}")
    } else {
        format!("{v:.1}{unit}")
    }
}

/// A chart of `lines` sharing one scale from 0 to their largest value.
pub fn chart(title: &str, unit: &str, lines: &[Line<'_>]) -> String {
    let max = lines
        .iter()
        .flat_map(|l| l.values.iter().flatten())
        .fold(0.0f64, |m, v| m.max(*v));
    let scale = if max > 0.0 { max } else { 1.0 };
    let (w, h) = (f64::from(WIDTH), f64::from(HEIGHT));
    let (top, bottom) = (14.0, h - 2.0);
    let mut svg = String::with_capacity(4096);
    let _ = write!(
        svg,
        "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"{t}\"><title>{t}</title>\
<rect x=\"0.5\" y=\"0.5\" width=\"{w1}\" height=\"{h1}\" fill=\"#fafafa\" stroke=\"#ccc\"/>\
<text x=\"4\" y=\"11\" font-size=\"10\" fill=\"#333\">{t}</text>\
<text x=\"{wr}\" y=\"11\" font-size=\"10\" fill=\"#666\" text-anchor=\"end\">max {m}</text>",
        t = crate::pool::esc(title),
        w1 = WIDTH - 1,
        h1 = HEIGHT - 1,
        wr = WIDTH - 4,
        m = fmt_value(max, unit),
    );
    for l in lines {
        let n = l.values.len().max(2) as f64;
        // Runs of points with data: a polyline each, a dot for a lone point.
        let mut segment: Vec<(f64, f64)> = vec![];
        let flush = |segment: &mut Vec<(f64, f64)>, svg: &mut String| {
            match segment.as_slice() {
                [] => {}
                [(x, y)] => {
                    let _ = write!(
                        svg,
                        "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"1.5\" fill=\"{}\"><title>{}</title></circle>",
                        l.color,
                        crate::pool::esc(l.name)
                    );
                }
                points => {
                    let pts: Vec<String> = points
                        .iter()
                        .map(|(x, y)| format!("{x:.1},{y:.1}"))
                        .collect();
                    let _ = write!(
                        svg,
                        "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.2\" points=\"{}\"><title>{}</title></polyline>",
                        l.color,
                        pts.join(" "),
                        crate::pool::esc(l.name)
                    );
                }
            }
            segment.clear();
        };
        for (i, v) in l.values.iter().enumerate() {
            match v {
                Some(v) => {
                    let x = 1.0 + (w - 2.0) * i as f64 / (n - 1.0);
                    let y = bottom - (bottom - top) * (v / scale);
                    segment.push((x, y));
                }
                None => flush(&mut segment, &mut svg),
            }
        }
        flush(&mut segment, &mut svg);
    }
    svg.push_str("</svg>");
    svg
}

/// The three charts of one series of points: request rate, error rate, p50/p99 latency.
pub fn charts(points: &[Point]) -> [String; 3] {
    let rate = Line {
        name: "requests/s",
        color: "#1565c0",
        values: points.iter().map(|p| Some(p.per_second)).collect(),
    };
    let errors = Line {
        name: "errors %",
        color: "#c62828",
        values: points
            .iter()
            .map(|p| (p.requests > 0).then(|| 100.0 * f64::from(p.errors) / f64::from(p.requests)))
            .collect(),
    };
    let p50 = Line {
        name: "p50 ms",
        color: "#2e7d32",
        values: points.iter().map(|p| p.p50_ms).collect(),
    };
    let p99 = Line {
        name: "p99 ms",
        color: "#ef6c00",
        values: points.iter().map(|p| p.p99_ms).collect(),
    };
    [
        chart("requests/s", "/s", &[rate]),
        chart("errors %", "%", &[errors]),
        chart("latency p50 / p99", " ms", &[p50, p99]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_is_self_contained_svg_with_gaps_and_escaped_titles() {
        let svg = chart(
            "a<b",
            "/s",
            &[Line {
                name: "x",
                color: "#000",
                values: vec![Some(1.0), Some(3.0), None, Some(2.0)],
            }],
        );
        assert_eq!(
            svg.matches("<circle").count(),
            1,
            "the lone point is a dot: {svg}"
        );
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>"));
        assert!(svg.contains("a&lt;b") && !svg.contains("a<b"));
        assert_eq!(svg.matches("<polyline").count(), 1, "{svg}");
        assert!(svg.contains("max 3/s"));
        assert!(!svg.contains("http://") || svg.contains("xmlns=\"http://www.w3.org/2000/svg\""));
        let empty = chart("none", "", &[]);
        assert!(empty.contains("max 0"));
    }
}
