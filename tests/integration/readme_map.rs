//! The README's "Map of the code" against the tree: every path it names exists, and every
//! source file lies under a path it names.

use std::path::{Path, PathBuf};

/// The backticked paths of the map's table rows (first column), and of their descriptions
/// where they name a file or folder inside the row's folder.
fn mapped_paths(readme: &str) -> Vec<String> {
    let map = readme
        .split("## Map of the code")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("the README has a map of the code");
    map.lines()
        .filter(|line| line.starts_with("| `"))
        .flat_map(|line| {
            let first = line.split('|').nth(1).unwrap_or("");
            first
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn the_map_matches_the_tree() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let mapped = mapped_paths(&readme);
    assert!(mapped.len() > 20, "{mapped:?}");
    for path in &mapped {
        assert!(
            root.join(path).exists(),
            "the README maps {path}, which does not exist"
        );
    }
    let mut sources = Vec::new();
    files_under(&root.join("src"), &mut sources);
    for file in sources {
        let relative = file
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let covered = mapped.iter().any(|path| {
            relative == *path || (path.ends_with('/') && relative.starts_with(path.as_str()))
        });
        assert!(covered, "{relative} is not on the README's map");
    }
}
