//! The line each stage benchmark ends with, which `scripts/bench` gathers
//! into one report: the stage's figure next to its limit, measured in the
//! same run. Tab-separated after the word `summary`, so the script needs
//! no parsing of the human tables above it. And the peak RSS every stage
//! benchmark reports.

/// The kernel's high-water mark of process `pid`'s resident set, in KiB
/// (0 once the process is gone).
pub fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// One benchmark figure and the limit it is compared with.
#[derive(Debug, Clone)]
pub struct Summary<'a> {
    pub stage: &'a str,
    /// What was timed, e.g. "spawn → all raw records committed".
    pub figure: &'a str,
    pub records: u64,
    pub seconds: f64,
    /// What the limit is, e.g. "COPY of the same rows".
    pub limit: &'a str,
    pub limit_seconds: f64,
    /// The goal, as a share of the limit's rate (issue 9).
    pub target_percent: f64,
    pub peak_rss_kib: Option<u64>,
    /// The stage process's CPU until done.
    pub cpu_seconds: Option<f64>,
}

impl Summary<'_> {
    /// Prints the line: stage, figure, records, records/s, limit, limit
    /// records/s, ratio, target, met, peak RSS, CPU seconds per million.
    #[allow(clippy::print_stdout, reason = "a benchmark's report goes to stdout")]
    pub fn print(&self) {
        let rate = |seconds: f64| self.records as f64 / seconds.max(1e-9);
        let ratio = 100.0 * rate(self.seconds) / rate(self.limit_seconds);
        let met = if ratio >= self.target_percent {
            "yes"
        } else {
            "no"
        };
        let rss = self
            .peak_rss_kib
            .map_or("—".to_owned(), |kib| format!("{} MiB", kib / 1024));
        let cpu = self.cpu_seconds.map_or("—".to_owned(), |seconds| {
            format!("{:.1}", seconds * 1e6 / self.records.max(1) as f64)
        });
        println!(
            "summary\t{}\t{}\t{}\t{:.0}\t{}\t{:.0}\t{ratio:.0} %\t≥ {:.0} %\t{met}\t{rss}\t{cpu}",
            self.stage,
            self.figure,
            self.records,
            rate(self.seconds),
            self.limit,
            rate(self.limit_seconds),
            self.target_percent,
        );
    }
}

pub mod cpu;
pub mod processes;
pub mod rows;
