//! Lint of the webhook steps (`sink`, `webhook`): a `webhook` step names a
//! sink opened by an earlier `sink` step, and a scenario with a sink
//! declares `requires: [webhook_loopback]` (a target without the feature
//! skips it, with the reason).

use std::collections::BTreeSet;

use super::Scenario;
use super::Step;
use super::diagnostics::did_you_mean;

/// What is wrong with `st`'s webhook parts, if anything. `sinks` holds the
/// sinks opened by this step and the ones before it.
pub(super) fn check(s: &Scenario, st: &Step, sinks: &BTreeSet<String>) -> Option<String> {
    if st.sink.is_some() && !s.requires.iter().any(|r| r == "webhook_loopback") {
        return Some(
            "a `sink` step needs the target to let a loopback webhook URL through: add `webhook_loopback` to `requires`"
                .into(),
        );
    }
    let w = st.webhook.as_ref()?;
    if sinks.contains(&w.sink) {
        return None;
    }
    let hint = did_you_mean(&w.sink, sinks.iter())
        .map(|m| format!(" (did you mean `{m}`?)"))
        .unwrap_or_default();
    Some(format!(
        "sink `{}` is not opened by an earlier `sink` step{hint}",
        w.sink
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::loader::{parse_scenario, parse_scenario_all};

    const HEAD: &str = "id: t.hooks\ntitle: t\ndoc: [docs/api#webhook-signatures]\nrule: r\nlevel: must\n";

    fn problems(requires: &str, steps: &str) -> Vec<String> {
        let text = format!("{HEAD}requires: [{requires}]\nsteps:\n{steps}");
        let s = parse_scenario(&text, "t.yaml").unwrap();
        let mut sinks = BTreeSet::new();
        let mut out = Vec::new();
        for st in &s.steps {
            if let Some(k) = &st.sink {
                sinks.insert(k.name.clone());
            }
            out.extend(check(&s, st, &sinks));
        }
        out
    }

    #[test]
    fn a_sink_needs_the_feature_and_a_webhook_step_an_earlier_sink() {
        let steps = "  - sink: {name: hooks}\n  - webhook: {sink: hooks, type: job.accepted}\n";
        assert!(problems("actors, webhook_loopback", steps).is_empty());
        let p = problems("actors", steps);
        assert_eq!(p.len(), 1);
        assert!(p[0].contains("add `webhook_loopback` to `requires`"), "{p:?}");
        let p = problems(
            "webhook_loopback",
            "  - webhook: {sink: hook, type: job.accepted}\n  - sink: {name: hooks}\n",
        );
        assert_eq!(
            p,
            vec!["sink `hook` is not opened by an earlier `sink` step".to_string()]
        );
    }

    #[test]
    fn an_undocumented_event_name_or_an_empty_secret_is_refused_by_the_loader() {
        let text = format!(
            "{HEAD}requires: [webhook_loopback]\nsteps:\n  - sink: {{name: hooks}}\n  - webhook: {{sink: hooks, type: job.exploded, signature: {{secret: \"\"}}}}\n"
        );
        let e = parse_scenario_all(&text, "t.yaml").unwrap_err().to_string();
        assert!(e.contains("a documented webhook event"), "{e}");
        assert!(e.contains("job.exploded"), "{e}");
        assert!(e.contains("the webhook's secret"), "{e}");
        let text = format!(
            "{HEAD}requires: [webhook_loopback]\nsteps:\n  - sink: {{name: \"9 hooks\"}}\n  - webhook: {{sink: hooks, type: job.accepted, exactly: 1}}\n"
        );
        let e = parse_scenario_all(&text, "t.yaml").unwrap_err().to_string();
        assert!(e.contains("invalid sink name `9 hooks`"), "{e}");
        assert!(e.contains("exactly"), "{e}");
    }
}
