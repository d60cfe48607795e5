//! The layering of the core, checked: which folder of `src/` may import which.
//!
//! Rust stops a crate from importing the addon, and Cargo.toml keeps napi out
//! of this crate; inside it, modules could import each other freely. This test
//! reads every `use crate::…` (and every `crate::x::` path) of `src/` and
//! fails on an import the table below does not allow, so the picture in
//! ARCHITECTURE.md stays true. A new folder must be added to the table.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each folder of `src/` and the folders it may import. Lower rows never
/// import higher ones, so there is no cycle.
const ALLOWED: &[(&str, &[&str])] = &[
    ("support", &[]),
    ("kernel", &[]),
    ("engine", &["kernel"]),
    ("auth", &["kernel", "support"]),
    ("http", &["kernel", "support"]),
    ("coord", &["kernel", "support"]),
    ("plugins", &["kernel", "support", "auth"]),
    ("hub", &["kernel", "support", "auth", "http"]),
    ("gateway", &["kernel", "support", "http"]),
    ("jsvm", &["kernel", "support", "auth", "http", "hub"]),
    (
        "app",
        &[
            "kernel", "support", "engine", "auth", "http", "coord", "plugins", "hub", "gateway",
            "jsvm",
        ],
    ),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module names a `crate::{…}` group or a `crate::x` path names.
fn imported_modules(source: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find("crate::") {
        // `nebula_core::` or `$crate::` are not this crate's own paths.
        let before = rest[..at].chars().last();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        found.push(std::mem::take(&mut item));
                        continue;
                    }
                    _ => {}
                }
                if depth == 0 {
                    item.push(c);
                }
            }
            found.push(item);
        } else {
            found.push(rest.to_owned());
        }
    }
    found
        .iter()
        .map(|s| {
            s.trim_start()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .filter(|m| !m.is_empty() && m != "self")
        .collect()
}

#[test]
fn every_import_between_folders_is_allowed() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let allowed: BTreeMap<&str, BTreeSet<&str>> = ALLOWED
        .iter()
        .map(|(m, deps)| (*m, deps.iter().copied().collect()))
        .collect();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut wrong = Vec::new();
    for file in files {
        let rel = file.strip_prefix(&src).expect("under src/");
        let Some(top) = rel.components().next().and_then(|c| c.as_os_str().to_str()) else {
            continue;
        };
        let top = top.trim_end_matches(".rs");
        if top == "lib" {
            continue;
        }
        let Some(may) = allowed.get(top) else {
            wrong.push(format!(
                "src/{top} is not in the table of tests/layers.rs: add it with what it may import"
            ));
            continue;
        };
        let source = std::fs::read_to_string(&file).expect("a readable source file");
        for module in imported_modules(&source) {
            if module != top && !may.contains(module.as_str()) {
                wrong.push(format!(
                    "{} imports crate::{module}, which {top} may not import",
                    rel.display()
                ));
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(
        wrong.is_empty(),
        "layering broken (see ARCHITECTURE.md):\n  {}",
        wrong.join("\n  ")
    );
}

#[test]
fn the_table_has_no_cycle_and_names_real_folders() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for (i, (module, deps)) in ALLOWED.iter().enumerate() {
        let folder = src.join(module);
        assert!(
            folder.is_dir() || *module == "app",
            "tests/layers.rs names src/{module}, which does not exist"
        );
        for dep in *deps {
            let at = ALLOWED.iter().position(|(m, _)| m == dep);
            assert!(
                at.is_some_and(|j| j < i),
                "{module} may import {dep}, which is not listed above it"
            );
        }
    }
}

#[test]
fn the_core_has_no_napi_dependency() {
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
            .expect("Cargo.toml is readable");
    let napi = manifest
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with("napi"))
        .collect::<Vec<_>>();
    assert!(
        napi.is_empty(),
        "nebula-core must not depend on napi: {napi:?}"
    );
}

#[test]
fn the_import_reader_sees_groups_and_paths() {
    let source = "use crate::{kernel::Reply, support::{ids, cron}};\nlet x = crate::http::JSON_TYPE;\nuse nebula_core::hub;\nmacro $crate::jsvm";
    assert_eq!(imported_modules(source), ["kernel", "support", "http"]);
}
