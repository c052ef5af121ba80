//! Redial policies: the `redial` of a schedule request, and of a call as shown.

use call_core::{Call, Redial, ValidationError, show_duration};
use serde::{Deserialize, Serialize};

/// When a placed call is dialled again: on which outcomes, how many
/// attempts at most (the first dial counts), and how long after each
/// attempt ends. Each attempt is a call of its own, linked to the one
/// before by `redial_of`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "on": ["busy", "no_answer"], "max_attempts": 3, "delay": "10m"
})))]
pub struct RedialJson {
    /// The outcomes dialled again: `busy`, `no_answer`, `failed` (by the provider).
    pub on: Vec<String>,
    /// The most attempts, the first dial included: 1 to 20.
    pub max_attempts: u32,
    /// How long after an attempt ends the next is due: `90s`, `10m`, `2h`, `1d`.
    pub delay: String,
}

impl RedialJson {
    /// Checks every part and builds the core policy.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] on `redial.on`, `redial.max_attempts` or `redial.delay`.
    pub fn to_redial(&self) -> Result<Redial, ValidationError> {
        Redial::parse(self.on.iter().map(String::as_str), self.max_attempts, &self.delay)
    }
}

impl From<&Redial> for RedialJson {
    fn from(redial: &Redial) -> RedialJson {
        RedialJson {
            on: redial.on().iter().map(ToString::to_string).collect(),
            max_attempts: redial.max_attempts(),
            delay: show_duration(redial.delay()),
        }
    }
}

/// The attempts at a number that redials link, first to last, and the
/// final outcome once the last has ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttemptsJson {
    /// Every attempt, first to last: one call when it was never redialled.
    pub attempts: Vec<crate::CallJson>,
    /// The last attempt's status once it has ended (`completed`, `busy`,
    /// `no_answer`, `failed`, `canceled`…): the outcome of them all. Null
    /// while an attempt is still to be placed or under way.
    pub outcome: Option<String>,
}

impl AttemptsJson {
    /// The attempts `calls` (first to last) as shown.
    pub fn new(calls: &[Call]) -> AttemptsJson {
        let outcome = calls
            .last()
            .filter(|last| last.status().is_terminal())
            .map(|last| last.status().to_string());
        AttemptsJson { attempts: calls.iter().map(crate::CallJson::from).collect(), outcome }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_reads_and_shows_the_same() {
        let json = RedialJson {
            on: vec!["busy".into(), "no_answer".into()],
            max_attempts: 3,
            delay: "10m".into(),
        };
        assert_eq!(RedialJson::from(&json.to_redial().unwrap()), json);
        let bad = RedialJson { delay: "soon".into(), ..json };
        assert_eq!(bad.to_redial().unwrap_err().field(), "redial.delay");
    }
}
