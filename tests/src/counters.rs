//! The AWS calls the functions made (counted by `lobbybee::calls`), per unit of work: per guest
//! message, per staff message, per list call. Printed by the `bench` and `load` binaries.

use std::fmt;

use lobbybee::calls::{Counts, Tally};

/// DynamoDB operations that read; every other DynamoDB operation writes.
const READS: &[&str] =
    &["dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:BatchGetItem", "dynamodb:TransactGetItems"];

/// Calls per unit of work, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PerUnit {
    /// DynamoDB read requests.
    pub reads: f64,
    /// DynamoDB write requests (a transaction is one).
    pub writes: f64,
    /// Items those writes carried (a transaction's items).
    pub write_items: f64,
    /// Read capacity units reported.
    pub rcu: f64,
    /// Write capacity units reported.
    pub wcu: f64,
    /// SQS requests.
    pub sqs: f64,
    /// Management API requests (a push, a close or a lookup of one socket each).
    pub pushes: f64,
    /// S3 requests (presigned URLs included: they are signed, and fetched by the client).
    pub s3: f64,
}

impl PerUnit {
    /// `counts` divided by `units` (none when `units` is zero).
    pub fn of(counts: &Counts, units: u64) -> PerUnit {
        let n = units.max(1) as f64;
        let mut out = PerUnit::default();
        for (operation, tally) in counts.by_operation() {
            let requests = tally.requests as f64 / n;
            if READS.contains(&operation.as_str()) {
                out.reads += requests;
                out.rcu += tally.read_units / n;
            } else if operation.starts_with("dynamodb:") {
                out.writes += requests;
                out.write_items += tally.items as f64 / n;
                out.wcu += tally.write_units / n;
            } else if operation.starts_with("sqs:") {
                out.sqs += requests;
            } else if operation.starts_with("execute-api:") {
                out.pushes += requests;
            } else if operation.starts_with("s3:") {
                out.s3 += requests;
            }
        }
        out
    }
}

impl fmt::Display for PerUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let capacity = |requests: f64, units: f64, name: &str| {
            if units > 0.0 || requests == 0.0 { format!("{units:.2} {name}") } else { format!("{name} not reported") }
        };
        write!(
            f,
            "DynamoDB {:.2} reads ({}) + {:.2} writes of {:.2} items ({}); SQS {:.2}; Management API {:.2}; S3 {:.2}",
            self.reads,
            capacity(self.reads, self.rcu, "RCU"),
            self.writes,
            self.write_items,
            capacity(self.writes, self.wcu, "WCU"),
            self.sqs,
            self.pushes,
            self.s3
        )
    }
}

/// Prints `title`, every function's requests per operation divided by `units`, and the sum.
pub fn print(title: &str, counts: &Counts, units: u64) {
    let n = units.max(1) as f64;
    println!("{title} (per unit, over {units}):");
    for (function, operations) in &counts.0 {
        for (operation, tally) in operations {
            println!("  {function:<16} {operation:<32} {}", per(tally, n));
        }
    }
    println!("  = {}", PerUnit::of(counts, units));
}

fn per(tally: &Tally, n: f64) -> String {
    let mut line = format!("{:>7.2} requests", tally.requests as f64 / n);
    if tally.items != tally.requests {
        line.push_str(&format!(" of {:.2} items", tally.items as f64 / n));
    }
    if tally.read_units > 0.0 {
        line.push_str(&format!(", {:.2} RCU", tally.read_units / n));
    }
    if tally.write_units > 0.0 {
        line.push_str(&format!(", {:.2} WCU", tally.write_units / n));
    }
    line
}
