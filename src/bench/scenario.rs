//! `rpcsh bench --script FILE`: an `rpcsh run` script as a scenario, run over and over by `-c`
//! virtual users, each a silent script shell with its own connection and `let` values (a login,
//! then calls using its token). Reports the latency of each step (a call with its streamed
//! messages) and of the whole scenario; a run that fails — a call's error, an `expect` not met —
//! counts under its status and stops there, as `rpcsh run` stops at its first failure.
use super::details::Detail;
use super::report::Report;
use super::tally::{note, StepTally, Tally};
use super::{join, live::Live, merged, BenchOptions, Counters};
use crate::lang::engine::Shell;
use crate::lang::expect::ExpectFailed;
use crate::lang::script::Scenario;
use crate::session::connection::Connection;
use crate::sys::error::{CallFailed, Hint};
use anyhow::Context;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::time::Instant;

/// What the virtual users share: the scenario and the counters.
struct Plan {
    scenario: Scenario,
    counters: Arc<Counters>,
}

/// Runs the scenario in `path` and prints the report; `addr_given`: -a wins over the script's
/// leading `connect`, as in `rpcsh run`.
pub async fn run(
    conn: &Connection,
    path: &Path,
    addr_given: bool,
    options: BenchOptions,
) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read --script {}", path.display()))?;
    let name = path.display().to_string();
    let scenario = Scenario::parse(&name, &text).map_err(|e| {
        Hint::new(
            e.to_string(),
            "nothing was sent: the whole script is checked first (rpcsh run checks it the same way)",
        )
    })?;
    let mut conn = conn.clone();
    if let (Some(addr), false) = (&scenario.connect, addr_given) {
        conn.addr = addr.clone();
    }
    let users = options.concurrency.max(1);
    // Every user connects and learns the script's methods before the load: no step is timed
    // with reflection round trips.
    let methods = &scenario.methods;
    let shells = super::setting_up(futures_util::future::try_join_all((0..users).map(|_| {
        let mut shell = Shell::silent(conn.clone());
        async move {
            shell.prepare(methods).await?;
            anyhow::Ok(shell)
        }
    })))
    .await?;
    let labels = scenario.steps.clone();
    let sinks = options.sinks(&format!("scenario {name}"))?;
    let details = !sinks.is_empty();
    let template = || Tally {
        steps: labels.iter().cloned().map(StepTally::new).collect(),
        details: details.then(Vec::new),
        ..Tally::new()
    };
    let start = Instant::now();
    let counters = Arc::new(Counters::new(
        (options.total, options.warmup),
        (start, options.duration),
        users,
        template,
    ));
    let live = Live::start(counters.clone(), (options.total, options.duration), "runs").with(sinks);
    let plan = Arc::new(Plan { scenario, counters });
    let (cancel, cancelled) = tokio::sync::watch::channel(false);
    let tasks: Vec<_> = shells
        .into_iter()
        .enumerate()
        .map(|(user, shell)| tokio::spawn(user_runs(plan.clone(), user, shell, cancelled.clone())))
        .collect();
    let wall = join(tasks, &plan.counters, cancel, start, &live).await;
    let seconds = live.finish()?;
    let mut tally = merged(template(), &plan.counters.shards);
    tally.seconds = seconds;
    let wall = wall?;
    let mut report = Report::new(format!("scenario {name}"), &tally, wall);
    report.labels = options.labels();
    report.print(&tally, options.report.output)
}

/// One virtual user's runs of the scenario until the load ends.
async fn user_runs(
    plan: Arc<Plan>,
    user: usize,
    mut shell: Shell,
    mut cancelled: tokio::sync::watch::Receiver<bool>,
) {
    let counters = &plan.counters;
    let shard = counters.shard(user);
    while let Some(i) = counters.take() {
        let started = Instant::now();
        let mut steps = Vec::new();
        let run = plan.scenario.run_once(&mut shell, |k, took, outcome| {
            steps.push((k, took, outcome))
        });
        let outcome = tokio::select! {
            outcome = run => outcome,
            _ = cancelled.wait_for(|c| *c) => break,
        };
        if i < counters.warmup {
            continue;
        }
        counters.done.fetch_add(1, Ordering::Relaxed);
        let mut tally = shard.lock().expect("tally");
        for (k, took, step_outcome) in steps {
            if let Some(step) = tally.steps.get_mut(k) {
                note(&mut step.latency, took);
                let status = match step_outcome {
                    Ok(()) => "OK".to_string(),
                    Err(code) => format!("{code:?}"),
                };
                *step.statuses.entry(status).or_default() += 1;
            }
        }
        let took = started.elapsed();
        note(&mut tally.latency, took);
        tally.in_second(counters.second(), took, outcome.is_err());
        let (status, error) = match &outcome {
            Ok(()) => ("OK".to_string(), String::new()),
            Err(e) => run_failure(e),
        };
        if let Some(details) = &mut tally.details {
            details.push(Detail {
                ended: std::time::SystemTime::now(),
                latency: took,
                status: status.clone(),
                error: error.clone(),
            });
        }
        match outcome {
            Ok(()) => *tally.statuses.entry(status).or_default() += 1,
            Err(_) => tally.fail(status, error),
        }
    }
}

/// A failed run's status (a call's code, `ExpectFailed` or `Error`) and its error on one line.
fn run_failure(e: &anyhow::Error) -> (String, String) {
    let status = match (
        e.downcast_ref::<CallFailed>(),
        e.downcast_ref::<ExpectFailed>(),
    ) {
        (Some(failed), _) => format!("{:?}", failed.code),
        (None, Some(_)) => "ExpectFailed".to_string(),
        (None, None) => "Error".to_string(),
    };
    // On one line: an expectation's diff, its lines run together.
    let text = format!("{e:#}");
    let words: Vec<&str> = text.split_whitespace().collect();
    (status, words.join(" ").chars().take(300).collect())
}
