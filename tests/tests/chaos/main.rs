//! The chaos run: the demo source changing its data, two copies of each
//! stage, and a fault schedule drawn from a seed — a stage copy killed with
//! SIGKILL (and started again), the broker unreachable (every connection
//! dropped, new ones refused), the PostgreSQL server crashed and restarted,
//! the source unreachable, the source failing requests (500s, 429s, slow or
//! broken answers). A copy that exits on its own is started again, as an
//! orchestrator would, and counted. Then the faults stop and the run waits
//! for quiescence: PostgreSQL must hold every entity of the source's own
//! data at its newest version, nothing extra, and no dead letter (the
//! demo's data has no bad records). It prints one figure line.
//!
//! The run has a broker and a PostgreSQL server of its own. The broker
//! (Tansu) keeps its data in memory, so it is made unreachable rather than
//! restarted; on a stack without Tansu the shared broker is used and no
//! broker fault is injected.
//!
//! `CANONFLOW_CHAOS_FAULTS` (default 12) and `CANONFLOW_CHAOS_SEED`
//! (default 7) set the schedule, `CANONFLOW_CHAOS_KINDS` (default all of
//! `kill,broker,postgres,cut,source`) the kinds of fault; `scripts/chaos`
//! runs a long one. When the tables do not match, the run reports which of
//! the missing versions the raw topic holds, read committed and not.
#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "tests; the figure line is the output"
)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use canonflow_common::observe::Stage;
use canonflow_demo_source::{DemoConfig, Fault, FaultKind, Snapshot};
use canonflow_testkit::{PostgresServer, PrivateBroker, Stack, TcpProxy, drain_if_exists};
use canonflow_tests::pipeline::{DemoPipeline, Endpoint};
use chrono::{DateTime, Utc};

mod diagnosis;
use sqlx::PgPool;

/// The mapped streams and the table each lands in.
pub const TABLES: [(&str, &str); 5] = [
    ("hr/workers", "canonflow_worker"),
    ("hr/organizations", "canonflow_organization"),
    ("finance/cost_centers", "canonflow_cost_center"),
    ("finance/suppliers", "canonflow_supplier"),
    ("finance/invoices", "canonflow_invoice"),
];
const QUIESCENCE: Duration = Duration::from_secs(240);

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What the tables hold against the source's data.
#[derive(Debug, Default)]
struct Check {
    records: usize,
    lost: Vec<String>,
    extra: Vec<String>,
    stale: Vec<String>,
}

impl Check {
    fn clean(&self) -> bool {
        self.lost.is_empty() && self.extra.is_empty() && self.stale.is_empty()
    }
}

/// Compares every mapped stream of `snapshot` with its table.
async fn check(pool: &PgPool, snapshot: &Snapshot) -> Result<Check, sqlx::Error> {
    let mut check = Check::default();
    for (stream, table) in TABLES {
        let (source, name) = stream.split_once('/').unwrap();
        let rows: Vec<(String, Option<DateTime<Utc>>, bool)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "select source_id, modified_at, deleted from {table} where source = $1 and stream = $2"
        )))
        .bind(source)
        .bind(name)
        .fetch_all(pool)
        .await?;
        let mut rows: HashMap<String, (Option<DateTime<Utc>>, bool)> = rows
            .into_iter()
            .map(|(id, at, deleted)| (id, (at, deleted)))
            .collect();
        for record in &snapshot.stream(stream).unwrap().records {
            check.records += 1;
            let version = record
                .version
                .as_ref()
                .and_then(|v| v.as_str())
                .and_then(|v| DateTime::parse_from_rfc3339(v).ok())
                .map(|v| v.with_timezone(&Utc));
            match rows.remove(&record.id) {
                None | Some((_, true)) => check.lost.push(format!("{stream}/{}", record.id)),
                Some((at, _)) if version.is_some() && at < version => {
                    check
                        .stale
                        .push(format!("{stream}/{}: {at:?} < {version:?}", record.id));
                }
                Some(_) => {}
            }
        }
        check
            .extra
            .extend(rows.into_keys().map(|id| format!("{stream}/{id}")));
    }
    Ok(check)
}

/// A random source fault for a few requests.
fn source_fault(rng: &mut fastrand::Rng) -> Fault {
    let kind = match rng.u8(..5) {
        0 => FaultKind::ServerError,
        1 => FaultKind::RateLimit {
            retry_after_secs: 1,
        },
        2 => FaultKind::Slow { delay_ms: 1_500 },
        3 => FaultKind::Truncated,
        _ => FaultKind::Malformed,
    };
    let prefix = ["/hr/", "/finance/", "/ops/", "/public/"][rng.usize(..4)];
    Fault::new(kind).on(prefix).times(rng.u32(1..5))
}

/// Starts again every copy that has exited; how many did.
fn restart_exited(
    pipeline: &DemoPipeline,
    copies: &mut [Endpoint],
    env: &[(&str, String)],
) -> usize {
    let mut exited = 0;
    for (slot, copy) in copies.iter_mut().enumerate() {
        if matches!(copy.process.child.try_wait(), Ok(Some(_))) {
            *copy = spawn_slot(pipeline, copy.stage, slot, env);
            exited += 1;
        }
    }
    exited
}

/// Starts the copy of `slot`. A transformer copy takes its slot's
/// transactional id, as a restarted pod does (`deploy/k8s`): the new
/// producer aborts the transaction its killed predecessor left open, which
/// would otherwise hold back the sink's reads (broker-compat deviation 11).
fn spawn_slot(
    pipeline: &DemoPipeline,
    stage: Stage,
    slot: usize,
    env: &[(&str, String)],
) -> Endpoint {
    let mut env = env.to_vec();
    if stage == Stage::Transformer {
        env.push((
            "CANONFLOW__TRANSFORMER__INSTANCE_ID",
            format!("chaos-{slot}"),
        ));
    }
    pipeline.spawn(stage, &env)
}

async fn pause(rng: &mut fastrand::Rng, millis: std::ops::Range<u64>) {
    tokio::time::sleep(Duration::from_millis(rng.u64(millis))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_seeded_faults_postgres_ends_with_the_newest_version_of_everything() {
    let faults = setting("CANONFLOW_CHAOS_FAULTS", 12);
    let seed = setting("CANONFLOW_CHAOS_SEED", 7);
    let mut rng = fastrand::Rng::with_seed(seed);
    let broker = PrivateBroker::start().await;
    let stack = match &broker {
        Some(broker) => broker.stack(&Stack::from_env()),
        None => Stack::from_env(),
    };
    // Every stream syncs again every 2 s, so changes keep flowing.
    let pipeline = DemoPipeline::start_on(stack, DemoConfig::default(), |_, text| {
        text.replace("[[streams]]\n", "[[streams]]\nevery_seconds = 2\n")
    })
    .await;
    // The source behind a proxy the run can cut.
    let demo_url = pipeline.demo.base_url();
    let proxy = TcpProxy::start(demo_url.trim_start_matches("http://")).await;
    let sources = pipeline.config.parent().unwrap().join("sources");
    for entry in std::fs::read_dir(&sources).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let proxied = format!("http://{}", proxy.address);
        std::fs::write(&path, text.replace(&demo_url, &proxied)).unwrap();
    }
    // A PostgreSQL server of the run's own, so that it can crash it.
    let server = PostgresServer::start().await;
    let env = [
        ("CANONFLOW__POSTGRES__URL", server.url.clone()),
        ("CANONFLOW__SINK__SCHEMA", "public".to_owned()),
    ];
    let stages = [Stage::Fetcher, Stage::Transformer, Stage::Sink];
    let mut copies: Vec<Endpoint> = stages
        .iter()
        .flat_map(|s| [*s, *s])
        .enumerate()
        .map(|(slot, stage)| spawn_slot(&pipeline, stage, slot, &env))
        .collect();

    let (mut kills, mut restarts, mut cuts, mut failures, mut outages) = (0, 0, 0, 0, 0);
    let (mut changed, mut exits) = (0, 0);
    let kinds = std::env::var("CANONFLOW_CHAOS_KINDS")
        .unwrap_or_else(|_| "kill,broker,postgres,cut,source".to_owned());
    let kinds: Vec<u8> = kinds
        .split(',')
        .map(|k| match k.trim() {
            "kill" => 0,
            "postgres" => 1,
            "cut" => 2,
            "broker" => 3,
            "source" => 4,
            other => panic!("CANONFLOW_CHAOS_KINDS: unknown kind {other:?}"),
        })
        .collect();
    for _ in 0..faults {
        exits += restart_exited(&pipeline, &mut copies, &env);
        match kinds[rng.usize(..kinds.len())] {
            0 => {
                let at = rng.usize(..copies.len());
                let stage = copies[at].stage;
                let _ = copies[at].process.child.kill();
                let _ = copies[at].process.child.wait();
                pause(&mut rng, 200..1_500).await;
                copies[at] = spawn_slot(&pipeline, stage, at, &env);
                kills += 1;
            }
            1 => {
                server.crash();
                pause(&mut rng, 500..2_000).await;
                server.start_again().await;
                restarts += 1;
            }
            2 => {
                proxy.cut();
                pause(&mut rng, 500..2_500).await;
                proxy.restore();
                cuts += 1;
            }
            3 if broker.is_some() => {
                let broker = broker.as_ref().unwrap();
                broker.cut();
                pause(&mut rng, 1_000..4_000).await;
                broker.restore();
                outages += 1;
            }
            _ => {
                pipeline.demo.set_fault(source_fault(&mut rng));
                failures += 1;
            }
        }
        changed += pipeline.demo.mutate(rng.usize(1..30));
        pause(&mut rng, 500..2_000).await;
    }
    pipeline.demo.set_fault(Fault::none());
    exits += restart_exited(&pipeline, &mut copies, &env);

    // Quiescence: the source no longer changes; wait until the tables match it.
    let snapshot = pipeline.demo.snapshot();
    let pool = PgPool::connect(&server.url).await.unwrap();
    let started = Instant::now();
    let found = loop {
        exits += restart_exited(&pipeline, &mut copies, &env);
        let found = check(&pool, &snapshot).await;
        if found.as_ref().is_ok_and(Check::clean) || started.elapsed() > QUIESCENCE {
            break found.unwrap_or_default();
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    let t = &pipeline.topics.topics;
    let mut dead_letters = 0;
    for stage in ["fetcher", "transformer", "sink"] {
        let topic = t.dead_letters(stage);
        dead_letters += drain_if_exists(&pipeline.stack, &topic, Duration::from_secs(60))
            .await
            .map_or(0, |records| records.len());
    }
    println!(
        "chaos: seed {seed}; faults {faults} ({kills} kills, {outages} broker outages, \
         {restarts} PostgreSQL restarts, {cuts} source cuts, {failures} source failures); \
         {exits} exits restarted; {changed} source changes; \
         records checked {}, lost {}, duplicated {}, stale {}; dead letters {dead_letters}; \
         quiescent after {:.0} s",
        found.records,
        found.lost.len(),
        found.extra.len(),
        found.stale.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(found.records > 1_000, "{} records checked", found.records);
    if !found.clean() {
        let unmatched: Vec<&String> = found.lost.iter().chain(&found.stale).collect();
        diagnosis::print(&pipeline, &copies, &unmatched).await;
    }
    assert!(
        found.clean(),
        "lost {:?}, duplicated {:?}, stale {:?}\n{}",
        &found.lost[..found.lost.len().min(5)],
        &found.extra[..found.extra.len().min(5)],
        &found.stale[..found.stale.len().min(5)],
        pipeline.log_tails()
    );
    assert_eq!(dead_letters, 0, "the demo's data has no bad records");
    for copy in &mut copies {
        copy.process.terminate(Duration::from_secs(30));
    }
    pipeline.demo.shutdown().await;
}
