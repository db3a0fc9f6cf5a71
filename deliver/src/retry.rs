//! Retry policy for callbacks: what an answer means, and how long to wait before the next try.
//! Pure.

use std::str::FromStr;
use std::time::Duration;

use pipeline::settings::parse_duration;
use rand::Rng;

/// Delays before each retry, e.g. `5s,5m,30m,2h,5h,10h,10h`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(Vec<Duration>);

impl FromStr for RetrySchedule {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.trim().is_empty() {
            return Ok(Self(Vec::new()));
        }
        text.split(',')
            .map(parse_duration)
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

impl RetrySchedule {
    /// The wait before retry number `retry` (0-based), or `None` once the schedule is used up.
    /// Full jitter spreads retries of many failed events over the whole interval; a
    /// `Retry-After` from the receiver is a floor.
    pub fn delay(
        &self,
        retry: usize,
        retry_after: Option<Duration>,
        rng: &mut impl Rng,
    ) -> Option<Duration> {
        let base = *self.0.get(retry)?;
        let jittered = Duration::from_millis(rng.random_range(0..=base.as_millis() as u64));
        Some(retry_after.map_or(jittered, |floor| jittered.max(floor)))
    }

    pub fn retries(&self) -> usize {
        self.0.len()
    }
}

/// What an attempt's answer means for the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Delivered,
    /// Try again later (a `Retry-After` is honoured by the schedule).
    Retry,
    /// `410 Gone`: the receiver wants no more; stop at once.
    Stop,
}

/// `status` is `None` when no answer came (connection refused, timeout). Any 2xx is success;
/// a 3xx is a failure, since redirects are not followed.
pub fn verdict(status: Option<u16>) -> Verdict {
    match status {
        Some(200..=299) => Verdict::Delivered,
        Some(410) => Verdict::Stop,
        _ => Verdict::Retry,
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    #[test]
    fn the_default_schedule_parses() {
        let schedule: RetrySchedule = "5s,5m,30m,2h,5h,10h,10h".parse().unwrap();
        assert_eq!(schedule.retries(), 7);
        assert!("5s,soon".parse::<RetrySchedule>().is_err());
        assert_eq!("".parse::<RetrySchedule>().unwrap().retries(), 0);
    }

    #[test]
    fn delays_stay_within_the_schedule_and_honour_retry_after() {
        let schedule: RetrySchedule = "10s,1m".parse().unwrap();
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..100 {
            let delay = schedule.delay(0, None, &mut rng).unwrap();
            assert!(delay <= Duration::from_secs(10));
        }
        let floor = Duration::from_secs(30);
        assert!(schedule.delay(0, Some(floor), &mut rng).unwrap() >= floor);
        assert_eq!(schedule.delay(2, None, &mut rng), None);
    }

    #[test]
    fn answers_map_to_verdicts() {
        assert_eq!(verdict(Some(200)), Verdict::Delivered);
        assert_eq!(verdict(Some(204)), Verdict::Delivered);
        assert_eq!(verdict(Some(301)), Verdict::Retry);
        assert_eq!(verdict(Some(429)), Verdict::Retry);
        assert_eq!(verdict(Some(500)), Verdict::Retry);
        assert_eq!(verdict(None), Verdict::Retry);
        assert_eq!(verdict(Some(410)), Verdict::Stop);
    }
}
