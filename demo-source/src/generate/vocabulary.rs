//! Word lists the generators draw from: names (with accents and other
//! non-ASCII letters, as real HR data has), places, departments, titles.

/// First names: as displayed, and the ASCII form used in e-mail addresses.
pub(crate) const FIRST_NAMES: &[(&str, &str)] = &[
    ("Anna", "anna"),
    ("Jürgen", "juergen"),
    ("Zoë", "zoe"),
    ("Søren", "soeren"),
    ("José", "jose"),
    ("Mei", "mei"),
    ("Liam", "liam"),
    ("Olivia", "olivia"),
    ("Hiroshi", "hiroshi"),
    ("Fatima", "fatima"),
    ("Noah", "noah"),
    ("Émilie", "emilie"),
    ("Lukas", "lukas"),
    ("Sofia", "sofia"),
    ("Mateo", "mateo"),
    ("Aisha", "aisha"),
    ("Yuki", "yuki"),
    ("Ingrid", "ingrid"),
    ("Oğuz", "oguz"),
    ("Priya", "priya"),
    ("Karl", "karl"),
    ("Chloé", "chloe"),
    ("Ahmed", "ahmed"),
    ("Greta", "greta"),
];

/// Last names: as displayed, and the ASCII form used in e-mail addresses.
pub(crate) const LAST_NAMES: &[(&str, &str)] = &[
    ("Schmidt", "schmidt"),
    ("Müller", "mueller"),
    ("O'Brien", "obrien"),
    ("García", "garcia"),
    ("Tanaka", "tanaka"),
    ("Nguyen", "nguyen"),
    ("Smith", "smith"),
    ("Al-Sabah", "alsabah"),
    ("Kowalski", "kowalski"),
    ("Dubois", "dubois"),
    ("Johansson", "johansson"),
    ("Rossi", "rossi"),
    ("Weiß", "weiss"),
    ("Yılmaz", "yilmaz"),
    ("Patel", "patel"),
    ("van der Berg", "vanderberg"),
    ("Suzuki", "suzuki"),
    ("Brown", "brown"),
    ("Fischer", "fischer"),
    ("Hernández", "hernandez"),
];

/// A place people work: country code (lower-case, as the HR system sends
/// it), city, salary currency, and the UTC offset its timestamps carry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Place {
    pub(crate) country: &'static str,
    pub(crate) city: &'static str,
    pub(crate) currency: &'static str,
    pub(crate) offset_secs: i32,
}

pub(crate) const PLACES: &[Place] = &[
    place("de", "Berlin", "EUR", 7200),
    place("de", "München", "EUR", 3600),
    place("de", "Köln", "EUR", 7200),
    place("us", "New York", "USD", -14400),
    place("us", "San Francisco", "USD", -25200),
    place("gb", "London", "GBP", 0),
    place("jp", "Tokyo", "JPY", 32400),
    place("kw", "Kuwait City", "KWD", 10800),
    place("in", "Bengaluru", "USD", 19800),
];

const fn place(
    country: &'static str,
    city: &'static str,
    currency: &'static str,
    offset_secs: i32,
) -> Place {
    Place {
        country,
        city,
        currency,
        offset_secs,
    }
}

pub(crate) const DEPARTMENTS: &[&str] = &[
    "Finance",
    "Human Resources",
    "Engineering",
    "Sales",
    "Marketing",
    "Legal",
    "Procurement",
    "Customer Support",
    "Facilities",
    "Research & Development",
    "IT Operations",
    "Logistics",
];

pub(crate) const REGIONS: &[&str] = &["EMEA", "Americas", "APAC", "DACH", "Nordics", "Middle East"];

pub(crate) const TITLES: &[&str] = &[
    "Accountant",
    "Software Engineer",
    "Sales Representative",
    "HR Business Partner",
    "Legal Counsel",
    "Buyer",
    "Support Agent",
    "Facility Manager",
    "Data Analyst",
    "Team Lead",
    "Controller",
    "Warehouse Clerk",
];

pub(crate) const COMPANY_WORDS: &[&str] = &[
    "Müller",
    "Acme",
    "Nordlicht",
    "Sakura",
    "Atlas",
    "Blue Harbor",
    "Gulf Star",
    "Kessler",
    "Orion",
    "Fjord",
    "Helvetia",
    "Crown",
];

pub(crate) const COMPANY_KINDS: &[&str] = &[
    "Logistik GmbH",
    "Supplies Ltd",
    "Trading Co.",
    "Industrie AG",
    "Kabushiki Kaisha",
    "Services LLC",
    "Électrique SARL",
];

/// Supplier countries and their VAT prefix (`None`: no EU-style VAT number).
pub(crate) const SUPPLIER_COUNTRIES: &[(&str, Option<&str>)] = &[
    ("DE", Some("DE")),
    ("FR", Some("FR")),
    ("AT", Some("ATU")),
    ("GB", Some("GB")),
    ("US", None),
    ("JP", None),
    ("KW", None),
];

/// Invoice line items: description, unit, price range in major units.
pub(crate) const LINE_ITEMS: &[(&str, &str, u32, u32)] = &[
    ("Consulting", "h", 80, 220),
    ("Copy paper A4", "pcs", 3, 9),
    ("Coffee beans", "kg", 12, 30),
    ("Saffron", "g", 5, 15),
    ("Laptop", "pcs", 900, 2400),
    ("Cleaning service", "h", 25, 45),
    ("Steel bolts", "kg", 2, 8),
    ("Software licence", "pcs", 50, 500),
];

pub(crate) const GL_NAMES: &[&str] = &[
    "Revenue Domestic",
    "Revenue Foreign",
    "Travel Expenses",
    "Office Supplies",
    "Salaries",
    "Rent",
    "Depreciation",
    "Bank Charges",
    "Consulting Fees",
    "Software Subscriptions",
];

pub(crate) const TICKET_TITLES: &[&str] = &[
    "VPN drops every hour",
    "Printer on 3rd floor jams",
    "Password reset for payroll tool",
    "Laptop fan noisy",
    "Cannot open invoices in ERP",
    "Request: second monitor",
    "E-mail quota exceeded",
    "Wi-Fi slow in meeting room Zürich",
];

pub(crate) const ASSET_TYPES: &[&str] = &["LAPTOP", "MONITOR", "PHONE", "DOCK", "HEADSET"];

/// Public holidays: (country, date, local name).
pub(crate) const HOLIDAYS: &[(&str, &str, &str)] = &[
    ("DE", "2024-01-01", "Neujahr"),
    ("DE", "2024-03-29", "Karfreitag"),
    ("DE", "2024-04-01", "Ostermontag"),
    ("DE", "2024-05-01", "Tag der Arbeit"),
    ("DE", "2024-05-09", "Christi Himmelfahrt"),
    ("DE", "2024-05-20", "Pfingstmontag"),
    ("DE", "2024-10-03", "Tag der Deutschen Einheit"),
    ("DE", "2024-12-25", "1. Weihnachtstag"),
    ("DE", "2024-12-26", "2. Weihnachtstag"),
    ("GB", "2024-05-06", "Early May bank holiday"),
    ("GB", "2024-08-26", "Summer bank holiday"),
    ("US", "2024-07-04", "Independence Day"),
    ("US", "2024-11-28", "Thanksgiving Day"),
    ("JP", "2024-01-08", "成人の日"),
    ("JP", "2024-04-29", "昭和の日"),
    ("JP", "2024-05-03", "憲法記念日"),
    ("KW", "2024-02-25", "National Day"),
    ("KW", "2024-02-26", "Liberation Day"),
    ("FR", "2024-07-14", "Fête nationale"),
    ("FR", "2024-08-15", "Assomption"),
];

/// Picks one element of one of the (constant, non-empty) lists above.
pub(crate) fn pick<T: Copy>(rng: &mut fastrand::Rng, list: &[T]) -> T {
    list[rng.usize(..list.len())]
}
