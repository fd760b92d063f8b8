//! Repeated sending on a timer that lives on the net thread, so the interval holds whether
//! or not any window is drawing.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::command::Target;
use super::timers::far_or;
use crate::payload::Template;

/// Ticks sent in one loop turn at most when the loop fell behind, so catching up cannot
/// starve the other sockets.
pub const MAX_CATCH_UP: u32 = 1000;

pub(crate) struct Repeat {
    pub target: Target,
    pub data: Arc<[u8]>,
    /// Rendered afresh at every tick instead of `data`.
    pub template: Option<Arc<Template>>,
    pub interval: Duration,
    /// Sends left; `None` repeats until stopped.
    pub remaining: Option<u64>,
    /// The next tick is due at this instant; ticks are spaced from the schedule, not from
    /// when the loop woke, so the average rate is exact.
    pub next: Instant,
    pub sent: Arc<AtomicU64>,
}

impl Repeat {
    pub fn new(target: Target, data: Arc<[u8]>, interval: Duration, count: Option<u64>) -> Self {
        Repeat {
            target,
            data,
            template: None,
            // A zero interval would spin the loop; one millisecond is the floor, a day the cap.
            interval: interval.clamp(Duration::from_millis(1), Duration::from_secs(86_400)),
            remaining: count,
            next: Instant::now(),
            sent: Arc::new(AtomicU64::new(0)),
        }
    }

    /// How many ticks are due now (bounded by [`MAX_CATCH_UP`] and by what is left).
    pub fn due(&self, now: Instant) -> u32 {
        if now < self.next {
            return 0;
        }
        let behind = (now - self.next).as_nanos() / self.interval.as_nanos().max(1) + 1;
        let mut due = behind.min(MAX_CATCH_UP as u128) as u32;
        if let Some(remaining) = self.remaining {
            due = due.min(remaining.min(u32::MAX as u64) as u32);
        }
        due
    }

    /// Records one tick sent; true when the repeat is complete.
    pub fn tick(&mut self) -> bool {
        self.next = far_or(self.next, self.interval);
        self.sent.fetch_add(1, Ordering::Relaxed);
        if let Some(remaining) = &mut self.remaining {
            *remaining -= 1;
            return *remaining == 0;
        }
        false
    }

    /// If the loop fell more than the catch-up bound behind, skip ahead rather than burst.
    pub fn resync(&mut self, now: Instant) {
        let limit = self.next.checked_add(self.interval * MAX_CATCH_UP);
        if limit.is_none_or(|limit| now > limit) {
            self.next = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_from_the_plan_and_counts_down() {
        let mut repeat = Repeat::new(
            Target::All,
            Arc::from(&b"x"[..]),
            Duration::from_millis(10),
            Some(3),
        );
        let start = repeat.next;
        assert_eq!(repeat.due(start), 1);
        assert_eq!(repeat.due(start + Duration::from_millis(25)), 3);
        assert!(!repeat.tick());
        assert_eq!(repeat.next, start + Duration::from_millis(10));
        assert_eq!(repeat.due(start + Duration::from_millis(5)), 0);
        assert!(!repeat.tick());
        assert!(repeat.tick());
        assert_eq!(repeat.sent.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn absurd_intervals_are_capped_instead_of_overflowing() {
        let mut repeat = Repeat::new(Target::All, Arc::from(&b"x"[..]), Duration::MAX, Some(2));
        assert_eq!(repeat.interval, Duration::from_secs(86_400));
        assert!(!repeat.tick());
        repeat.resync(Instant::now());
    }

    #[test]
    fn zero_interval_is_raised_to_a_millisecond() {
        let repeat = Repeat::new(Target::All, Arc::from(&b"x"[..]), Duration::ZERO, None);
        assert_eq!(repeat.interval, Duration::from_millis(1));
        assert_eq!(
            repeat.due(repeat.next + Duration::from_secs(10)),
            MAX_CATCH_UP
        );
    }
}
