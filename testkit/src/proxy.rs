//! A TCP proxy a test can cut: every open connection dropped and new ones
//! refused until it is restored — how tests make PostgreSQL (or anything
//! else) unreachable mid-run without stopping the shared server.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

#[derive(Debug, Default)]
struct Shared {
    down: AtomicBool,
    connections: Mutex<Vec<AbortHandle>>,
}

/// Forwards `127.0.0.1:<port>` to a target address.
#[derive(Debug)]
pub struct TcpProxy {
    /// `127.0.0.1:<port>` to connect to instead of the target.
    pub address: String,
    shared: Arc<Shared>,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

impl TcpProxy {
    pub async fn start(target: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let address = listener.local_addr().expect("bound address").to_string();
        let shared = Arc::new(Shared::default());
        let state = Arc::clone(&shared);
        let target = target.to_owned();
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if state.down.load(Ordering::SeqCst) {
                    continue; // dropped: the client sees the connection close
                }
                let target = target.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                let mut connections = state.connections.lock().unwrap_or_else(|e| e.into_inner());
                connections.retain(|c| !c.is_finished());
                connections.push(task.abort_handle());
            }
        });
        Self {
            address,
            shared,
            accept,
        }
    }

    /// Drops every connection and refuses new ones.
    pub fn cut(&self) {
        self.shared.down.store(true, Ordering::SeqCst);
        let connections = std::mem::take(
            &mut *self
                .shared
                .connections
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        for connection in connections {
            connection.abort();
        }
    }

    /// Accepts connections again.
    pub fn restore(&self) {
        self.shared.down.store(false, Ordering::SeqCst);
    }
}
