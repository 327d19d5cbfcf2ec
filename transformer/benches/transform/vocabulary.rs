//! Names, places and goods the generated records are made of (mixed
//! scripts and diacritics, several currencies and UTC offsets), and the
//! ways sources write them sloppily.

use fastrand::Rng;

#[derive(Debug, Clone, Copy)]
pub struct Place {
    pub country: &'static str,
    pub city: &'static str,
    pub currency: &'static str,
    pub offset_secs: i32,
    pub dial: u32,
}

const fn place(
    country: &'static str,
    city: &'static str,
    currency: &'static str,
    offset_secs: i32,
    dial: u32,
) -> Place {
    Place {
        country,
        city,
        currency,
        offset_secs,
        dial,
    }
}

pub const PLACES: &[Place] = &[
    place("DE", "Berlin", "EUR", 7200, 49),
    place("FR", "Lyon", "EUR", 7200, 33),
    place("JP", "Tokyo", "JPY", 32_400, 81),
    place("US", "New York", "USD", -14_400, 1),
    place("GB", "London", "GBP", 3600, 44),
    place("SE", "Göteborg", "SEK", 7200, 46),
    place("KW", "Kuwait City", "KWD", 10_800, 965),
    place("IN", "Pune", "INR", 19_800, 91),
];

pub const FIRST_NAMES: &[(&str, &str)] = &[
    ("Anna", "anna"),
    ("Jürgen", "juergen"),
    ("Zoë", "zoe"),
    ("Haruto", "haruto"),
    ("Mei", "mei"),
    ("Lars", "lars"),
    ("Sofía", "sofia"),
    ("Amir", "amir"),
    ("Chloé", "chloe"),
    ("Priya", "priya"),
    ("Mateo", "mateo"),
    ("Åsa", "asa"),
];

pub const LAST_NAMES: &[(&str, &str)] = &[
    ("von Schmidt", "schmidt"),
    ("Sato", "sato"),
    ("Nguyen", "nguyen"),
    ("O'Brien", "obrien"),
    ("Müller", "mueller"),
    ("García López", "garcia"),
    ("Lindqvist", "lindqvist"),
    ("Okafor", "okafor"),
    ("Rossi", "rossi"),
    ("Kowalski", "kowalski"),
];

pub const TITLES: &[&str] = &[
    "Software Engineer",
    "Accountant",
    "Sales Manager",
    "HR Business Partner",
    "Warehouse Operative",
    "Controller",
    "Data Analyst",
    "Field Technician",
];

pub const DEPARTMENTS: &[&str] = &[
    "Sales",
    "Finance",
    "Engineering",
    "Operations",
    "Logistics",
    "Marketing",
    "Legal",
];

pub const SUPPLIER_WORDS: &[&str] = &[
    "Nordic",
    "Atlas",
    "Blue River",
    "Kestrel",
    "Sunrise",
    "Iron Bay",
];

pub const SUPPLIER_FORMS: &[&str] = &[
    "Timber AB",
    "GmbH",
    "Logistics Ltd",
    "Consulting SAS",
    "K.K.",
    "Supplies Inc.",
];

pub const ITEMS: &[(&str, &str)] = &[
    ("Consulting", "h"),
    ("Saffron", "g"),
    ("Steel beams", "t"),
    ("Printer paper", "pcs"),
    ("Cable", "m"),
    ("Diesel", "l"),
    ("Laptops", "each"),
    ("Workshop", "days"),
];

/// Stray spaces, as HR exports have them.
pub fn sloppy(rng: &mut Rng, text: &str) -> String {
    match rng.u8(..4) {
        0 => format!("  {text} "),
        1 => text.replace(' ', "   "),
        _ => text.to_owned(),
    }
}

/// A code, now and then lower-cased.
pub fn cased(rng: &mut Rng, code: &str) -> String {
    match rng.u8(..4) {
        0 => code.to_lowercase(),
        _ => code.to_owned(),
    }
}

/// One of `items`, at random.
pub fn pick<T: Copy>(rng: &mut Rng, items: &[T]) -> T {
    items[rng.usize(..items.len())]
}
