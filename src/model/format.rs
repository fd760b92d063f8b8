//! Small text formats shared by the panels and the saved log: exact byte counts, rates,
//! uptime and the time of day.

use chrono::{DateTime, Local};

/// Exact byte counts with thousands separators: counters must not round.
/// `1 row`, `2 rows`, `1,000 rows`: a count and its noun, singular for one.
pub fn count(count: u64, noun: &str) -> String {
    let grouped = crate::engine::group_thousands(count);
    let plural = if count == 1 { "" } else { "s" };
    format!("{grouped} {noun}{plural}")
}

pub fn bytes(count: u64) -> String {
    let digits = count.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 2);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out.push_str(" B");
    out
}

/// Bytes per second, scaled to a readable unit (rates are approximate; counts are not).
pub fn rate(bytes_per_second: f64) -> String {
    const UNITS: [&str; 4] = ["B/s", "KB/s", "MB/s", "GB/s"];
    let mut value = bytes_per_second;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

pub fn uptime(since: DateTime<Local>, now: DateTime<Local>) -> String {
    let seconds = (now - since).num_seconds().max(0);
    format!(
        "{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

pub fn clock(time: &DateTime<Local>) -> String {
    time.format("%H:%M:%S%.3f").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped_and_singular_for_one() {
        assert_eq!(count(0, "row"), "0 rows");
        assert_eq!(count(1, "row"), "1 row");
        assert_eq!(count(999, "row"), "999 rows");
        assert_eq!(count(1_000, "row"), "1,000 rows");
        assert_eq!(count(1_234_567, "row"), "1,234,567 rows");
    }

    #[test]
    fn formats_counts_and_durations() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(1000), "1,000 B");
        assert_eq!(bytes(1234567), "1,234,567 B");
        let start = Local::now();
        assert_eq!(
            uptime(start, start + chrono::Duration::seconds(3723)),
            "01:02:03"
        );
    }
}
