//! `canonflow-demo-source`: runs the demo HR/finance/ops source until SIGINT
//! or SIGTERM. Arguments only; everything else is in the library.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use canonflow_demo_source::{DemoConfig, DemoSource};
use clap::Parser;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

/// A demo HTTP source that behaves like two enterprise systems (HR and finance).
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on (loopback by default: the admin API has no auth).
    #[arg(long, default_value = "127.0.0.1:18080")]
    listen: SocketAddr,
    /// Seed of the generated data.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Record count multiplier (1 = a few thousand records).
    #[arg(long, default_value_t = 1)]
    scale: usize,
    /// Change a few records at this interval (milliseconds).
    #[arg(long)]
    mutate_every_ms: Option<u64>,
    /// Lifetime of HR access tokens (seconds).
    #[arg(long, default_value_t = 3600)]
    token_ttl_secs: u64,
    /// OAuth2 client id the HR token endpoint accepts.
    #[arg(long, env = "DEMO_HR_CLIENT_ID", default_value = "canonflow")]
    hr_client_id: String,
    /// OAuth2 client secret the HR token endpoint accepts.
    #[arg(
        long,
        env = "DEMO_HR_CLIENT_SECRET",
        default_value = "hr-secret",
        hide_env_values = true
    )]
    hr_client_secret: String,
    /// HTTP Basic user of the finance system.
    #[arg(long, env = "DEMO_FINANCE_USER", default_value = "finance")]
    finance_user: String,
    /// HTTP Basic password of the finance system.
    #[arg(
        long,
        env = "DEMO_FINANCE_PASSWORD",
        default_value = "finance-secret",
        hide_env_values = true
    )]
    finance_password: String,
    /// API key of the ops tickets API.
    #[arg(
        long,
        env = "DEMO_OPS_API_KEY",
        default_value = "ops-key",
        hide_env_values = true
    )]
    ops_api_key: String,
    /// Bearer token of the ops assets API.
    #[arg(
        long,
        env = "DEMO_ASSETS_TOKEN",
        default_value = "assets-token",
        hide_env_values = true
    )]
    assets_token: String,
}

impl Args {
    fn config(self) -> DemoConfig {
        DemoConfig {
            seed: self.seed,
            scale: self.scale.max(1),
            hr_client_id: self.hr_client_id,
            hr_client_secret: self.hr_client_secret,
            token_ttl: Duration::from_secs(self.token_ttl_secs),
            finance_user: self.finance_user,
            finance_password: self.finance_password,
            ops_api_key: self.ops_api_key,
            assets_bearer_token: self.assets_token,
            mutate_every: self.mutate_every_ms.map(Duration::from_millis),
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let source = DemoSource::start(listener, args.config()).await?;
    shutdown_signal().await?;
    tracing::info!("shutting down");
    source.shutdown().await;
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() -> anyhow::Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.context("waiting for SIGINT")?,
        _ = terminate.recv() => {}
    }
    Ok(())
}
