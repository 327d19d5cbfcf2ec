//! Sources and their streams, as declared in configuration files.

mod config;
mod load;

pub use config::{
    ApiKeyLocation, AuthConfig, CursorConfig, Limits, Pagination, SourceConfig, StreamConfig,
    WatermarkRequest,
};
pub use load::{SourceConfigError, load_dir, load_file};

/// Parses one `[[streams]]` table, for tests.
#[cfg(test)]
pub fn stream_from_toml(text: &str) -> StreamConfig {
    use figment::providers::{Format, Toml};
    figment::Figment::from(Toml::string(text))
        .extract()
        .unwrap()
}
