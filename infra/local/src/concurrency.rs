//! Lambda's concurrency limits, as the local gateway applies them to the invocations it makes.
//!
//! On AWS, a function with reserved concurrency never runs more than that many invocations at
//! once, and one without shares what the reservations leave of the account's regional quota
//! (1,000 by default). An invocation over the limit is refused before the function runs: a
//! Function URL answers `429`, an HTTP API answers `500` (it does not retry). The gateway reads
//! the reservations from `template.yaml` ([`reservations`], with the parameters' defaults) and
//! holds one slot per invocation ([`Limiter`]) for as long as the handler runs.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_yaml::Value;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Lambda's default regional quota of concurrent executions.
pub const ACCOUNT_QUOTA: u32 = 1000;

/// How many invocations of each function may run at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConcurrencyLimits {
    /// Reserved concurrency by function (crate name, e.g. `guest-webhook`); 0 refuses every
    /// invocation, as on AWS.
    pub reserved: BTreeMap<String, u32>,
    /// The account's quota, which the functions without a reservation share once the
    /// reservations are taken from it; `None`: those functions are never limited.
    pub account: Option<u32>,
}

impl ConcurrencyLimits {
    /// No limit at all (the default: a gateway started for tests).
    pub fn unlimited() -> Self {
        ConcurrencyLimits::default()
    }

    /// The template's reservations within the default account quota, as a deployed stack has them.
    pub fn like_aws(reserved: &BTreeMap<String, u32>) -> Self {
        ConcurrencyLimits { reserved: reserved.clone(), account: Some(ACCOUNT_QUOTA) }
    }

    /// What the functions without a reservation share, if anything limits them.
    pub fn unreserved(&self) -> Option<u32> {
        let reserved: u32 = self.reserved.values().sum();
        self.account.map(|account| account.saturating_sub(reserved))
    }
}

/// Hands out invocation slots under [`ConcurrencyLimits`].
#[derive(Debug)]
pub struct Limiter {
    reserved: HashMap<String, Arc<Semaphore>>,
    unreserved: Option<Arc<Semaphore>>,
}

/// One running invocation; its slot is given back when dropped.
#[derive(Debug)]
pub struct Slot {
    _permit: Option<OwnedSemaphorePermit>,
}

impl Limiter {
    /// A limiter with nothing running.
    pub fn new(limits: &ConcurrencyLimits) -> Self {
        let semaphore = |n: u32| Arc::new(Semaphore::new(n as usize));
        Limiter {
            reserved: limits.reserved.iter().map(|(f, n)| (f.clone(), semaphore(*n))).collect(),
            unreserved: limits.unreserved().map(semaphore),
        }
    }

    /// A slot for one invocation of `function` (crate name), or `None` when the function is at its
    /// limit: Lambda throttles the invocation and the function does not run.
    pub fn try_start(&self, function: &str) -> Option<Slot> {
        let semaphore = match self.reserved.get(function) {
            Some(reserved) => reserved,
            None => match &self.unreserved {
                Some(shared) => shared,
                None => return Some(Slot { _permit: None }),
            },
        };
        semaphore.clone().try_acquire_owned().ok().map(|permit| Slot { _permit: Some(permit) })
    }
}

/// The reserved concurrency of every function of a SAM template (`AWS::Serverless::Function`),
/// by the crate name its `Metadata.BuildProperties.Binary` gives, resolved with the parameters'
/// defaults. Functions without a reservation (the property absent, or `!Ref AWS::NoValue`) are
/// not listed. Understands the forms a template writes it in: a number, `!Ref Parameter`, and
/// `!If [Condition, a, b]` over conditions of `!Equals`, `!Not`, `!And`, `!Or` and `!Condition`.
pub fn reservations(template: &Value) -> BTreeMap<String, u32> {
    let Some(resources) = template.get("Resources").and_then(Value::as_mapping) else {
        return BTreeMap::new();
    };
    resources
        .values()
        .filter(|r| r.get("Type").and_then(Value::as_str) == Some("AWS::Serverless::Function"))
        .filter_map(|r| {
            let binary = r.get("Metadata")?.get("BuildProperties")?.get("Binary")?.as_str()?;
            let value = r.get("Properties")?.get("ReservedConcurrentExecutions")?;
            match resolve(template, value)? {
                Resolved::Number(n) => Some((binary.to_owned(), u32::try_from(n).ok()?)),
                _ => None,
            }
        })
        .collect()
}

/// An intrinsic's value.
#[derive(Debug, Clone, PartialEq)]
enum Resolved {
    Number(i64),
    Text(String),
    Bool(bool),
    /// `AWS::NoValue`: the property is left out.
    NoValue,
}

impl Resolved {
    /// As CloudFormation compares values in `Fn::Equals` (parameters are strings).
    fn text(&self) -> String {
        match self {
            Resolved::Number(n) => n.to_string(),
            Resolved::Text(s) => s.clone(),
            Resolved::Bool(b) => b.to_string(),
            Resolved::NoValue => String::new(),
        }
    }
}

/// The value of `value`, `None` for what is not understood.
fn resolve(template: &Value, value: &Value) -> Option<Resolved> {
    match value {
        Value::Number(n) => n.as_i64().map(Resolved::Number),
        Value::String(s) => Some(s.parse().map_or_else(|_| Resolved::Text(s.clone()), Resolved::Number)),
        Value::Bool(b) => Some(Resolved::Bool(*b)),
        Value::Tagged(tagged) => intrinsic(template, tagged.tag.to_string().trim_start_matches('!'), &tagged.value),
        Value::Mapping(map) if map.len() == 1 => {
            let (key, argument) = map.iter().next()?;
            let name = key.as_str()?;
            intrinsic(template, name.strip_prefix("Fn::").unwrap_or(name), argument)
        }
        _ => None,
    }
}

fn intrinsic(template: &Value, name: &str, argument: &Value) -> Option<Resolved> {
    let list = || argument.as_sequence().map(Vec::as_slice).unwrap_or_default();
    match name {
        "Ref" => {
            let parameter = argument.as_str()?;
            if parameter == "AWS::NoValue" {
                return Some(Resolved::NoValue);
            }
            resolve(template, template.get("Parameters")?.get(parameter)?.get("Default")?)
        }
        "If" => match list() {
            [condition, yes, no] => {
                let chosen = if condition_holds(template, condition.as_str()?)? { yes } else { no };
                resolve(template, chosen)
            }
            _ => None,
        },
        "Equals" => match list() {
            [a, b] => Some(Resolved::Bool(resolve(template, a)?.text() == resolve(template, b)?.text())),
            _ => None,
        },
        "Not" => match list() {
            [inner] => Some(Resolved::Bool(!truth(template, inner)?)),
            _ => None,
        },
        "And" => list()
            .iter()
            .map(|c| truth(template, c))
            .collect::<Option<Vec<_>>>()
            .map(|v| Resolved::Bool(v.iter().all(|b| *b))),
        "Or" => list()
            .iter()
            .map(|c| truth(template, c))
            .collect::<Option<Vec<_>>>()
            .map(|v| Resolved::Bool(v.iter().any(|b| *b))),
        "Condition" => condition_holds(template, argument.as_str()?).map(Resolved::Bool),
        _ => None,
    }
}

/// A condition expression's truth.
fn truth(template: &Value, value: &Value) -> Option<bool> {
    match resolve(template, value)? {
        Resolved::Bool(b) => Some(b),
        _ => None,
    }
}

/// Whether the template's condition `name` holds.
fn condition_holds(template: &Value, name: &str) -> Option<bool> {
    truth(template, template.get("Conditions")?.get(name)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(text: &str) -> Value {
        serde_yaml::from_str(text).expect("yaml")
    }

    const SMALL: &str = "
Parameters:
  HookConcurrency: { Type: Number, Default: 3 }
  OffConcurrency: { Type: Number, Default: 0 }
Conditions:
  ReservesHook: !Not [!Equals [!Ref HookConcurrency, 0]]
  ReservesOff: !Not [!Equals [!Ref OffConcurrency, 0]]
  Both: !And [!Condition ReservesHook, { Condition: ReservesOff }]
Resources:
  Hook:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: hook } }
    Properties:
      ReservedConcurrentExecutions: !If [ReservesHook, !Ref HookConcurrency, !Ref AWS::NoValue]
  Off:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: off } }
    Properties:
      ReservedConcurrentExecutions: !If [ReservesOff, !Ref OffConcurrency, !Ref AWS::NoValue]
  Literal:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: literal } }
    Properties: { ReservedConcurrentExecutions: 0 }
  LongForm:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: long } }
    Properties:
      ReservedConcurrentExecutions: { 'Fn::If': [Both, 7, { Ref: HookConcurrency }] }
  Free:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: free } }
    Properties: {}
";

    #[test]
    fn reservations_resolve_parameters_and_conditions_as_cloudformation_does() {
        let found = reservations(&template(SMALL));
        let expected: BTreeMap<String, u32> =
            [("hook", 3), ("literal", 0), ("long", 3)].into_iter().map(|(f, n)| (f.to_owned(), n)).collect();
        assert_eq!(found, expected);
    }

    #[test]
    fn the_templates_reservations_are_read_with_their_defaults() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
        let doc = template(&std::fs::read_to_string(path).expect("template.yaml"));
        let found = reservations(&doc);
        // Every function the gateway invokes synchronously has one; the SQS consumers are capped
        // by their event sources instead.
        for function in ["guest-webhook", "rest-api", "ws-connect", "ws-default", "ws-disconnect"] {
            assert!(found.get(function).is_some_and(|n| *n > 0), "{function}: {found:?}");
        }
        assert!(!found.contains_key("outbound-sender") && !found.contains_key("push-retry"), "{found:?}");
    }

    #[test]
    fn a_function_at_its_reservation_is_refused_until_a_slot_is_given_back() {
        let limits = ConcurrencyLimits {
            reserved: [("hook".to_owned(), 2), ("off".to_owned(), 0)].into_iter().collect(),
            account: Some(5),
        };
        assert_eq!(limits.unreserved(), Some(3));
        let limiter = Limiter::new(&limits);
        let first = limiter.try_start("hook").expect("first");
        let _second = limiter.try_start("hook").expect("second");
        assert!(limiter.try_start("hook").is_none(), "a third is throttled");
        assert!(limiter.try_start("off").is_none(), "a reservation of 0 refuses everything");
        drop(first);
        assert!(limiter.try_start("hook").is_some(), "a slot came back");

        // The others share what is left of the account's quota.
        let shared: Vec<_> = ["a", "b", "a"].iter().map(|f| limiter.try_start(f).expect("shared")).collect();
        assert!(limiter.try_start("c").is_none(), "the unreserved pool is shared");
        drop(shared);

        let unlimited = Limiter::new(&ConcurrencyLimits::unlimited());
        let many: Vec<_> = (0..100).filter_map(|_| unlimited.try_start("hook")).collect();
        assert_eq!(many.len(), 100);
    }
}
