//! A PostgreSQL server of one test's own: a fresh cluster made with the
//! machine's PostgreSQL binaries (`pg_config --bindir`) on a free loopback
//! port, which the test may crash and start again — a real server restart,
//! without disturbing the shared server other tests use. As root (CI), the
//! server runs as the `postgres` user, since PostgreSQL refuses root.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::{eventually, unique};

#[derive(Debug)]
pub struct PostgresServer {
    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    pub url: String,
    /// `127.0.0.1:<port>`.
    pub address: String,
    /// With [`start_tls`](Self::start_tls): the certificate (PEM) of the
    /// authority that signed the server's, for clients to verify against.
    pub ca_certificate: Option<PathBuf>,
    dir: PathBuf,
    bindir: PathBuf,
    port: u16,
}

impl PostgresServer {
    /// Makes a cluster (trust authentication, user `postgres`) and starts it.
    pub async fn start() -> Self {
        Self::start_with(false).await
    }

    /// Like [`start`](Self::start), serving TLS too, with a certificate
    /// for `127.0.0.1` and `localhost` signed by a certificate authority of
    /// its own (both made by `openssl`).
    pub async fn start_tls() -> Self {
        Self::start_with(true).await
    }

    async fn start_with(tls: bool) -> Self {
        let bindir = bindir();
        let dir = std::env::temp_dir().join(unique("canonflow-pg"));
        std::fs::create_dir_all(&dir).expect("a directory for the test's cluster");
        if is_root() {
            run(Command::new("chown").arg("postgres:postgres").arg(&dir));
        }
        let data = dir.join("data");
        run(as_server_user(&bindir.join("initdb"))
            .args([
                "--auth=trust",
                "--username=postgres",
                "--no-sync",
                "--pgdata",
            ])
            .arg(&data));
        let ca_certificate = tls.then(|| certificates(&dir));
        let port = free_port();
        let address = format!("127.0.0.1:{port}");
        let server = Self {
            url: format!("postgres://postgres@{address}/postgres"),
            address,
            ca_certificate,
            dir,
            bindir,
            port,
        };
        server.start_again().await;
        server
    }

    /// Starts the stopped server and waits until it answers.
    pub async fn start_again(&self) {
        let tls = match &self.ca_certificate {
            Some(_) => format!(
                " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                self.dir.join("server.crt").display(),
                self.dir.join("server.key").display()
            ),
            None => String::new(),
        };
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off{tls}",
            self.port,
            self.dir.display()
        );
        run(as_server_user(&self.bindir.join("pg_ctl"))
            .arg("--pgdata")
            .arg(self.dir.join("data"))
            .arg("--log")
            .arg(self.dir.join("server.log"))
            .args(["--options", &options, "--wait", "start"]));
        let url = self.url.clone();
        eventually(
            Duration::from_secs(60),
            "the test's PostgreSQL answering",
            || {
                let url = url.clone();
                async move {
                    let mut connection = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
                        .await
                        .ok()?;
                    sqlx::query("select 1")
                        .execute(&mut connection)
                        .await
                        .ok()
                        .map(|_| ())
                }
            },
        )
        .await;
    }

    /// Stops the server the way a crash does: every backend killed at once,
    /// no checkpoint; the next start recovers from the write-ahead log.
    pub fn crash(&self) {
        run(as_server_user(&self.bindir.join("pg_ctl"))
            .arg("--pgdata")
            .arg(self.dir.join("data"))
            .args(["--mode=immediate", "--wait", "stop"]));
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        let _ = as_server_user(&self.bindir.join("pg_ctl"))
            .arg("--pgdata")
            .arg(self.dir.join("data"))
            .args(["--mode=immediate", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A certificate authority (`ca.crt`) and a server certificate it signed
/// for 127.0.0.1 and localhost (`server.crt`, `server.key`, readable by the
/// server only), in `dir`; returns the authority's certificate.
fn certificates(dir: &Path) -> PathBuf {
    let file = |name: &str| dir.join(name);
    run(Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=canonflow test authority"])
        .arg("-keyout")
        .arg(file("ca.key"))
        .arg("-out")
        .arg(file("ca.crt")));
    run(Command::new("openssl")
        .args([
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
        ])
        .arg("-keyout")
        .arg(file("server.key"))
        .arg("-out")
        .arg(file("server.csr")));
    std::fs::write(
        file("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .expect("the certificate's extensions");
    run(Command::new("openssl")
        .args(["x509", "-req", "-days", "2", "-CAcreateserial"])
        .arg("-in")
        .arg(file("server.csr"))
        .arg("-CA")
        .arg(file("ca.crt"))
        .arg("-CAkey")
        .arg(file("ca.key"))
        .arg("-extfile")
        .arg(file("server.ext"))
        .arg("-out")
        .arg(file("server.crt")));
    run(Command::new("chmod").arg("600").arg(file("server.key")));
    if is_root() {
        run(Command::new("chown")
            .arg("postgres:postgres")
            .arg(file("server.key"))
            .arg(file("server.crt")));
    }
    file("ca.crt")
}

fn bindir() -> PathBuf {
    let output = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .expect("pg_config (PostgreSQL's server binaries) on this machine");
    PathBuf::from(String::from_utf8_lossy(&output.stdout).trim())
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // `/proc/self` belongs to this process's user.
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// `program`, run as `postgres` when this process is root.
fn as_server_user(program: &Path) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn run(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("running {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}
