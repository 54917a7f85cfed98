//! The permissions check of the test command: every AWS call each function made during the
//! end-to-end suite must be allowed by its role in `template.yaml`, and every grant must be used
//! (see `lobbybee_e2e::permissions`). `permissions [TEMPLATE]`, after the suite has run.

use lobbybee_e2e::permissions::{Template, calls_dir, check, load_all};

fn main() {
    let path =
        std::env::args().nth(1).unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml").into());
    let template = std::fs::read_to_string(&path)
        .map_err(|e| e.to_string())
        .and_then(|text| Template::parse(&text))
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    let calls = load_all();
    if calls.is_empty() {
        eprintln!("permissions: no recorded calls in {} (run the end-to-end suite first)", calls_dir().display());
        std::process::exit(1);
    }
    let report = check(&template, &calls);
    for failure in &report.failures {
        println!("FAIL  {failure}");
    }
    let functions = calls.iter().map(|c| c.function.as_str()).collect::<std::collections::BTreeSet<_>>();
    println!("{} distinct calls of {} functions checked against {path}", calls.len(), functions.len());
    println!("permissions: {} passed, {} failed", report.passed, report.failures.len());
    std::process::exit(i32::from(!report.failures.is_empty()));
}
