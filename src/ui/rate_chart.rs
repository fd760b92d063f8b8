//! The rate chart pane: bytes and messages per second, in and out, over the last minute,
//! from the samples the session's model keeps ([`crate::model::session::Rates`]). Drawn only
//! while shown; hidden, it costs nothing beyond the once-a-second sample the status line
//! needs anyway.

use std::time::Instant;

use eframe::egui;
use egui_plot::{Legend, Line, Plot, PlotPoints};

use crate::model::format;
use crate::model::session::{RATE_HISTORY, RateSample, Session};

/// The accessible names of the two plots.
pub const BYTES_PLOT: &str = "Bytes per second, in and out, last minute";
pub const MESSAGES_PLOT: &str = "Messages per second, in and out, last minute";

/// Reads one rate out of a sample.
type Rate = fn(&RateSample) -> f64;

/// One plot: its accessible name, its two lines and how its y axis reads.
struct Chart {
    id: &'static str,
    name: &'static str,
    series: [(&'static str, Rate); 2],
    y_text: fn(f64) -> String,
}

const BYTES: Chart = Chart {
    id: "bytes",
    name: BYTES_PLOT,
    series: [
        ("bytes in", |s| s.bytes_in_per_s),
        ("bytes out", |s| s.bytes_out_per_s),
    ],
    y_text: format::rate,
};

const MESSAGES: Chart = Chart {
    id: "messages",
    name: MESSAGES_PLOT,
    series: [
        ("messages in", |s| s.messages_in_per_s),
        ("messages out", |s| s.messages_out_per_s),
    ],
    y_text: |v| format!("{v:.0}/s"),
};

pub fn rate_chart_ui(ui: &mut egui::Ui, session: &Session) {
    let now = Instant::now();
    let samples: Vec<&RateSample> = session.rates.history().collect();
    let gap = ui.spacing().item_spacing.x;
    let size = egui::vec2(
        ((ui.available_width() - gap) / 2.0).max(1.0),
        ui.available_height().max(1.0),
    );
    ui.horizontal(|ui| {
        for chart in [&BYTES, &MESSAGES] {
            plot_ui(ui, session.id.get(), chart, size, &samples, now);
        }
    });
}

fn plot_ui(
    ui: &mut egui::Ui,
    session: u64,
    chart: &Chart,
    size: egui::Vec2,
    samples: &[&RateSample],
    now: Instant,
) {
    let seconds_ago = |s: &RateSample| -now.saturating_duration_since(s.at).as_secs_f64();
    let y_text = chart.y_text;
    let response = Plot::new((session, chart.id))
        .width(size.x)
        .height(size.y)
        .legend(Legend::default())
        .allow_zoom(false)
        .allow_drag(false)
        .allow_scroll(false)
        .allow_boxed_zoom(false)
        .allow_double_click_reset(false)
        .include_x(-(RATE_HISTORY as f64))
        .include_x(0.0)
        .include_y(0.0)
        .x_axis_formatter(|mark, _| format!("{:.0} s", mark.value))
        .y_axis_formatter(move |mark, _| y_text(mark.value.max(0.0)))
        .show(ui, |plot| {
            for (label, value) in chart.series {
                let points: PlotPoints<'_> =
                    samples.iter().map(|s| [seconds_ago(s), value(s)]).collect();
                plot.line(Line::new(label, points));
            }
        })
        .response;
    let name = chart.name;
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Figure, true, name));
}
