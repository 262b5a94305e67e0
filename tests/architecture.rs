//! House rules a test can enforce: `src/` (the functional core) never depends on `actors/` or on
//! ractor; only lib.rs (which mounts actors/) and main.rs (which starts them) may.

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn src_never_depends_on_actors_or_ractor() {
    let mut files = Vec::new();
    rust_files(Path::new("src"), &mut files);
    assert!(files.len() > 10, "found the sources");
    let mut offenders = Vec::new();
    for f in files {
        if f == Path::new("src/lib.rs") || f == Path::new("src/main.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        if text.contains("crate::actors") || text.contains("use ractor") || text.contains("ractor::") {
            offenders.push(f.display().to_string());
        }
    }
    assert!(offenders.is_empty(), "src/ files reaching into actors/ or ractor: {offenders:?}");
}
