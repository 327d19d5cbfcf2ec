//! The stage binaries as processes, for end-to-end tests across crates,
//! and what their `/metrics` endpoints say.
//!
//! A test in one package cannot name another package's binaries through
//! `CARGO_BIN_EXE_*`; they are found beside the test executable
//! (`target/<profile>/`) after `cargo build --workspace --bins` — a no-op
//! when a workspace test run has just built them, and what keeps a test
//! run on its own from using stale ones.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::OnceLock;

/// The path of workspace binary `name` (e.g. `canonflow-sink`), built
/// from the current sources.
pub fn stage_binary(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
        let status = Command::new(option_env!("CARGO").unwrap_or("cargo"))
            .args([
                "build",
                "--quiet",
                "--workspace",
                "--bins",
                "--manifest-path",
            ])
            .arg(manifest)
            .status()
            .expect("running cargo build");
        assert!(status.success(), "cargo build --workspace --bins failed");
    });
    let test = std::env::current_exe().expect("the test executable's path");
    // target/<profile>/deps/<test> → target/<profile>/<name>
    let dir = test
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test runs from target/<profile>/deps");
    let binary = dir.join(name);
    assert!(binary.is_file(), "{} was not built", binary.display());
    binary
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// A child process stopped with SIGTERM (then SIGKILL) when dropped.
#[derive(Debug)]
pub struct StageProcess {
    pub child: Child,
}

impl StageProcess {
    pub fn spawn(command: &mut Command) -> Self {
        Self {
            child: command.spawn().expect("spawning a stage binary"),
        }
    }

    /// SIGTERM, then waits up to `grace` before SIGKILL; whether it exited
    /// on its own.
    pub fn terminate(&mut self, grace: std::time::Duration) -> bool {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = std::time::Instant::now() + grace;
        while std::time::Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        false
    }
}

impl Drop for StageProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One scrape of a Prometheus text endpoint: each series' value by name,
/// then by its label set (`{a="x",b="y"}` as written).
#[derive(Debug, Default, Clone)]
pub struct Scrape {
    pub series: BTreeMap<String, BTreeMap<String, f64>>,
}

impl Scrape {
    pub fn parse(text: &str) -> Self {
        let mut scrape = Self::default();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        {
            let (series, value) = match line.rsplit_once(' ') {
                Some(split) => split,
                None => continue,
            };
            let (name, labels) = match series.find('{') {
                Some(i) => (&series[..i], &series[i..]),
                None => (series, ""),
            };
            if let Ok(value) = value.parse::<f64>() {
                scrape
                    .series
                    .entry(name.to_owned())
                    .or_default()
                    .insert(labels.to_owned(), value);
            }
        }
        scrape
    }

    /// Whether any series of `name` exists (for a histogram: its `_count`).
    pub fn has(&self, name: &str) -> bool {
        self.series.contains_key(name) || self.series.contains_key(&format!("{name}_count"))
    }

    /// The sum over every series of `name` whose labels contain all of
    /// `with` (e.g. `&["outcome=\"inserted\""]`).
    pub fn sum(&self, name: &str, with: &[&str]) -> f64 {
        self.series.get(name).map_or(0.0, |series| {
            series
                .iter()
                .filter(|(labels, _)| with.iter().all(|w| labels.contains(w)))
                .map(|(_, v)| v)
                .sum()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_labelled_and_bare_series() {
        let scrape = Scrape::parse(
            "# TYPE a_total counter\na_total{outcome=\"x\",s=\"1\"} 2\na_total{outcome=\"y\"} 3.5\nb 7\nh_count 4\n",
        );
        assert_eq!(scrape.sum("a_total", &[]), 5.5);
        assert_eq!(scrape.sum("a_total", &["outcome=\"x\""]), 2.0);
        assert_eq!(scrape.sum("b", &[]), 7.0);
        assert!(scrape.has("h") && !scrape.has("c"));
    }
}
