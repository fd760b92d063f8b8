//! Deadlines of the net thread, ordered by instant: the loop asks for the nearest one to
//! size its poll timeout and pops the ones due, instead of scanning every session and
//! connection on every turn.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::time::{Duration, Instant};

/// One deadline per key: setting a key again moves its deadline.
pub(crate) struct Timers<K> {
    /// Ordered by instant; the sequence number keeps equal instants apart.
    by_time: BTreeMap<(Instant, u64), K>,
    by_key: HashMap<K, (Instant, u64)>,
    next_seq: u64,
}

impl<K: Copy + Eq + Hash> Timers<K> {
    pub fn new() -> Self {
        Timers {
            by_time: BTreeMap::new(),
            by_key: HashMap::new(),
            next_seq: 0,
        }
    }

    pub fn set(&mut self, key: K, at: Instant) {
        self.cancel(key);
        let slot = (at, self.next_seq);
        self.next_seq += 1;
        self.by_time.insert(slot, key);
        self.by_key.insert(key, slot);
    }

    pub fn cancel(&mut self, key: K) {
        if let Some(slot) = self.by_key.remove(&key) {
            self.by_time.remove(&slot);
        }
    }

    #[cfg(test)]
    pub fn is_set(&self, key: K) -> bool {
        self.by_key.contains_key(&key)
    }

    /// How long until the nearest deadline (zero if one is past).
    pub fn next_wait(&self, now: Instant) -> Option<Duration> {
        let (&(at, _), _) = self.by_time.first_key_value()?;
        Some(at.saturating_duration_since(now))
    }

    /// Removes and returns one key whose deadline is at or before `now`, earliest first.
    pub fn pop_due(&mut self, now: Instant) -> Option<K> {
        let entry = self.by_time.first_entry()?;
        if entry.key().0 > now {
            return None;
        }
        let key = entry.remove();
        self.by_key.remove(&key);
        Some(key)
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.by_key.len()
    }
}

/// `now + wait`, or a day from now when `wait` is absurdly long (it would overflow).
pub(crate) fn far_or(now: Instant, wait: Duration) -> Instant {
    now.checked_add(wait.min(Duration::from_secs(86_400)))
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_due_keys_in_deadline_order_and_leaves_the_rest() {
        let start = Instant::now();
        let mut timers = Timers::new();
        timers.set('c', start + Duration::from_millis(30));
        timers.set('a', start + Duration::from_millis(10));
        timers.set('b', start + Duration::from_millis(20));
        assert_eq!(timers.next_wait(start), Some(Duration::from_millis(10)));
        let now = start + Duration::from_millis(25);
        assert_eq!(timers.pop_due(now), Some('a'));
        assert_eq!(timers.pop_due(now), Some('b'));
        assert_eq!(timers.pop_due(now), None);
        assert_eq!(timers.len(), 1);
        assert_eq!(timers.next_wait(now), Some(Duration::from_millis(5)));
    }

    #[test]
    fn setting_a_key_again_moves_it_and_cancel_removes_it() {
        let start = Instant::now();
        let mut timers = Timers::new();
        timers.set(1, start + Duration::from_millis(10));
        timers.set(1, start + Duration::from_millis(50));
        assert_eq!(timers.len(), 1);
        assert_eq!(timers.pop_due(start + Duration::from_millis(20)), None);
        assert!(timers.is_set(1));
        timers.cancel(1);
        assert!(!timers.is_set(1));
        assert_eq!(timers.next_wait(start), None);
        assert_eq!(timers.pop_due(start + Duration::from_secs(1)), None);
    }

    #[test]
    fn a_past_deadline_means_no_wait() {
        let start = Instant::now();
        let mut timers = Timers::new();
        timers.set((), start);
        assert_eq!(
            timers.next_wait(start + Duration::from_secs(1)),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn far_or_caps_at_a_day() {
        let now = Instant::now();
        assert_eq!(
            far_or(now, Duration::MAX),
            now + Duration::from_secs(86_400)
        );
    }
}
