//! Broken mapping files are refused when the mappings are loaded (so the
//! transformer stops at start), each error naming the file, the mapping and
//! the key to fix.
#![allow(clippy::unwrap_used, reason = "tests")]

use std::path::Path;

use canonflow_transformer::mapping::Mappings;

fn shipped_hr() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/mappings/hr.toml");
    std::fs::read_to_string(root).unwrap()
}

/// Loads a directory holding `files` (name, text).
fn load(files: &[(&str, &str)]) -> Result<Mappings, String> {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    Mappings::load(dir.path(), 1 << 20).map_err(|e| e.to_string())
}

#[test]
fn broken_mapping_files_are_refused_naming_file_mapping_and_key() {
    let good = shipped_hr();
    assert!(load(&[("hr.toml", &good)]).is_ok());
    let cases: [(&str, &str, &str); 6] = [
        ("entity = \"worker\"", "entity = \"workr\"", "entity"),
        ("version = 1\n", "version = 0\n", "version"),
        (
            "first_name = \"/firstName\"",
            "first_name = \"firstName\"",
            "first_name",
        ),
        ("first_name = \"/firstName\"\n", "", "first_name"),
        (
            "fte = \"/fte\"",
            "fte = \"/fte\"\nnickname = \"/nick\"",
            "nickname",
        ),
        (
            "stream = \"workers\"",
            "stream = \"workers\"\nsurprise = true",
            "surprise",
        ),
    ];
    for (from, to, key) in cases {
        assert!(good.contains(from), "hr.toml has no {from:?}");
        let error = load(&[("hr.toml", &good.replacen(from, to, 1))]).unwrap_err();
        assert!(
            error.contains(key) && error.contains("hr.toml"),
            "{to:?}: {error}"
        );
    }
}

#[test]
fn a_stream_mapped_twice_is_refused_naming_both_files() {
    let good = shipped_hr();
    let error = load(&[("a.toml", &good), ("b.toml", &good)]).unwrap_err();
    assert!(
        error.contains("hr/workers")
            && error.contains("already mapped")
            && error.contains("a.toml"),
        "{error}"
    );
}
