//! Small text formats shared by the panels and the saved log: exact byte counts, rates,
//! uptime and the time of day.

use chrono::{DateTime, Local};

/// Exact byte counts with thousands separators: counters must not round.
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
