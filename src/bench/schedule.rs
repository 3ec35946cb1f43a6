//! The load shapes over time of `rpcsh bench`: a constant rate (`--rps R`), a rate rising or
//! falling linearly (`--ramp FROM..TO/DURATION`), rates held in steps (`--rps-steps
//! R1,R2,.../EACH`), workers in steps (`--concurrency-steps C1,C2,.../EACH`) and workers rising
//! or falling linearly (`--concurrency-ramp FROM..TO/DURATION`, ghz's line). Owns when each
//! request is due (open loop), which workers run when (closed loop), and the stages a report
//! breaks a shaped run into.
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// Requests per second, for as long as the run lasts.
    Rate(f64),
    Ramp {
        from: f64,
        to: f64,
        over: Duration,
    },
    RateSteps {
        rates: Vec<f64>,
        each: Duration,
    },
    ConcurrencySteps {
        levels: Vec<usize>,
        each: Duration,
    },
    ConcurrencyRamp {
        from: usize,
        to: usize,
        over: Duration,
    },
}

/// A part of a shaped run the report shows on its own.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub label: String,
    pub start: Duration,
    pub end: Duration,
}

/// A ramp is reported in this many equal parts.
const RAMP_STAGES: u32 = 10;

fn split_each(text: &str, what: &str) -> Result<(String, Duration), String> {
    let (values, each) = text
        .rsplit_once('/')
        .ok_or_else(|| format!("expected {what}/DURATION, e.g. 100,500,1000/10s"))?;
    let each = crate::sys::util::parse_duration(each)?;
    if each.is_zero() {
        return Err("the duration must be more than 0".into());
    }
    Ok((values.to_string(), each))
}

fn rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(r) if r.is_finite() && r >= 0.0 => Ok(r),
        _ => Err(format!("{text:?} is not a rate (requests per second)")),
    }
}

/// `--rps R`: more than 0.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    match rate(text)? {
        r if r > 0.0 => Ok(r),
        _ => Err("the rate must be more than 0".into()),
    }
}

/// `--ramp FROM..TO/DURATION`, e.g. `100..5000/30s`.
pub fn parse_ramp(text: &str) -> Result<Shape, String> {
    let (range, over) = split_each(text, "FROM..TO")?;
    let (from, to) = range
        .split_once("..")
        .ok_or_else(|| "expected FROM..TO/DURATION, e.g. 100..5000/30s".to_string())?;
    let (from, to) = (rate(from)?, rate(to)?);
    if from == 0.0 && to == 0.0 {
        return Err("a ramp from 0 to 0 sends nothing".into());
    }
    Ok(Shape::Ramp { from, to, over })
}

/// `--rps-steps R1,R2,.../EACH`, e.g. `100,500,1000/10s`.
pub fn parse_rate_steps(text: &str) -> Result<Shape, String> {
    let (values, each) = split_each(text, "R1,R2,...")?;
    let rates = values.split(',').map(rate).collect::<Result<Vec<_>, _>>()?;
    if rates.contains(&0.0) {
        return Err("every step's rate must be more than 0".into());
    }
    Ok(Shape::RateSteps { rates, each })
}

/// `--concurrency-steps C1,C2,.../EACH`, e.g. `10,50,100/10s`.
pub fn parse_concurrency_steps(text: &str) -> Result<Shape, String> {
    let (values, each) = split_each(text, "C1,C2,...")?;
    let levels = values
        .split(',')
        .map(|c| match c.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("{c:?} is not a number of workers (1 or more)")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Shape::ConcurrencySteps { levels, each })
}

/// `--concurrency-ramp FROM..TO/DURATION`, e.g. `1..50/30s`.
pub fn parse_concurrency_ramp(text: &str) -> Result<Shape, String> {
    let (range, over) = split_each(text, "FROM..TO")?;
    let (from, to) = range
        .split_once("..")
        .ok_or_else(|| "expected FROM..TO/DURATION, e.g. 1..50/30s".to_string())?;
    let workers = |c: &str| {
        c.trim()
            .parse::<usize>()
            .map_err(|_| format!("{c:?} is not a number of workers"))
    };
    let (from, to) = (workers(from)?, workers(to)?);
    if from == 0 && to == 0 {
        return Err("a ramp from 0 to 0 workers makes no calls".into());
    }
    Ok(Shape::ConcurrencyRamp { from, to, over })
}

fn rate_label(r: f64) -> String {
    format!("{}", (r * 10.0).round() / 10.0)
}

impl Shape {
    /// Open loop: requests are sent when due, whatever the server's pace.
    pub fn is_open(&self) -> bool {
        !matches!(
            self,
            Shape::ConcurrencySteps { .. } | Shape::ConcurrencyRamp { .. }
        )
    }

    /// How long the shape lasts; a constant rate lasts as long as -n or -z say.
    pub fn length(&self) -> Option<Duration> {
        match self {
            Shape::Rate(_) => None,
            Shape::Ramp { over, .. } => Some(*over),
            Shape::RateSteps { rates, each } => Some(*each * rates.len() as u32),
            Shape::ConcurrencySteps { levels, each } => Some(*each * levels.len() as u32),
            Shape::ConcurrencyRamp { over, .. } => Some(*over),
        }
    }

    /// When request `i` (from 0) is due after the start: the time by which the shape has sent
    /// `i` requests. None when the shape ends first.
    pub fn due(&self, i: u64) -> Option<Duration> {
        let i = i as f64;
        let seconds = match self {
            Shape::Rate(r) => i / r,
            // Requests sent by t: from·t + (to − from)·t²/(2·over); solved for t.
            Shape::Ramp { from, to, over } => {
                let slope = (to - from) / over.as_secs_f64();
                let t = if slope.abs() < 1e-12 {
                    i / from
                } else {
                    let root = (from * from + 2.0 * slope * i).max(0.0).sqrt();
                    (root - from) / slope
                };
                if !t.is_finite() || t > over.as_secs_f64() {
                    return None;
                }
                t
            }
            Shape::RateSteps { rates, each } => {
                let mut before = 0.0;
                let mut found = None;
                for (k, r) in rates.iter().enumerate() {
                    let in_step = r * each.as_secs_f64();
                    if i < before + in_step {
                        found = Some(k as f64 * each.as_secs_f64() + (i - before) / r);
                        break;
                    }
                    before += in_step;
                }
                found?
            }
            Shape::ConcurrencySteps { .. } | Shape::ConcurrencyRamp { .. } => 0.0,
        };
        Duration::try_from_secs_f64(seconds).ok()
    }

    /// How many requests an open-loop shape has due in its first `t`.
    pub fn due_within(&self, t: Duration) -> u64 {
        let (mut lo, mut hi) = (0u64, 1u64 << 40);
        // due() grows with i: the first i due at or after t.
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.due(mid) {
                Some(at) if at < t => lo = mid + 1,
                _ => hi = mid,
            }
        }
        lo
    }

    /// The most workers the shape runs at once.
    pub fn workers(&self) -> Option<usize> {
        match self {
            Shape::ConcurrencySteps { levels, .. } => levels.iter().copied().max(),
            Shape::ConcurrencyRamp { from, to, .. } => Some(*from.max(to)),
            _ => None,
        }
    }

    /// Closed loop: the first time at or after `t` when `worker` (from 0) runs; None when it does
    /// not run again before the shape ends.
    pub fn runs_from(&self, worker: usize, t: Duration) -> Option<Duration> {
        if let Shape::ConcurrencyRamp { from, to, over } = self {
            return ramp_runs_from((*from as f64, *to as f64, *over), worker as f64, t);
        }
        let Shape::ConcurrencySteps { levels, each } = self else {
            return Some(t);
        };
        let now = (t.as_nanos() / each.as_nanos().max(1)) as usize;
        (now..levels.len())
            .find(|k| worker < levels[*k])
            .map(|k| t.max(*each * k as u32))
    }

    /// The stages a report shows: each step, or a ramp in ten parts; none for a constant rate.
    pub fn stages(&self) -> Vec<Stage> {
        let stage = |k: u32, each: Duration, label: String| Stage {
            label,
            start: each * k,
            end: each * (k + 1),
        };
        match self {
            Shape::Rate(_) => Vec::new(),
            Shape::Ramp { from, to, over } => (0..RAMP_STAGES)
                .map(|k| {
                    let at = |k: u32| from + (to - from) * k as f64 / RAMP_STAGES as f64;
                    let label = format!("{}..{}/s", rate_label(at(k)), rate_label(at(k + 1)));
                    stage(k, *over / RAMP_STAGES, label)
                })
                .collect(),
            Shape::RateSteps { rates, each } => (0..rates.len() as u32)
                .map(|k| stage(k, *each, format!("{}/s", rate_label(rates[k as usize]))))
                .collect(),
            Shape::ConcurrencySteps { levels, each } => (0..levels.len() as u32)
                .map(|k| stage(k, *each, format!("c={}", levels[k as usize])))
                .collect(),
            Shape::ConcurrencyRamp { from, to, over } => (0..RAMP_STAGES)
                .map(|k| {
                    let at =
                        |k: u32| running(*from as f64, *to as f64, k as f64 / RAMP_STAGES as f64);
                    let label = format!("c={}..{}", at(k), at(k + 1));
                    stage(k, *over / RAMP_STAGES, label)
                })
                .collect(),
        }
    }

    /// The stage a request belongs to, by when it was due (or, closed loop, started).
    pub fn stage_at(&self, t: Duration) -> Option<usize> {
        let length = self.length()?;
        let count = match self {
            Shape::Rate(_) => return None,
            Shape::Ramp { .. } | Shape::ConcurrencyRamp { .. } => RAMP_STAGES as u128,
            Shape::RateSteps { rates, .. } => rates.len() as u128,
            Shape::ConcurrencySteps { levels, .. } => levels.len() as u128,
        };
        let part = length.as_nanos() / count.max(1);
        Some(((t.as_nanos() / part.max(1)) as usize).min(count as usize - 1))
    }
}

/// Workers running a `part` (0 to 1) into a ramp from `from` to `to`: the line, rounded.
fn running(from: f64, to: f64, part: f64) -> f64 {
    (from + (to - from) * part).round()
}

/// A concurrency ramp's `runs_from`: worker k runs while more than k workers are running.
fn ramp_runs_from((from, to, over): (f64, f64, Duration), k: f64, t: Duration) -> Option<Duration> {
    if t >= over {
        return None;
    }
    let part = t.as_secs_f64() / over.as_secs_f64();
    if running(from, to, part) > k {
        return Some(t);
    }
    if to <= from {
        return None;
    }
    // Rising: from when the line, rounded, passes k.
    let starts = over.mul_f64(((k + 0.5 - from) / (to - from)).clamp(0.0, 1.0));
    (starts < over).then_some(starts.max(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn a_ramp_sends_its_area_and_no_more() {
        let ramp = parse_ramp("100..300/10s").unwrap();
        // 100 → 300 over 10 s sends (100 + 300) / 2 · 10 = 2000 requests.
        assert!(ramp.due(1999).is_some());
        assert_eq!(ramp.due(2001), None);
        // Half the time in, 100·5 + 200·25/20 = 750 requests have been sent.
        let t = ramp.due(750).unwrap().as_secs_f64();
        assert!((t - 5.0).abs() < 1e-6, "{t}");
        let down = parse_ramp("300..100/10s").unwrap();
        let t = down.due(1250).unwrap().as_secs_f64();
        assert!((t - 5.0).abs() < 1e-6, "{t}");
        let flat = parse_ramp("50..50/2s").unwrap();
        assert_eq!(flat.due(50), Some(secs(1.0)));
        assert_eq!(ramp.stages()[0].label, "100..120/s");
        assert_eq!(ramp.stage_at(secs(9.99)), Some(9));
    }

    #[test]
    fn rate_steps_hold_each_rate() {
        let steps = parse_rate_steps("10,100/2s").unwrap();
        assert_eq!(steps.due(10), Some(secs(1.0)));
        assert_eq!(steps.due(20), Some(secs(2.0)));
        assert_eq!(steps.due(120), Some(secs(3.0)));
        assert_eq!(steps.due(220), None);
        assert_eq!(steps.length(), Some(secs(4.0)));
        assert_eq!(steps.stage_at(secs(2.5)), Some(1));
        assert_eq!(steps.due_within(secs(3.0)), 120);
        assert_eq!(steps.due_within(secs(9.0)), 220);
    }

    #[test]
    fn concurrency_steps_start_and_stop_workers() {
        let steps = parse_concurrency_steps("2,5,1/1s").unwrap();
        assert_eq!(steps.workers(), Some(5));
        assert!(!steps.is_open());
        assert_eq!(steps.runs_from(0, secs(0.5)), Some(secs(0.5)));
        assert_eq!(steps.runs_from(3, secs(0.5)), Some(secs(1.0)));
        assert_eq!(steps.runs_from(3, secs(1.5)), Some(secs(1.5)));
        assert_eq!(steps.runs_from(3, secs(2.1)), None);
        assert_eq!(steps.runs_from(0, secs(3.0)), None);
        assert_eq!(steps.stages()[1].label, "c=5");
    }

    #[test]
    fn a_concurrency_ramp_starts_workers_along_its_line() {
        let up = parse_concurrency_ramp("0..10/10s").unwrap();
        assert_eq!((up.workers(), up.is_open()), (Some(10), false));
        // Worker 0 joins once the line passes 0.5 workers, worker 9 at 9.5.
        assert_eq!(up.runs_from(0, secs(0.0)), Some(secs(0.5)));
        assert_eq!(up.runs_from(9, secs(1.0)), Some(secs(9.5)));
        assert_eq!(up.runs_from(4, secs(6.0)), Some(secs(6.0)));
        assert_eq!(up.runs_from(0, secs(10.0)), None);
        let down = parse_concurrency_ramp("10..0/10s").unwrap();
        assert_eq!(down.runs_from(9, secs(0.2)), Some(secs(0.2)));
        assert_eq!(down.runs_from(9, secs(1.0)), None);
        assert_eq!(down.runs_from(0, secs(9.0)), Some(secs(9.0)));
        assert_eq!(up.stages()[0].label, "c=0..1");
        assert_eq!(up.stages()[9].label, "c=9..10");
        assert_eq!(
            parse_concurrency_ramp("1..50/30s").unwrap().stages()[1].label,
            "c=6..11"
        );
        assert!(parse_concurrency_ramp("0..0/1s").is_err());
    }

    #[test]
    fn bad_shapes_say_what_is_expected() {
        assert!(parse_ramp("100/10s").unwrap_err().contains("FROM..TO"));
        assert!(parse_ramp("0..0/10s").is_err());
        assert!(parse_rate_steps("10,x/1s")
            .unwrap_err()
            .contains("not a rate"));
        assert!(parse_rate_steps("10,0/1s").is_err());
        assert!(parse_concurrency_steps("10,20")
            .unwrap_err()
            .contains("/DURATION"));
        assert!(parse_concurrency_steps("0/1s").is_err());
    }
}
