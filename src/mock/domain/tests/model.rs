//! Model-based test: random sequences of operations by random actors, with the
//! invariants checked after every step (seeded, so failures replay).

use std::collections::HashMap;

use super::*;

/// xorshift64*: small, seeded, good enough to pick operations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.next() % 100 < pct
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> Option<T> {
        (!xs.is_empty()).then(|| xs[self.below(xs.len())])
    }
}

struct World {
    m: Marketplace,
    rng: Rng,
    users: Vec<UserId>,
    ok: HashMap<&'static str, usize>,
}

impl World {
    fn new(seed: u64, choices: &[Choice]) -> Self {
        let mut m = mp();
        m.set_choices(choices.iter().copied());
        let mut users = Vec::new();
        for _ in 0..2 {
            users.push(actor(&mut m, ActorRole::Poster, &["Research"], 30_000, Tier::Free));
        }
        users.push(actor(&mut m, ActorRole::Agent, &["Research"], 0, Tier::Free));
        users.push(actor(&mut m, ActorRole::Agent, &["Research"], 0, Tier::Pro));
        users.push(actor(&mut m, ActorRole::Agent, &["Research"], 0, Tier::Enterprise));
        for _ in 0..3 {
            users.push(proofer(&mut m));
        }
        let unverified = actor(&mut m, ActorRole::Agent, &["Research"], 1000, Tier::Free);
        m.set_user_flags(
            unverified,
            UserFlags {
                email_verified: Some(false),
                stripe_connected: Some(false),
                ..Default::default()
            },
        )
        .unwrap();
        users.push(unverified);
        World {
            m,
            rng: Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1),
            users,
            ok: HashMap::new(),
        }
    }

    /// Mostly a job that is under way, so the walk reaches the later states.
    fn job(&mut self) -> Option<JobId> {
        let busy: Vec<JobId> = self
            .m
            .job_order
            .iter()
            .filter(|id| {
                !matches!(
                    self.m.jobs[*id].status,
                    JobStatus::Open | JobStatus::Cancelled | JobStatus::Completed
                )
            })
            .copied()
            .collect();
        if !busy.is_empty() && self.rng.chance(70) {
            return self.rng.pick(&busy);
        }
        let ids = self.m.job_order.clone();
        self.rng.pick(&ids)
    }

    /// Usually the right actor, sometimes anyone.
    fn actor_or(&mut self, right: Option<UserId>) -> UserId {
        match right {
            Some(u) if self.rng.chance(85) => u,
            _ => self.rng.pick(&self.users.clone()).unwrap(),
        }
    }

    fn app_of(&mut self, job: JobId, ty: ApplicationType) -> Option<ApplicationId> {
        let all: Vec<Application> = self
            .m
            .job_applications(job)
            .into_iter()
            .filter(|a| a.application_type == ty)
            .collect();
        let pending: Vec<ApplicationId> = all
            .iter()
            .filter(|a| a.status == ApplicationStatus::Pending)
            .map(|a| a.id)
            .collect();
        if !pending.is_empty() && self.rng.chance(80) {
            return self.rng.pick(&pending);
        }
        self.rng.pick(&all.iter().map(|a| a.id).collect::<Vec<_>>())
    }

    fn step(&mut self) {
        let op = self.rng.below(17);
        let Some(job) = self.job().filter(|_| op != 0) else {
            let p = self.rng.below(2);
            let proof = self.rng.chance(70);
            let count = 1 + self.rng.below(3) as u32;
            let mut nj = new_job(proof, count);
            nj.budget_max = 1000 + 1000 * self.rng.below(10) as i64;
            if self.m.create_job(self.users[p], nj).is_ok() {
                *self.ok.entry("create").or_default() += 1;
            }
            return;
        };
        let j = self.m.get_job(job).unwrap();
        // steer pending_proof jobs toward the proof operations
        let op = if j.status == JobStatus::PendingProof && self.rng.chance(60) {
            [1, 5, 6, 7][self.rng.below(4)]
        } else {
            op
        };
        let poster = self.actor_or(Some(j.poster_id));
        let hired = self.actor_or(j.assigned_agent_id);
        let anyone = self.actor_or(None);
        let (name, ok) = match op {
            1 => {
                let proofers = self.users[5..8].to_vec();
                let who = if j.status == JobStatus::PendingProof && self.rng.chance(80) {
                    self.rng.pick(&proofers).unwrap()
                } else {
                    anyone
                };
                let _ = self.m.acknowledge_nda(who, job);
                let cap = if j.status == JobStatus::PendingProof {
                    j.budget_max / 2
                } else {
                    8000
                };
                let price = 1 + self.rng.below(cap as usize) as i64;
                let anyone = who;
                ("apply", self.m.apply(anyone, job, apply_input(price)).is_ok())
            }
            2 => match self.app_of(job, ApplicationType::Agent) {
                Some(a) => ("accept", self.m.accept_application(poster, job, a).is_ok()),
                None => ("accept", false),
            },
            3 => {
                let app = j
                    .accepted_application_id
                    .or_else(|| self.app_of(job, ApplicationType::Agent));
                let wallet = self.rng.chance(90);
                match app {
                    Some(a) => (
                        "fund",
                        self.m.fund_escrow(poster, job, a, wallet).is_ok_and(|r| r.success),
                    ),
                    None => ("fund", false),
                }
            }
            4 => ("deliver", self.m.deliver(hired, job, deliver_input()).is_ok()),
            5 => match self.app_of(job, ApplicationType::Proof) {
                Some(a) => ("accept_proofer", self.m.accept_proofer(poster, job, a).is_ok()),
                None => ("accept_proofer", false),
            },
            6 => ("fund_proof", self.m.fund_proof_escrow(poster, job).is_ok()),
            7 => {
                let proofers: Vec<UserId> = self
                    .m
                    .assignments
                    .iter()
                    .filter(|a| a.job_id == job)
                    .map(|a| a.proofer_agent_id)
                    .collect();
                let who = match self.rng.pick(&proofers) {
                    Some(p) if self.rng.chance(85) => p,
                    _ => anyone,
                };
                let v = ["approved", "approved", "rejected", "needs_revision"][self.rng.below(4)];
                (
                    "verdict",
                    self.m
                        .submit_verdict(who, job, &scorecard(v, 1 + self.rng.below(5) as i64))
                        .is_ok(),
                )
            }
            8 => {
                let o = self.rng.chance(30);
                ("approve", self.m.approve(poster, job, o).is_ok())
            }
            9 => (
                "revision",
                self.rng.chance(40) && self.m.request_revision(poster, job, None).is_ok(),
            ),
            10 => ("cancel", self.rng.chance(30) && self.m.cancel(poster, job).is_ok()),
            11 => {
                let who = if self.rng.chance(50) { poster } else { hired };
                let d = DisputeInput {
                    reason: "late".into(),
                    description: "The delivery is very late indeed.".into(),
                };
                ("dispute", self.rng.chance(20) && self.m.dispute(who, job, d).is_ok())
            }
            12 => {
                let secs = self.rng.below(30 * 3600) as i64;
                self.m.advance_clock(secs);
                ("clock", true)
            }
            13 => (
                "hold",
                self.rng.chance(20) && self.m.hold_payment(poster, job, "Please let me check this.").is_ok(),
            ),
            14 if self.rng.chance(25) => {
                let on = self.rng.chance(70);
                let c = self.rng.below(4) as u32;
                let patch = ProofSettingsPatch {
                    proof_required: on,
                    proofer_count: on.then_some(c),
                };
                ("settings", self.m.update_proof_settings(poster, job, patch).is_ok())
            }
            14 => ("settings", false),
            15 => {
                let who = self.rng.pick(&self.users.clone()).unwrap();
                ("deposit", self.m.deposit(who, 1 + self.rng.below(5000) as i64).is_ok())
            }
            _ => {
                let who = self.actor_or(None);
                let _ = self.m.set_user_flags(
                    who,
                    UserFlags {
                        stripe_connected: Some(true),
                        ..Default::default()
                    },
                );
                ("stripe", true)
            }
        };
        if ok {
            *self.ok.entry(name).or_default() += 1;
        }
    }

    fn check(&self, seed: u64, step: usize) {
        let m = &self.m;
        let ctx = format!("seed {seed} step {step}");
        m.check_invariants().unwrap_or_else(|e| panic!("{ctx}: {e}"));
        for j in m.jobs.values() {
            assert!(j.escrow_fund_count <= 1, "{ctx}: escrow funded twice on {}", j.id);
            let accepted = m.accepted_proofers(j.id).len() as u32;
            assert!(
                accepted <= j.proofer_count,
                "{ctx}: {accepted} proofers > {} slots",
                j.proofer_count
            );
            for (from, to) in &j.history {
                assert!(from.can_become(*to), "{ctx}: illegal {from:?} → {to:?}");
            }
            let funded = m
                .job_applications(j.id)
                .iter()
                .filter(|a| a.application_type == ApplicationType::Agent && a.status == ApplicationStatus::Funded)
                .count();
            assert!(funded <= 1, "{ctx}: {funded} funded agent applications");
            let held = matches!(
                j.status,
                JobStatus::InProgress | JobStatus::Delivered | JobStatus::PendingProof | JobStatus::Disputed
            );
            // Under `statuses` an approved job keeps its status until the release.
            let approved = m.chooses(Choice::Statuses)
                && matches!(j.status, JobStatus::Delivered | JobStatus::PendingProof)
                && matches!(j.payment_status, PaymentStatus::PendingRelease | PaymentStatus::OnHold);
            if held {
                assert!(
                    j.escrow_cents > 0 && (j.payment_status == PaymentStatus::Held || approved),
                    "{ctx}: {:?} without escrow",
                    j.status
                );
            }
            if matches!(
                j.status,
                JobStatus::Open | JobStatus::PendingEscrow | JobStatus::Cancelled
            ) {
                assert_eq!(j.escrow_cents + j.proof_escrow_cents, 0, "{ctx}: escrow before funding");
            }
            if j.payment_status == PaymentStatus::Released {
                assert_eq!(
                    j.escrow_cents + j.proof_escrow_cents,
                    0,
                    "{ctx}: escrow left after release"
                );
            }
            let round_assign = m
                .assignments
                .iter()
                .filter(|a| a.job_id == j.id && a.round == j.current_round && a.status != "cancelled")
                .count() as u32;
            assert!(round_assign <= j.proofer_count.max(accepted), "{ctx}: over-assigned");
        }
    }
}

#[test]
fn random_operation_sequences_keep_the_invariants() {
    walk(&[]);
}

#[test]
fn random_operation_sequences_keep_the_invariants_with_every_choice() {
    walk(&Choice::ALL);
}

fn walk(choices: &[Choice]) {
    let mut totals: HashMap<&'static str, usize> = HashMap::new();
    // 20 walks of 500 operations (10,000, each followed by the invariant
    // check): every operation below still succeeds in them; 40 walks took
    // twice the time of the slowest unit test.
    for seed in 1..=20u64 {
        let mut w = World::new(seed, choices);
        for step in 0..500 {
            w.step();
            w.check(seed, step);
        }
        let released =
            w.m.jobs
                .values()
                .filter(|j| j.payment_status == PaymentStatus::Released)
                .count();
        *totals.entry("released").or_default() += released;
        for (k, v) in w.ok {
            *totals.entry(k).or_default() += v;
        }
    }
    // the walk must reach the interesting states, not only refusals
    for k in [
        "create",
        "apply",
        "accept",
        "fund",
        "deliver",
        "accept_proofer",
        "fund_proof",
        "verdict",
        "approve",
        "revision",
        "released",
    ] {
        assert!(
            totals.get(k).copied().unwrap_or(0) > 0,
            "operation {k} never succeeded: {totals:?}"
        );
    }
}
