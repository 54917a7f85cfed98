//! The code's structure, read from the sources (docs/architecture.md): no import cycle between
//! the modules of the core crate, and no source file over 500 lines outside tests.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Longest source file allowed (test files excepted).
const MAX_LINES: usize = 500;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `.rs` file under `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())).flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn is_test_file(path: &Path) -> bool {
    let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
    name == "tests" || name.ends_with("_tests")
}

/// A file's module path in the crate (`chat/send.rs` → `["chat", "send"]`, `chat/mod.rs` →
/// `["chat"]`, `lib.rs` → `[]`).
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).unwrap_or(file).with_extension("");
    let mut parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// The code of a file without its test module and its comments.
fn code(text: &str) -> String {
    let text = text.split("\n#[cfg(test)]").next().unwrap_or_default();
    text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

fn identifier(text: &str) -> &str {
    let end = text.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(text.len());
    &text[..end]
}

/// The module paths a file names: every `crate::a::b` and `super::a` path (inside `{…}` lists
/// of a `use` too), as far as they go.
fn references(module: &[String], text: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for (anchor, base) in [("crate::", Vec::new()), ("super::", module[..module.len().saturating_sub(1)].to_vec())] {
        for (at, _) in text.match_indices(anchor) {
            let preceding = text[..at].chars().next_back();
            if preceding.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
                continue; // `self::super::…` or an identifier ending in `crate`
            }
            let mut path = base.clone();
            let mut rest = &text[at + anchor.len()..];
            loop {
                if let Some(list) = rest.strip_prefix('{') {
                    let inner = &list[..list.find('}').unwrap_or(list.len())];
                    for entry in inner.split(',') {
                        let name = identifier(entry.trim());
                        if !name.is_empty() {
                            found.push([path.clone(), vec![name.to_owned()]].concat());
                        }
                    }
                    break;
                }
                let name = identifier(rest);
                if name.is_empty() || name == "self" {
                    break;
                }
                path.push(name.to_owned());
                match rest[name.len()..].strip_prefix("::") {
                    Some(more) => rest = more,
                    None => break,
                }
            }
            found.push(path);
        }
    }
    found
}

/// The longest module among `modules` that `path` names.
fn resolve(modules: &BTreeSet<Vec<String>>, path: &[String]) -> Option<Vec<String>> {
    (1..=path.len()).rev().map(|n| path[..n].to_vec()).find(|m| modules.contains(m))
}

/// A cycle in `graph`, if any (depth-first search).
fn cycle<N: Ord + Clone>(graph: &BTreeMap<N, BTreeSet<N>>) -> Option<Vec<N>> {
    fn visit<N: Ord + Clone>(
        node: &N,
        graph: &BTreeMap<N, BTreeSet<N>>,
        state: &mut BTreeMap<N, bool>,
        stack: &mut Vec<N>,
    ) -> Option<Vec<N>> {
        match state.get(node) {
            Some(true) => return None,
            Some(false) => {
                let start = stack.iter().position(|n| n == node).unwrap_or(0);
                return Some([&stack[start..], std::slice::from_ref(node)].concat());
            }
            None => {}
        }
        state.insert(node.clone(), false);
        stack.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, state, stack) {
                return Some(found);
            }
        }
        stack.pop();
        state.insert(node.clone(), true);
        None
    }
    let mut state = BTreeMap::new();
    graph.keys().find_map(|node| visit(node, graph, &mut state, &mut Vec::new()))
}

/// The core crate's module graph: an edge from each module to every module it names, except a
/// module's references to its own submodules (declaring and re-exporting them is its face, not
/// a dependency).
fn module_graph() -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let src = root().join("shared/src");
    let files: Vec<PathBuf> = sources(&src).into_iter().filter(|f| !is_test_file(f)).collect();
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(&src, f)).collect();
    let mut graph = BTreeMap::new();
    for file in &files {
        let module = module_of(&src, file);
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let targets: BTreeSet<Vec<String>> = references(&module, &code(&text))
            .iter()
            .filter_map(|path| resolve(&modules, path))
            .filter(|target| *target != module && !target.starts_with(&module))
            .collect();
        graph.insert(module, targets);
    }
    graph
}

fn show(path: &[Vec<String>]) -> String {
    path.iter().map(|m| if m.is_empty() { "lib".to_owned() } else { m.join("::") }).collect::<Vec<_>>().join(" → ")
}

#[test]
fn no_module_of_the_core_imports_one_that_imports_it_back() {
    let graph = module_graph();
    assert!(graph.len() > 40, "the sources were read: {} modules", graph.len());
    assert_eq!(cycle(&graph).map(|c| show(&c)), None, "import cycle between files");
    // Folders as a whole too (`chat/` ↔ `outbound/` would be a cycle of layers).
    let mut folders: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (from, targets) in &graph {
        let top = from.iter().take(1).cloned().collect::<Vec<_>>();
        let entry = folders.entry(top.clone()).or_default();
        entry.extend(targets.iter().map(|t| t.iter().take(1).cloned().collect::<Vec<_>>()).filter(|t| *t != top));
    }
    assert_eq!(cycle(&folders).map(|c| show(&c)), None, "import cycle between top-level modules");
}

#[test]
fn no_source_file_is_over_500_lines_outside_tests() {
    let root = root();
    let mut long = Vec::new();
    for dir in ["shared/src", "infra/local/src", "infra/cli/src", "functions"] {
        for file in sources(&root.join(dir)).into_iter().filter(|f| !is_test_file(f)) {
            let lines = std::fs::read_to_string(&file).unwrap_or_default().lines().count();
            if lines > MAX_LINES {
                long.push(format!("{} ({lines} lines)", file.strip_prefix(&root).unwrap_or(&file).display()));
            }
        }
    }
    assert!(long.is_empty(), "split these: {long:?}");
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let m = |s: &str| vec![s.to_owned()];
    let mut graph = BTreeMap::new();
    graph.insert(m("a"), BTreeSet::from([m("b")]));
    graph.insert(m("b"), BTreeSet::from([m("c")]));
    graph.insert(m("c"), BTreeSet::from([m("a")]));
    assert_eq!(cycle(&graph).map(|c| show(&c)), Some("a → b → c → a".to_owned()));
    graph.insert(m("c"), BTreeSet::new());
    assert_eq!(cycle(&graph), None);
    let refs = references(&[m("chat"), m("send")].concat(), "use crate::store::{NewMessage, dynamo};\nuse super::*;");
    assert!(refs.contains(&vec!["store".into(), "dynamo".into()]), "{refs:?}");
    assert!(refs.contains(&vec!["chat".into()]), "{refs:?}");
}
