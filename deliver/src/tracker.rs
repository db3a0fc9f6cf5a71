//! Ordered offset tracking: events of one partition finish out of order (endpoints differ in
//! speed), but an offset may be committed only once every event before it has finished. Pure.

use std::collections::{BTreeSet, HashMap};

#[derive(Debug, Default)]
pub struct OffsetTracker {
    partitions: HashMap<i32, Partition>,
}

#[derive(Debug, Default)]
struct Partition {
    pending: BTreeSet<i64>,
    /// One past the highest offset begun.
    next: i64,
}

impl OffsetTracker {
    /// An event at `offset` was taken from `partition`.
    pub fn begin(&mut self, partition: i32, offset: i64) {
        let state = self.partitions.entry(partition).or_default();
        state.pending.insert(offset);
        state.next = state.next.max(offset + 1);
    }

    /// The event at `offset` is done (delivered, handed to a retry tier, parked or skipped).
    /// Returns the offset now safe to commit for `partition` (the next one to consume), if it
    /// moved.
    pub fn finish(&mut self, partition: i32, offset: i64) -> Option<i64> {
        let state = self.partitions.get_mut(&partition)?;
        let lowest_before = state.pending.first().copied();
        state.pending.remove(&offset);
        if lowest_before != Some(offset) {
            return None;
        }
        Some(state.pending.first().copied().unwrap_or(state.next))
    }

    /// Forgets a partition this copy no longer owns.
    pub fn forget(&mut self, partition: i32) {
        self.partitions.remove(&partition);
    }

    /// Events begun and not finished, over all partitions.
    pub fn in_flight(&self) -> usize {
        self.partitions.values().map(|p| p.pending.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_only_past_the_lowest_unfinished_event() {
        let mut tracker = OffsetTracker::default();
        for offset in 10..14 {
            tracker.begin(0, offset);
        }
        assert_eq!(tracker.finish(0, 12), None, "11 and 10 are still in flight");
        assert_eq!(tracker.finish(0, 11), None);
        assert_eq!(
            tracker.finish(0, 10),
            Some(13),
            "10, 11 and 12 are done; 13 is not"
        );
        assert_eq!(tracker.finish(0, 13), Some(14));
        assert_eq!(tracker.in_flight(), 0);
    }

    #[test]
    fn partitions_are_tracked_apart() {
        let mut tracker = OffsetTracker::default();
        tracker.begin(0, 5);
        tracker.begin(1, 7);
        assert_eq!(tracker.finish(1, 7), Some(8));
        assert_eq!(tracker.in_flight(), 1);
        tracker.forget(0);
        assert_eq!(tracker.finish(0, 5), None);
        assert_eq!(tracker.in_flight(), 0);
    }
}
