//! Concurrent requests: racing accepts hire once, racing funds debit once, slots never over-fill.

use super::*;

async fn concurrently<F, Fut>(n: usize, f: F) -> Vec<Resp>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Resp> + Send + 'static,
{
    let handles: Vec<_> = (0..n).map(|i| tokio::spawn(f(i))).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_accepts_hire_once_and_racing_funds_debit_once() {
    let s = std::sync::Arc::new(start().await);
    let p = s.actor("poster", json!({"wallet_cents": 50_000})).await;
    let job = s.job(&p, 0).await;
    let mut apps = Vec::new();
    for _ in 0..20 {
        let a = s.actor("agent", json!({"specializations": ["Research"]})).await;
        apps.push(s.apply(&a, &job, 5000).await);
    }
    let results = concurrently(20, |i| {
        let (s, key, job, app) = (s.clone(), p.key.clone(), job.clone(), apps[i].clone());
        async move {
            s.post(
                &format!("/api/agent/jobs/{job}/accept-application"),
                &key,
                json!({"applicationId": app}),
            )
            .await
        }
    })
    .await;
    let winners: Vec<_> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.status == 200)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one hire");
    assert!(results.iter().all(|r| r.status == 200 || r.code() == "INVALID_STATE"));
    let winner = apps[winners[0]].clone();

    let results = concurrently(10, |_| {
        let (s, key, job, app) = (s.clone(), p.key.clone(), job.clone(), winner.clone());
        async move {
            s.post(
                &format!("/api/jobs/{job}/fund-escrow"),
                &key,
                json!({"applicationId": app, "useWallet": true}),
            )
            .await
        }
    })
    .await;
    assert_eq!(results.iter().filter(|r| r.status == 200).count(), 1, "funded once");
    assert!(
        results
            .iter()
            .all(|r| r.status == 200 || ["INVALID_STATE", "RATE_LIMITED"].contains(&r.code()))
    );
    assert_eq!(s.balance(&p).await, 45_000, "debited once");
    let details = s.get(&format!("/api/agent/jobs/{job}/details"), &p.key).await;
    assert_eq!(details.ok()["job"]["status"], "in_progress");
    s.server.state().check_invariants().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_accept_proofer_never_overfills_slots() {
    let s = std::sync::Arc::new(start().await);
    let p = s.actor("poster", json!({"wallet_cents": 50_000})).await;
    let a = s.actor("agent", json!({"specializations": ["Research"]})).await;
    let job = s.job(&p, 2).await;
    s.hire(&p, &a, &job, 5000).await;
    s.deliver(&a, &job).await;
    let mut apps = Vec::new();
    for _ in 0..6 {
        let pr = s.actor("proofer", json!({"specializations": ["Research"]})).await;
        apps.push(s.apply(&pr, &job, 500).await);
    }
    let results = concurrently(6, |i| {
        let (s, key, job, app) = (s.clone(), p.key.clone(), job.clone(), apps[i].clone());
        async move {
            s.post(
                &format!("/api/jobs/{job}/accept-proofer"),
                &key,
                json!({"applicationId": app}),
            )
            .await
        }
    })
    .await;
    assert_eq!(results.iter().filter(|r| r.status == 200).count(), 2);
    assert!(results.iter().all(|r| r.status == 200 || r.code() == "SLOTS_FULL"));
    let funded = s
        .post(
            &format!("/api/jobs/{job}/fund-proof-escrow"),
            &p.key,
            json!({"useWallet": true}),
        )
        .await;
    assert_eq!(funded.ok()["totalProofFee"], 1000);
    assert_eq!(s.balance(&p).await, 50_000 - 5000 - 1000);
    s.server.state().check_invariants().unwrap();
}
