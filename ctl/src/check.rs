//! `canonflow check`: does each service answer, with these settings?
//!
//! A metadata request to Kafka and `select version()` on PostgreSQL, each
//! bounded by a timeout. Exits non-zero if either fails, so it can back a
//! readiness probe or a pre-flight step in a deploy script.

use std::process::ExitCode;
use std::time::Duration;

use canonflow_common::Deployment;
use rdkafka::consumer::{BaseConsumer, Consumer};
use secrecy::ExposeSecret;
use sqlx::Connection;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Seconds to wait for each service.
    #[arg(long, default_value_t = 10)]
    timeout_secs: u64,
}

pub async fn run(deployment: &Deployment, args: &Args) -> anyhow::Result<ExitCode> {
    let timeout = Duration::from_secs(args.timeout_secs);
    let kafka = kafka(deployment, timeout).await;
    let kafka_ok = report("kafka", &deployment.kafka.bootstrap_servers, &kafka);
    let postgres_ok = match &deployment.postgres {
        None => {
            println!("postgres  SKIP  no [postgres] section configured");
            true
        }
        Some(pg) => report(
            "postgres",
            "",
            &postgres(pg.url.expose_secret(), timeout).await,
        ),
    };
    Ok(if kafka_ok && postgres_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn report(service: &str, target: &str, outcome: &anyhow::Result<String>) -> bool {
    match outcome {
        Ok(detail) => println!("{service:<9} OK    {}", [target, detail].join(" ").trim()),
        Err(error) => println!(
            "{service:<9} FAIL  {}",
            [target, &format!("{error:#}")].join(" ").trim()
        ),
    }
    outcome.is_ok()
}

async fn kafka(deployment: &Deployment, timeout: Duration) -> anyhow::Result<String> {
    let consumer: BaseConsumer = deployment.kafka.client_config("ctl")?.create()?;
    // fetch_metadata blocks; keep it off the async workers.
    let metadata = tokio::task::spawn_blocking(move || {
        let metadata = consumer.fetch_metadata(None, timeout)?;
        Ok::<_, anyhow::Error>((metadata.brokers().len(), metadata.topics().len()))
    })
    .await??;
    Ok(format!("{} broker(s), {} topic(s)", metadata.0, metadata.1))
}

async fn postgres(url: &str, timeout: Duration) -> anyhow::Result<String> {
    let attempt = async {
        let mut connection = sqlx::PgConnection::connect(url).await?;
        let version: String = sqlx::query_scalar("select version()")
            .fetch_one(&mut connection)
            .await?;
        Ok::<_, anyhow::Error>(version)
    };
    let version = tokio::time::timeout(timeout, attempt)
        .await
        .map_err(|_| anyhow::anyhow!("no answer within {timeout:?}"))??;
    Ok(version.split(" on ").next().unwrap_or(&version).to_owned())
}
