//! Aiming canonflow source files (e.g. `config/sources/*.toml`) at one demo
//! source instance: its base URL instead of the default port, and its
//! credentials as secret files instead of `DEMO_*` environment variables.
//! For tests and benchmarks that start a demo source of their own.

use std::path::{Path, PathBuf};

use crate::{DemoConfig, DemoSource};

/// The address the shipped source files expect the demo source at.
const DEFAULT_BASE_URL: &str = "http://127.0.0.1:18080";

impl DemoSource {
    /// Copies every `*.toml` in `shipped` to `<dir>/sources/`, aimed at this
    /// instance; secrets are written to files in `dir`. `edit` may change a
    /// file's text (by file name); an empty result leaves the file out.
    /// Returns the new sources directory.
    pub fn write_source_files(
        &self,
        config: &DemoConfig,
        shipped: &Path,
        dir: &Path,
        edit: impl Fn(&str, String) -> String,
    ) -> std::io::Result<PathBuf> {
        let secrets = [
            ("DEMO_HR_CLIENT_SECRET", &config.hr_client_secret),
            ("DEMO_FINANCE_PASSWORD", &config.finance_password),
            ("DEMO_OPS_API_KEY", &config.ops_api_key),
            ("DEMO_ASSETS_TOKEN", &config.assets_bearer_token),
        ];
        for (var, value) in secrets {
            std::fs::write(dir.join(var), value)?;
        }
        let out = dir.join("sources");
        std::fs::create_dir_all(&out)?;
        for entry in std::fs::read_dir(shipped)? {
            let path = entry?.path();
            if path.extension().is_none_or(|e| e != "toml") {
                continue;
            }
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let mut text =
                std::fs::read_to_string(&path)?.replace(DEFAULT_BASE_URL, &self.base_url());
            for (var, _) in secrets {
                let file = dir.join(var);
                text = text.replace(
                    &format!("{{ env = \"{var}\" }}"),
                    &format!("{{ file = {file:?} }}"),
                );
            }
            let text = edit(&name, text);
            if !text.is_empty() {
                std::fs::write(out.join(&name), text)?;
            }
        }
        Ok(out)
    }
}
