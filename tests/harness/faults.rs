//! The scenario library catches a broken server. For every area of the
//! library, a reference server started with one deliberate fault (a rule it
//! breaks on purpose, `MockConfig::faults`) fails at least one scenario of
//! that area: the outcome is `Failed` (a conformance verdict, not `Errored`)
//! and the rendered failure names the scenario and its rule. The same
//! scenarios pass on the server without any fault
//! (`every_catching_scenario_passes_without_a_fault`, from the whole-library
//! run the runner tests share), so the fault alone is what they caught.
//!
//! Only the scenarios a case names (`caught_by`) run under its fault, four at
//! a time, each on its own fresh server: the other scenarios of the area are
//! not run under it (whether a fault makes them fail or error is not what
//! these tests check; `tests/conformance.rs` runs every scenario against the
//! server without faults).
//!
//! `events.keepalive` waits the documented 30 s and a margin (35 s) for each
//! keepalive; the bundled server sends one every 250 ms. The copy these
//! tests run has that window divided by [`KEEPALIVE_SCALE`] (in memory only;
//! the library keeps 35 s), so the `keepalive_once` fault, which sends one
//! keepalive and then none, is caught in seconds rather than after 35 s, and
//! the clean run shows the shorter window still passes a faithful server.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::LazyLock;
use std::time::Duration;

use agentgigs_conformance::mock::{KNOWN_FAULTS, MockConfig};
use agentgigs_conformance::report::model::{Outcome, RunReport};
use agentgigs_conformance::report::terminal::{TerminalStyle, render_failure};
use agentgigs_conformance::runner::{self, PlannedScenario, RunOptions, RunPlan};
use agentgigs_conformance::scenario::load_library;
use agentgigs_conformance::spec::{Contract, DOCUMENTED_SPEC, REFERENCE_OVERLAY};
use agentgigs_conformance::target::TargetSpec;

/// How much shorter the keepalive windows of the scenarios run here are
/// than the library's (35 s becomes 3.5 s, still 14 of the bundled server's
/// 250 ms keepalive intervals).
const KEEPALIVE_SCALE: u64 = 10;

/// The contract (both layers: a fault must break the documented one, so
/// that the run fails rather than departs) and every planned scenario of
/// the library, loaded once.
static LIBRARY: LazyLock<(Contract, Vec<PlannedScenario>)> = LazyLock::new(|| {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let contract =
        Contract::load(&root.join(DOCUMENTED_SPEC), Some(&root.join(REFERENCE_OVERLAY))).expect("the contract loads");
    let library = load_library(&root.join("scenarios")).expect("the scenario library loads");
    let planned = library
        .scenarios
        .iter()
        .map(|s| PlannedScenario::new(s.clone(), library.expand(s).expect("includes expand")))
        .map(scale_keepalive_windows)
        .collect();
    (contract, planned)
});

/// `planned` with every keepalive window divided by [`KEEPALIVE_SCALE`].
fn scale_keepalive_windows(mut planned: PlannedScenario) -> PlannedScenario {
    let interval = MockConfig::default().keepalive;
    for step in &mut planned.steps {
        let Some(event) = step.event.as_mut().filter(|e| e.event_type == "keepalive") else {
            continue;
        };
        if let Some(window) = event.within_ms.as_mut() {
            *window /= KEEPALIVE_SCALE;
            assert!(
                Duration::from_millis(*window) >= interval * 8,
                "`{}`: a keepalive window of {window} ms is too short for the bundled server's {interval:?} interval",
                planned.scenario.id
            );
        }
    }
    planned
}

/// The planned copies of `ids` (each must be a scenario of the library).
fn planned(ids: &[&str]) -> Vec<PlannedScenario> {
    let wanted: BTreeSet<&str> = ids.iter().copied().collect();
    let found: Vec<PlannedScenario> = LIBRARY
        .1
        .iter()
        .filter(|p| wanted.contains(p.scenario.id.as_str()))
        .cloned()
        .collect();
    let have: BTreeSet<&str> = found.iter().map(|p| p.scenario.id.as_str()).collect();
    let missing: Vec<&&str> = wanted.difference(&have).collect();
    assert!(missing.is_empty(), "not scenarios of the library: {missing:?}");
    found
}

/// One fault, the area whose scenarios must catch it, and the scenarios
/// that do (each must fail under the fault and pass without it).
struct Case {
    area: &'static str,
    fault: &'static str,
    caught_by: &'static [&'static str],
    /// Judge the run as `run --strict` does (a departure from the
    /// reference server fails): for a fault seen only through a reference
    /// read, such as a wallet credit to an agent (payouts go to Stripe).
    strict: bool,
}

/// The area → fault → scenario table (every known fault appears once).
/// `caught_by` lists every scenario of the area that failed under the fault
/// when the whole area was run under it (only these are run now, and each
/// must still fail).
const CASES: &[Case] = &[
    // Counted in clock-aligned minutes, the burst limit alone may refuse
    // the same attempt, so only the reference read (the 6th attempt on the
    // job refused at once) sees the per-job limit gone: judged `--strict`.
    Case {
        area: "ratelimit",
        fault: "funding_per_job_unlimited",
        caught_by: &["ratelimit.fund-escrow-burst"],
        strict: true,
    },
    Case {
        area: "lifecycle",
        fault: "callback_never_sent",
        caught_by: &["lifecycle.integration-callback"],
        strict: false,
    },
    Case {
        area: "auth",
        fault: "bearer_accepts_api_key",
        caught_by: &["auth.api-key-in-bearer-rejected"],
        strict: false,
    },
    Case {
        area: "nda",
        fault: "skip_nda",
        caught_by: &[
            "nda.apply-requires-ack",
            "nda.gated-actions",
            "nda.gated-worker-actions",
            "nda.idempotent-per-job-poster-exempt",
        ],
        strict: false,
    },
    Case {
        area: "ids",
        fault: "refs_resolve",
        caught_by: &["ids.ref-codes-are-not-ids"],
        strict: false,
    },
    Case {
        area: "discovery",
        fault: "list_all_categories",
        caught_by: &["discovery.specializations-filter"],
        strict: false,
    },
    Case {
        area: "lifecycle",
        fault: "double_hire",
        caught_by: &["lifecycle.wrong-state-transitions"],
        strict: false,
    },
    Case {
        area: "lifecycle",
        fault: "early_release",
        caught_by: &[
            "lifecycle.held-until-cooldown-ends",
            "lifecycle.hold-payment",
            "lifecycle.no-proof-happy-path",
        ],
        strict: false,
    },
    Case {
        area: "lifecycle",
        fault: "cancel_after_funding",
        caught_by: &["lifecycle.cancel"],
        strict: false,
    },
    Case {
        area: "proofing",
        fault: "no_blind_review",
        caught_by: &["proofing.blind-review"],
        strict: false,
    },
    Case {
        area: "proofing",
        fault: "slots_unbounded",
        caught_by: &["proofing.slots-and-count-mismatch"],
        strict: false,
    },
    Case {
        area: "money",
        fault: "float_money",
        caught_by: &["money.commission-pro", "money.commission-enterprise"],
        strict: false,
    },
    // The whole price paid to the agent shows only in its wallet credit and
    // the payment.released payload, both reference reads (the docs pay
    // agents to Stripe and name no payload field): judged as `--strict`.
    Case {
        area: "money",
        fault: "commission_ignored",
        // The docs name no route that shows a wallet credit (payouts go to
        // Stripe): the documented earnings route is where the commission shows.
        caught_by: &["money.earnings-after-release"],
        strict: false,
    },
    Case {
        area: "ratelimit",
        fault: "no_retry_after",
        caught_by: &[
            "ratelimit.applications-per-hour",
            "ratelimit.applications-per-hour-free",
            "ratelimit.fund-escrow-burst",
            "ratelimit.fund-escrow-per-hour",
            "ratelimit.job-posting-per-hour",
            "ratelimit.limit-applies-everywhere",
            "ratelimit.login-per-ip",
            "ratelimit.register-per-ip",
            "ratelimit.standard-per-minute-enterprise",
            "ratelimit.standard-per-minute-free",
            "ratelimit.standard-per-minute-pro",
        ],
        strict: false,
    },
    Case {
        area: "events",
        fault: "events_to_everyone",
        caught_by: &["events.job-available-to-matching-agents"],
        strict: false,
    },
    Case {
        area: "events",
        fault: "webhook_bad_signature",
        caught_by: &["events.webhook-delivery"],
        strict: false,
    },
    Case {
        area: "files",
        fault: "deliverables_public",
        caught_by: &["files.deliverable-access"],
        strict: false,
    },
    // `code` is optional in the docs but for the one code they define,
    // ACKNOWLEDGMENT_REQUIRED: only the NDA checks can catch its absence.
    Case {
        area: "nda",
        fault: "error_without_code",
        caught_by: &[
            "nda.apply-requires-ack",
            "nda.gated-actions",
            "nda.gated-worker-actions",
        ],
        strict: false,
    },
    Case {
        area: "meta",
        fault: "html_404",
        caught_by: &["meta.unknown-route"],
        strict: false,
    },
    Case {
        area: "messages",
        fault: "messages_open",
        caught_by: &["messages.participants-only"],
        strict: false,
    },
    // Each race fault drops the exactly-once guard of one operation for
    // requests that overlap in time: only a concurrent step catches it.
    Case {
        area: "races",
        fault: "race_fund_escrow",
        caught_by: &["races.double-fund"],
        strict: false,
    },
    Case {
        area: "races",
        fault: "race_accept_application",
        caught_by: &["races.double-hire"],
        strict: false,
    },
    Case {
        area: "races",
        fault: "race_accept_proofer",
        caught_by: &["races.proofer-slots"],
        strict: false,
    },
    Case {
        area: "races",
        fault: "race_verdict",
        caught_by: &["races.double-verdict"],
        strict: false,
    },
    Case {
        area: "races",
        fault: "race_approve",
        caught_by: &["races.double-approve"],
        strict: false,
    },
    Case {
        area: "races",
        fault: "race_nda",
        caught_by: &["races.nda-twice"],
        strict: false,
    },
    // The commission taken twice shows only in the agent's wallet credit, a
    // reference read (the docs pay agents to Stripe): the balance equation
    // catches it as a departure, which a strict run fails.
    Case {
        area: "conservation",
        fault: "commission_twice",
        caught_by: &[
            "conservation.no-proof",
            "conservation.one-proofer",
            "conservation.three-proofers",
        ],
        strict: true,
    },
    Case {
        area: "ratelimit",
        fault: "retry_after_millis",
        caught_by: &[
            "ratelimit.applications-per-hour",
            "ratelimit.applications-per-hour-free",
            "ratelimit.downloads-per-job",
            "ratelimit.fund-escrow-burst",
            "ratelimit.fund-escrow-per-hour",
            "ratelimit.job-posting-per-hour",
            "ratelimit.login-per-ip",
            "ratelimit.register-per-ip",
            "ratelimit.standard-per-minute-enterprise",
            "ratelimit.standard-per-minute-free",
            "ratelimit.standard-per-minute-pro",
        ],
        strict: false,
    },
    Case {
        area: "ratelimit",
        fault: "posting_unlimited",
        caught_by: &["ratelimit.job-posting-per-hour"],
        strict: false,
    },
    Case {
        area: "ratelimit",
        fault: "applications_unlimited",
        caught_by: &[
            "ratelimit.applications-per-hour",
            "ratelimit.applications-per-hour-free",
        ],
        strict: false,
    },
    Case {
        area: "ratelimit",
        fault: "funding_unlimited",
        caught_by: &["ratelimit.fund-escrow-per-hour"],
        strict: false,
    },
    // The free poster's part passes under it (its figure is the free
    // tier's): the pro poster's 21st fund is refused, before its 61st.
    Case {
        area: "ratelimit",
        fault: "applications_one_tier",
        caught_by: &["ratelimit.applications-per-hour"],
        strict: false,
    },
    Case {
        area: "ratelimit",
        fault: "posting_one_tier",
        caught_by: &["ratelimit.job-posting-per-hour"],
        strict: false,
    },
    Case {
        area: "ratelimit",
        fault: "funding_one_tier",
        caught_by: &["ratelimit.fund-escrow-per-hour"],
        strict: false,
    },
    // Enterprise counted at pro's figures: the enterprise agent's 51st
    // application is refused, and so is the enterprise poster's 61st fund
    // (the funding scenario's agents apply only 50 an hour, so that its
    // setup gets past the fault's application half to the funding).
    Case {
        area: "ratelimit",
        fault: "enterprise_as_pro",
        caught_by: &["ratelimit.applications-per-hour", "ratelimit.fund-escrow-per-hour"],
        strict: false,
    },
    Case {
        area: "events",
        fault: "keepalive_once",
        caught_by: &["events.keepalive"],
        strict: false,
    },
    Case {
        area: "events",
        fault: "no_funded_update",
        caught_by: &["events.application-update-funded-and-rejected"],
        strict: false,
    },
    Case {
        area: "auth",
        fault: "short_password",
        caught_by: &["auth.login-and-register"],
        strict: false,
    },
    Case {
        area: "money",
        fault: "proofer_bid_uncapped",
        caught_by: &["money.proofer-bid-capped"],
        strict: false,
    },
    Case {
        area: "money",
        fault: "proof_escrow_unguarded",
        caught_by: &["money.fund-proof-escrow-guards"],
        strict: false,
    },
    Case {
        area: "money",
        fault: "card_without_client_secret",
        caught_by: &["money.card-path-client-secret"],
        strict: false,
    },
    Case {
        area: "money",
        fault: "payout_without_stripe",
        caught_by: &["money.payout-needs-stripe-connect"],
        strict: false,
    },
    Case {
        area: "lifecycle",
        fault: "cooldown_ends_early",
        caught_by: &["lifecycle.held-until-cooldown-ends"],
        strict: false,
    },
    Case {
        area: "proofing",
        fault: "settings_below_accepted",
        caught_by: &["proofing.settings-edit-windows"],
        strict: false,
    },
    Case {
        area: "proofing",
        fault: "round_not_advanced",
        caught_by: &["proofing.new-round-after-revision"],
        strict: false,
    },
    Case {
        area: "proofing",
        fault: "custom_answers_refused",
        caught_by: &["proofing.custom-answers"],
        strict: false,
    },
    Case {
        area: "proofing",
        fault: "agent_shown_to_proofers",
        caught_by: &["proofing.agent-hidden-from-proofers"],
        strict: false,
    },
    Case {
        area: "files",
        fault: "proofers_locked_out",
        caught_by: &["files.accepted-proofer-access"],
        strict: false,
    },
];

/// Runs `scenarios` against bundled servers started with `faults`.
fn run(scenarios: Vec<PlannedScenario>, faults: &[&str], strict: bool) -> RunReport {
    let config = MockConfig {
        faults: faults.iter().map(|f| f.to_string()).collect(),
        ..MockConfig::default()
    };
    let plan = RunPlan {
        contract: LIBRARY.0.clone(),
        scenarios,
        target: TargetSpec::BundledWith(config),
        options: RunOptions {
            jobs: 4,
            strict,
            ..RunOptions::default()
        },
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(runner::run(plan))
}

/// Every scenario's id and outcome, one per line (for assertion messages).
fn outcomes(report: &RunReport) -> String {
    report
        .scenarios
        .iter()
        .map(|s| format!("  {}: {:?}", s.id, s.outcome))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The whole check of one fault: every scenario the case names fails
/// under it, with a failure that names the scenario and states its rule.
fn caught(fault: &str) {
    let case = CASES.iter().find(|c| c.fault == fault).expect("the fault has a case");
    let scenarios = planned(case.caught_by);
    for p in &scenarios {
        assert_eq!(
            p.area, case.area,
            "`{}` is not a scenario of area `{}`",
            p.scenario.id, case.area
        );
    }

    let broken = run(scenarios, &[case.fault], case.strict);
    assert_eq!(broken.scenarios.len(), case.caught_by.len(), "{}", outcomes(&broken));
    for id in case.caught_by {
        let s = broken
            .scenarios
            .iter()
            .find(|s| s.id == *id)
            .unwrap_or_else(|| panic!("`{id}` did not run:\n{}", outcomes(&broken)));
        assert!(
            matches!(s.outcome, Outcome::Failed),
            "under `{fault}`, `{id}` should fail (a verdict, not an error):\n{}",
            outcomes(&broken)
        );
        let text = render_failure(s, &TerminalStyle { color: false });
        assert!(text.contains(*id), "the failure does not name `{id}`:\n{text}");
        let rule = s.rule.as_deref().expect("library scenarios state their rule");
        let rule = rule.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            text.contains(&rule),
            "the failure of `{id}` does not state its rule:\n{text}"
        );
    }
}

/// Whether `planned` has a keepalive window, scaled here.
fn scaled(planned: &PlannedScenario) -> bool {
    planned
        .steps
        .iter()
        .filter_map(|step| step.event.as_ref())
        .any(|e| e.event_type == "keepalive" && e.within_ms.is_some())
}

/// Every scenario some case names passes against the server without any
/// fault, strictly (the reference server departs from none of its own
/// choices). As the library has them, they ran in the whole-library run
/// that `runner::the_bundled_reference_server_runs_the_library` checks (run
/// once per test process, shared): their outcomes are read from it. The
/// copies run here with a scaled keepalive window are not what that run
/// ran, so they run again here, without a fault.
#[test]
fn every_catching_scenario_passes_without_a_fault() {
    let ids: BTreeSet<&str> = CASES.iter().flat_map(|c| c.caught_by.iter().copied()).collect();
    let ids: Vec<&str> = ids.into_iter().collect();
    let (_, _, whole) = &*crate::runner::WHOLE_LIBRARY;
    let not_passed: Vec<String> = ids
        .iter()
        .filter_map(|id| match whole.scenarios.iter().find(|s| s.id == *id) {
            Some(s) if matches!(s.outcome, Outcome::Passed) => None,
            Some(s) => Some(format!("  {id}: {:?}", s.outcome)),
            None => Some(format!("  {id}: not in the whole-library run")),
        })
        .collect();
    assert!(
        not_passed.is_empty(),
        "without any fault the scenarios that catch one must pass:\n{}",
        not_passed.join("\n")
    );

    let copies: Vec<PlannedScenario> = planned(&ids).into_iter().filter(scaled).collect();
    assert!(
        copies.iter().any(|p| p.scenario.id == "events.keepalive"),
        "`events.keepalive` has no keepalive window to scale any more: update this file"
    );
    let count = copies.len();
    let clean = run(copies, &[], true);
    assert_eq!(clean.scenarios.len(), count, "{}", outcomes(&clean));
    assert!(
        clean.scenarios.iter().all(|s| matches!(s.outcome, Outcome::Passed)),
        "without any fault, the copies with a scaled keepalive window must pass:\n{}",
        outcomes(&clean)
    );
}

#[test]
fn every_known_fault_has_a_case_and_every_area_is_covered() {
    let faults: BTreeSet<&str> = CASES.iter().map(|c| c.fault).collect();
    let known: BTreeSet<&str> = KNOWN_FAULTS.iter().copied().collect();
    assert_eq!(faults, known, "one case per known fault");
    let areas: BTreeSet<&str> = CASES.iter().map(|c| c.area).collect();
    let library: BTreeSet<&str> = LIBRARY
        .1
        .iter()
        .map(|p| p.area.as_str())
        .filter(|a| !a.is_empty())
        .collect();
    assert_eq!(areas, library, "every area of the library catches some fault");
}

/// A race fault breaks its guard only for requests that overlap in time:
/// the same rule checked with one request after the other still passes
/// under it, so what catches the fault is the concurrent step.
#[test]
fn race_faults_are_caught_only_by_requests_sent_at_once() {
    let sequential: &[(&str, &str)] = &[
        ("race_fund_escrow", "lifecycle.fund-once"),
        ("race_accept_application", "lifecycle.wrong-state-transitions"),
        ("race_accept_proofer", "proofing.slots-and-count-mismatch"),
        ("race_nda", "nda.idempotent-per-job-poster-exempt"),
    ];
    for (fault, id) in sequential {
        let one: Vec<PlannedScenario> = LIBRARY.1.iter().filter(|p| p.scenario.id == *id).cloned().collect();
        assert_eq!(one.len(), 1, "`{id}` is in the library");
        let report = run(one, &[fault], false);
        assert!(
            report.scenarios.iter().all(|s| matches!(s.outcome, Outcome::Passed)),
            "under `{fault}`, the sequential `{id}` should still pass:\n{}",
            outcomes(&report)
        );
    }
}

macro_rules! fault_tests {
    ($($name:ident => $fault:literal,)*) => {
        $(
            #[test]
            fn $name() {
                caught($fault);
            }
        )*
    };
}

fault_tests! {
    ratelimit_funding_per_job_unlimited => "funding_per_job_unlimited",
    lifecycle_callback_never_sent => "callback_never_sent",
    auth_bearer_accepts_api_key => "bearer_accepts_api_key",
    nda_skip_nda => "skip_nda",
    ids_refs_resolve => "refs_resolve",
    discovery_list_all_categories => "list_all_categories",
    lifecycle_double_hire => "double_hire",
    lifecycle_early_release => "early_release",
    lifecycle_cancel_after_funding => "cancel_after_funding",
    proofing_no_blind_review => "no_blind_review",
    proofing_slots_unbounded => "slots_unbounded",
    money_float_money => "float_money",
    money_commission_ignored => "commission_ignored",
    ratelimit_no_retry_after => "no_retry_after",
    events_events_to_everyone => "events_to_everyone",
    events_webhook_bad_signature => "webhook_bad_signature",
    files_deliverables_public => "deliverables_public",
    nda_error_without_code => "error_without_code",
    meta_html_404 => "html_404",
    messages_messages_open => "messages_open",
    ratelimit_retry_after_millis => "retry_after_millis",
    ratelimit_posting_unlimited => "posting_unlimited",
    ratelimit_applications_unlimited => "applications_unlimited",
    ratelimit_funding_unlimited => "funding_unlimited",
    ratelimit_funding_one_tier => "funding_one_tier",
    ratelimit_enterprise_as_pro => "enterprise_as_pro",
    ratelimit_posting_one_tier => "posting_one_tier",
    ratelimit_applications_one_tier => "applications_one_tier",
    events_keepalive_once => "keepalive_once",
    events_no_funded_update => "no_funded_update",
    auth_short_password => "short_password",
    money_proofer_bid_uncapped => "proofer_bid_uncapped",
    money_proof_escrow_unguarded => "proof_escrow_unguarded",
    money_card_without_client_secret => "card_without_client_secret",
    money_payout_without_stripe => "payout_without_stripe",
    lifecycle_cooldown_ends_early => "cooldown_ends_early",
    proofing_settings_below_accepted => "settings_below_accepted",
    proofing_round_not_advanced => "round_not_advanced",
    proofing_custom_answers_refused => "custom_answers_refused",
    proofing_agent_shown_to_proofers => "agent_shown_to_proofers",
    files_proofers_locked_out => "proofers_locked_out",
    races_race_fund_escrow => "race_fund_escrow",
    races_race_accept_application => "race_accept_application",
    races_race_accept_proofer => "race_accept_proofer",
    races_race_verdict => "race_verdict",
    races_race_approve => "race_approve",
    races_race_nda => "race_nda",
    conservation_commission_twice => "commission_twice",
}
