//! Loading source files and checking what their types cannot: names,
//! pointers, templates, zones. Every error names the file and the key.
//!
//! Any key of a source file can be overridden from the environment, as
//! `CANONFLOW_SOURCE__<FILE STEM>__<KEY>` (nested keys joined by `__`), so
//! one set of files serves every environment: e.g.
//! `CANONFLOW_SOURCE__HR__BASE_URL=http://hr.internal/api/` for `hr.toml`.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};

use super::config::{
    AuthConfig, CursorConfig, Pagination, SourceConfig, StreamConfig, WatermarkRequest,
};
use crate::cursor::{RenderFormat, TimestampFormat};

/// A source file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SourceConfigError {
    #[error("cannot read sources directory {dir}: {source}")]
    Dir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("no source files (*.toml) in {0}")]
    Empty(PathBuf),
    /// Figment's message names the key, the expectation and the file.
    #[error("invalid source file: {0}")]
    Parse(String),
    #[error("{file}: key `{key}`: {message}")]
    Invalid {
        file: PathBuf,
        key: String,
        message: String,
    },
}

/// Every `*.toml` file in `dir`, in name order.
pub fn load_dir(dir: &Path) -> Result<Vec<SourceConfig>, SourceConfigError> {
    let read_error = |source| SourceConfigError::Dir {
        dir: dir.to_owned(),
        source,
    };
    let files = canonflow_common::config::toml_files(dir).map_err(read_error)?;
    if files.is_empty() {
        return Err(SourceConfigError::Empty(dir.to_owned()));
    }
    let sources = files
        .iter()
        .map(|f| load_file(f))
        .collect::<Result<Vec<_>, _>>()?;
    for (i, source) in sources.iter().enumerate() {
        if let Some(j) = sources[..i].iter().position(|s| s.name == source.name) {
            return Err(SourceConfigError::Invalid {
                file: files[i].clone(),
                key: "name".into(),
                message: format!(
                    "source name {:?} is already used by {}",
                    source.name,
                    files[j].display()
                ),
            });
        }
    }
    Ok(sources)
}

/// One source file, parsed and checked.
pub fn load_file(file: &Path) -> Result<SourceConfig, SourceConfigError> {
    if !file.is_file() {
        return Err(SourceConfigError::Parse(format!(
            "{} does not exist",
            file.display()
        )));
    }
    let mut source: SourceConfig = Figment::from(Toml::file_exact(file))
        .merge(Env::prefixed(&env_prefix(file)).split("__"))
        .extract()
        .map_err(|e| {
            SourceConfigError::Parse(
                e.into_iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?;
    check(&mut source).map_err(|(key, message)| SourceConfigError::Invalid {
        file: file.to_owned(),
        key,
        message,
    })?;
    Ok(source)
}

/// The environment prefix of a source file's overrides.
pub fn env_prefix(file: &Path) -> String {
    let stem = file.file_stem().unwrap_or_default().to_string_lossy();
    format!(
        "CANONFLOW_SOURCE__{}__",
        stem.to_uppercase().replace('-', "_")
    )
}

type Check = Result<(), (String, String)>;

fn check(source: &mut SourceConfig) -> Check {
    check_name("name", &source.name)?;
    match source.base_url.scheme() {
        "http" | "https" => {}
        other => {
            return Err((
                "base_url".into(),
                format!("scheme must be http or https, not {other}"),
            ));
        }
    }
    // Paths are joined to the base URL; without a trailing slash the
    // base's last segment would be replaced.
    if !source.base_url.path().ends_with('/') {
        let path = format!("{}/", source.base_url.path());
        source.base_url.set_path(&path);
    }
    if let AuthConfig::Oauth2ClientCredentials { token_url, .. } = &source.auth {
        source
            .base_url
            .join(token_url)
            .map_err(|e| ("auth.token_url".to_owned(), format!("not a URL: {e}")))?;
    }
    if source.streams.is_empty() {
        return Err((
            "streams".into(),
            "a source needs at least one [[streams]] entry".into(),
        ));
    }
    if source.limits.max_concurrent_streams == 0 {
        return Err((
            "limits.max_concurrent_streams".into(),
            "must be at least 1".into(),
        ));
    }
    for (i, stream) in source.streams.iter().enumerate() {
        let key = |k: &str| format!("streams[{i}].{k}");
        check_stream(stream).map_err(|(k, m)| (key(&k), m))?;
        if source.streams[..i].iter().any(|s| s.name == stream.name) {
            return Err((
                key("name"),
                format!("stream name {:?} is used twice", stream.name),
            ));
        }
    }
    Ok(())
}

fn check_stream(stream: &StreamConfig) -> Check {
    check_name("name", &stream.name)?;
    check_pointer("records", &stream.records, true)?;
    if stream.primary_key.is_empty() {
        return Err(("primary_key".into(), "needs at least one field".into()));
    }
    if stream.page_size == 0 {
        return Err(("page_size".into(), "must be at least 1".into()));
    }
    if stream.every_seconds == Some(0) {
        return Err(("every_seconds".into(), "must be at least 1".into()));
    }
    match &stream.pagination {
        Pagination::Cursor { token, .. } => check_pointer("pagination.token", token, false)?,
        Pagination::NextUrl { next, .. } => check_pointer("pagination.next", next, false)?,
        _ => {}
    }
    if let Some(cursor) = &stream.cursor {
        check_cursor(cursor).map_err(|(k, m)| (format!("cursor.{k}"), m))?;
    }
    Ok(())
}

fn check_cursor(cursor: &CursorConfig) -> Check {
    if cursor.field().is_empty() {
        return Err(("field".into(), "must name a field".into()));
    }
    if let WatermarkRequest::Filter { template, .. } = cursor.request()
        && !template.contains("{watermark}")
    {
        {
            return Err((
                "request.template".into(),
                format!("{template:?} must contain {{watermark}} where the watermark goes"),
            ));
        }
    }
    if let CursorConfig::Timestamp {
        format,
        zone,
        render,
        ..
    } = cursor
    {
        let naive = *format == TimestampFormat::Naive || *render == Some(RenderFormat::Naive);
        if naive && zone.is_none() {
            return Err((
                "zone".into(),
                "naive timestamps need a zone, e.g. \"Europe/Berlin\"".into(),
            ));
        }
    }
    Ok(())
}

fn check_name(key: &str, name: &str) -> Check {
    let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(())
    } else {
        Err((key.into(), format!("{name:?} must match [a-z][a-z0-9_]*")))
    }
}

fn check_pointer(key: &str, pointer: &str, may_be_empty: bool) -> Check {
    if (pointer.is_empty() && may_be_empty) || pointer.starts_with('/') {
        Ok(())
    } else {
        Err((
            key.into(),
            format!("{pointer:?} is not a JSON pointer (it starts with '/', e.g. \"/data\")"),
        ))
    }
}

#[cfg(test)]
#[allow(
    clippy::result_large_err,
    reason = "figment's Jail closures return its large error"
)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_overrides_a_source_file() {
        figment::Jail::expect_with(|jail| {
            let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/sources/hr.toml");
            jail.create_file("hr.toml", &std::fs::read_to_string(root).unwrap())?;
            jail.set_env(
                "CANONFLOW_SOURCE__HR__BASE_URL",
                "http://demo-source:18080/hr",
            );
            jail.set_env("DEMO_HR_CLIENT_SECRET", "s");
            let source = load_file(Path::new("hr.toml")).unwrap();
            assert_eq!(source.base_url.as_str(), "http://demo-source:18080/hr/");
            jail.set_env("CANONFLOW_SOURCE__HR__NO_SUCH_KEY", "1");
            let err = load_file(Path::new("hr.toml")).unwrap_err().to_string();
            assert!(err.contains("no_such_key"), "{err}");
            Ok(())
        });
    }

    /// Every check of a source file: an edit of the shipped `finance.toml`
    /// (OData, a filter template, cursor streams), and the key the error
    /// must name.
    #[test]
    fn broken_source_files_are_refused_naming_file_and_key() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/sources/finance.toml");
        let good = std::fs::read_to_string(root).unwrap();
        let cases: [(&str, &str, &str); 10] = [
            ("name = \"finance\"", "name = \"Finance\"", "name"),
            ("base_url = \"http://", "base_url = \"ftp://", "base_url"),
            (
                "records = \"/value\"",
                "records = \"value\"",
                "streams[0].records",
            ),
            (
                "template = \"modifiedAt gt {watermark}\"",
                "template = \"modifiedAt gt now\"",
                "request.template",
            ),
            (
                "name = \"suppliers\"",
                "name = \"cost_centers\"",
                "streams[1].name",
            ),
            ("format = \"rfc3339\"", "format = \"naive\"", "cursor.zone"),
            (
                "primary_key = [\"CostCenterID\"]",
                "primary_key = []",
                "primary_key",
            ),
            ("[[streams]]\n", "[[streams]]\npage_size = 0\n", "page_size"),
            (
                "[[streams]]\n",
                "[[streams]]\nevery_seconds = 0\n",
                "every_seconds",
            ),
            (
                "[[streams]]\n",
                "[[streams]]\nno_such_key = 1\n",
                "no_such_key",
            ),
        ];
        for (from, to, key) in cases {
            assert!(good.contains(from), "finance.toml has no {from:?}");
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("finance.toml");
            std::fs::write(&file, good.replacen(from, to, 1)).unwrap();
            let error = load_file(&file).unwrap_err().to_string();
            assert!(
                error.contains(key) && error.contains("finance.toml"),
                "{to:?}: {error}"
            );
        }
    }
}
