//! The names of the demo source's streams, as used in snapshots.

pub const HR_WORKERS: &str = "hr/workers";
pub const HR_ORGANIZATIONS: &str = "hr/organizations";
pub const HR_POSITIONS: &str = "hr/positions";
pub const FINANCE_COST_CENTERS: &str = "finance/cost_centers";
pub const FINANCE_SUPPLIERS: &str = "finance/suppliers";
pub const FINANCE_INVOICES: &str = "finance/invoices";
pub const FINANCE_GL_ACCOUNTS: &str = "finance/gl_accounts";
pub const FINANCE_EXCHANGE_RATES: &str = "finance/exchange_rates";
pub const FINANCE_PAYMENTS: &str = "finance/payments";
pub const OPS_TICKETS: &str = "ops/tickets";
pub const OPS_ASSETS: &str = "ops/assets";
pub const PUBLIC_HOLIDAYS: &str = "public/holidays";

/// Every stream, in the order the source generates them.
pub const ALL: [&str; 12] = [
    HR_WORKERS,
    HR_ORGANIZATIONS,
    HR_POSITIONS,
    FINANCE_COST_CENTERS,
    FINANCE_SUPPLIERS,
    FINANCE_INVOICES,
    FINANCE_GL_ACCOUNTS,
    FINANCE_EXCHANGE_RATES,
    FINANCE_PAYMENTS,
    OPS_TICKETS,
    OPS_ASSETS,
    PUBLIC_HOLIDAYS,
];
