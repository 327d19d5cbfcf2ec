//! A Kafka-protocol broker of one test's own: the stack's Tansu binary on a
//! free loopback port, which clients reach only through a [`TcpProxy`] (it
//! is the advertised listener), so the test can make the broker unreachable
//! — every connection dropped, new ones refused — and bring it back, without
//! disturbing the shared broker. Tansu keeps its data in memory: an outage,
//! not a restart, is what a test can inject.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};

use crate::{Stack, TcpProxy, eventually, unique};

/// The variable `scripts/stack` writes the Tansu binary's path to.
const TANSU_VAR: &str = "CANONFLOW_STACK_TANSU";

#[derive(Debug)]
pub struct PrivateBroker {
    /// The address clients bootstrap from (the proxy's).
    pub bootstrap_servers: String,
    proxy: TcpProxy,
    child: Child,
}

impl PrivateBroker {
    /// Starts one and waits until it answers; `None` when the stack runs
    /// no Tansu of its own (it uses another Kafka).
    pub async fn start() -> Option<Self> {
        let binary = crate::stack::setting(TANSU_VAR)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let listener = format!("127.0.0.1:{port}");
        let proxy = TcpProxy::start(&listener).await;
        let child = Command::new(binary)
            .arg("broker")
            .args(["--listener-url", &format!("tcp://{listener}")])
            .args([
                "--advertised-listener-url",
                &format!("tcp://{}", proxy.address),
            ])
            .args(["--storage-engine", "memory://tansu/"])
            .args(["--cluster-id", &unique("private")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting the stack's Tansu binary");
        let broker = Self {
            bootstrap_servers: proxy.address.clone(),
            proxy,
            child,
        };
        let stack = broker.stack(&Stack::from_env());
        eventually(
            Duration::from_secs(30),
            "the private broker answering",
            || {
                let kafka = stack.kafka();
                async move {
                    tokio::task::spawn_blocking(move || {
                        let consumer: BaseConsumer =
                            kafka.client_config("test").ok()?.create().ok()?;
                        consumer
                            .fetch_metadata(None, Duration::from_secs(2))
                            .ok()
                            .map(|_| ())
                    })
                    .await
                    .ok()?
                }
            },
        )
        .await;
        Some(broker)
    }

    /// `stack` with this broker in place of the shared one.
    pub fn stack(&self, stack: &Stack) -> Stack {
        Stack {
            bootstrap_servers: self.bootstrap_servers.clone(),
            ..stack.clone()
        }
    }

    /// Unreachable: every connection dropped, new ones refused.
    pub fn cut(&self) {
        self.proxy.cut();
    }

    pub fn restore(&self) {
        self.proxy.restore();
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
