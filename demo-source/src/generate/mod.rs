//! Deterministic demo data: how many records each stream gets at a scale,
//! the ids that tie streams together, and assembling the [`Store`].

mod finance;
mod hr;
mod ledger;
mod money;
mod ops;
mod vocabulary;

use fastrand::Rng;

use crate::store::{Generator, Store, Stream, stream_rng};
use crate::streams;

/// Record counts per stream at a scale.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Counts {
    pub(crate) workers: usize,
    pub(crate) organizations: usize,
    pub(crate) positions: usize,
    pub(crate) cost_centers: usize,
    pub(crate) suppliers: usize,
    pub(crate) invoices: usize,
    pub(crate) gl_accounts: usize,
    pub(crate) rate_days: usize,
    pub(crate) payments: usize,
    pub(crate) tickets: usize,
    pub(crate) assets: usize,
}

impl Counts {
    pub(crate) fn at_scale(scale: usize) -> Self {
        let s = scale.max(1);
        Self {
            workers: 2000 * s,
            organizations: 100 * s,
            positions: 300 * s,
            cost_centers: 200 * s,
            suppliers: 500 * s,
            invoices: 2000 * s,
            gl_accounts: 300 * s,
            rate_days: 30 * s,
            payments: 1000 * s,
            tickets: 200 * s,
            assets: 100 * s,
        }
    }
}

/// Generates every stream for `seed` and `scale`; `base_url` goes into the
/// records that carry absolute URLs (OData v2 `__metadata.uri`).
pub(crate) fn store(seed: u64, scale: usize, base_url: &str) -> Store {
    let c = Counts::at_scale(scale);
    let make = |name: &'static str, generator: Box<dyn Generator>, count: usize| {
        Stream::generate(name, generator, count, &mut stream_rng(seed, name))
    };
    let streams = vec![
        make(
            streams::HR_WORKERS,
            Box::new(hr::Workers { counts: c }),
            c.workers,
        ),
        make(
            streams::HR_ORGANIZATIONS,
            Box::new(hr::Organizations { counts: c }),
            c.organizations,
        ),
        make(
            streams::HR_POSITIONS,
            Box::new(hr::Positions { counts: c }),
            c.positions,
        ),
        make(
            streams::FINANCE_COST_CENTERS,
            Box::new(finance::CostCenters),
            c.cost_centers,
        ),
        make(
            streams::FINANCE_SUPPLIERS,
            Box::new(finance::Suppliers),
            c.suppliers,
        ),
        make(
            streams::FINANCE_INVOICES,
            Box::new(finance::Invoices { counts: c }),
            c.invoices,
        ),
        make(
            streams::FINANCE_GL_ACCOUNTS,
            Box::new(ledger::GlAccounts {
                base_url: base_url.to_owned(),
            }),
            c.gl_accounts,
        ),
        make(
            streams::FINANCE_EXCHANGE_RATES,
            Box::new(ledger::ExchangeRates),
            c.rate_days * ledger::RATE_PAIRS.len(),
        ),
        make(
            streams::FINANCE_PAYMENTS,
            Box::new(ledger::Payments { counts: c }),
            c.payments,
        ),
        make(streams::OPS_TICKETS, Box::new(ops::Tickets), c.tickets),
        make(
            streams::OPS_ASSETS,
            Box::new(ops::Assets { counts: c }),
            c.assets,
        ),
        make(
            streams::PUBLIC_HOLIDAYS,
            Box::new(ops::Holidays),
            vocabulary::HOLIDAYS.len(),
        ),
    ];
    Store::new(streams, seed)
}

pub(crate) fn worker_id(index: usize) -> String {
    format!("W{:06}", index + 1)
}

pub(crate) fn org_id(index: usize) -> String {
    format!("O{:04}", index + 1)
}

pub(crate) fn cost_center_id(index: usize) -> String {
    format!("CC-{}", 1001 + index)
}

pub(crate) fn supplier_id(index: usize) -> String {
    format!("S{:05}", index + 1)
}

pub(crate) fn invoice_id(index: usize) -> String {
    format!("INV-{:06}", index + 1)
}

/// The 0-based index in an id like `O0012` (→ 11), if it has that prefix.
pub(crate) fn index_of(id: &str, prefix: &str) -> Option<usize> {
    id.strip_prefix(prefix)?
        .parse::<usize>()
        .ok()?
        .checked_sub(1)
}

/// Text as sloppy sources send it: about one value in twelve has stray spaces.
pub(crate) fn sloppy(rng: &mut Rng, text: &str) -> String {
    match rng.u8(..24) {
        0 => format!(" {text} "),
        1 => format!("{text} "),
        _ => text.to_owned(),
    }
}
