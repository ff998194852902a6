//! Adapters from the domain's answer types to the spec's response shapes,
//! for the fields the domain does not serialise yet.
//!
//! Every adapter only fills a key that is missing, so once the domain emits
//! the field itself the adapter does nothing (and can be deleted). Nothing
//! here decides a rule; the values come from the domain's own answers.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::mock::domain::{DomainResult, Marketplace};

/// The domain value as JSON (serialisation of plain data cannot fail).
pub(crate) fn to_json(v: impl Serialize) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn fill(obj: &mut Value, key: &str, value: impl FnOnce() -> Value) {
    if let Some(o) = obj.as_object_mut()
        && !o.contains_key(key)
    {
        o.insert(key.to_string(), value());
    }
}

/// `AgentProfile`: `id`, `tier`, `rating`, `total_reviews`, `completed_jobs`.
pub(crate) fn profile(m: &Marketplace, user: Uuid, mut p: Value) -> DomainResult<Value> {
    let u = m.user_view(user)?;
    fill(&mut p, "id", || json!(user));
    fill(&mut p, "tier", || json!(u.tier));
    fill(&mut p, "rating", || json!(u.rating));
    fill(&mut p, "completed_jobs", || json!(u.completed_jobs));
    if u.rating == 0.0 {
        // Without a rating there is no review (the domain does not say how many otherwise).
        fill(&mut p, "total_reviews", || json!(0));
    }
    Ok(p)
}

/// `Proof`: `created_at` (the domain calls it `submitted_at`).
pub(crate) fn proof(p: &mut Value) {
    let at = p.get("submitted_at").cloned().unwrap_or(Value::Null);
    fill(p, "created_at", || at);
}

/// Every proof in a `proofs` array.
pub(crate) fn proofs_in(view: &mut Value) {
    if let Some(list) = view.get_mut("proofs").and_then(Value::as_array_mut) {
        list.iter_mut().for_each(proof);
    }
}

/// `JobDetails.applications[*].agents` from the poster's application list.
pub(crate) fn details(
    m: &mut Marketplace,
    user: Uuid,
    job: Uuid,
    mut d: Value,
) -> DomainResult<Value> {
    let needs = d["applications"]
        .as_array()
        .is_some_and(|a| a.iter().any(|r| r.get("agents").is_none()));
    if needs {
        let rows = to_json(m.list_applications(user, job)?);
        let by_id: BTreeMap<String, Value> = rows["applications"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| Some((r["id"].as_str()?.to_string(), r["agents"].clone())))
            .collect();
        for row in d["applications"].as_array_mut().into_iter().flatten() {
            let agents = row["id"]
                .as_str()
                .and_then(|id| by_id.get(id))
                .cloned()
                .unwrap_or(Value::Null);
            fill(row, "agents", || agents);
        }
    }
    Ok(d)
}

/// `ProofNeededJob.budget_min` from the job.
pub(crate) fn proof_needed(m: &Marketplace, mut list: Value) -> Value {
    for row in list["jobs"].as_array_mut().into_iter().flatten() {
        let min = row["id"]
            .as_str()
            .and_then(|id| Uuid::parse_str(id).ok())
            .and_then(|id| m.get_job(id).ok())
            .map(|j| json!(j.budget_min))
            .unwrap_or(Value::Null);
        fill(row, "budget_min", || min);
    }
    list
}

/// `MyApplicationList` rows: `agent_id` (the caller).
pub(crate) fn my_applications(user: Uuid, mut list: Value) -> Value {
    for row in list["applications"].as_array_mut().into_iter().flatten() {
        fill(row, "agent_id", || json!(user));
    }
    list
}

/// `Notification.job_id` from its `link` (`/api/agent/jobs/{id}/details`).
pub(crate) fn notifications(mut list: Value) -> Value {
    for n in list["notifications"].as_array_mut().into_iter().flatten() {
        let id = n["link"]
            .as_str()
            .and_then(|l| {
                l.split('/')
                    .find_map(|seg| Uuid::parse_str(seg).ok().filter(|_| seg.len() == 36))
            })
            .map(|id| json!(id))
            .unwrap_or(Value::Null);
        fill(n, "job_id", || id);
    }
    list
}

/// `ImprovementTrends`: `proofs_received`, `verdict_counts`, per-day
/// `score_trend` points `{date, avg_score, count}` and `created_at` on feedback.
pub(crate) fn trends(mut t: Value) -> Value {
    let points: Vec<Value> = t["score_trend"].as_array().cloned().unwrap_or_default();
    let total = t
        .get("total_proofs")
        .cloned()
        .unwrap_or_else(|| json!(points.len()));
    fill(&mut t, "proofs_received", || total);
    let mut counts = Map::new();
    for v in ["approved", "needs_revision", "rejected"] {
        let n = points.iter().filter(|p| p["verdict"] == v).count();
        counts.insert(v.into(), json!(n));
    }
    fill(&mut t, "verdict_counts", || Value::Object(counts));
    if points.iter().any(|p| p.get("date").is_none()) {
        let mut days: BTreeMap<String, (i64, i64)> = BTreeMap::new();
        for p in &points {
            let day = p["submitted_at"]
                .as_str()
                .unwrap_or("")
                .chars()
                .take(10)
                .collect::<String>();
            let e = days.entry(day).or_default();
            e.0 += p["score"].as_i64().unwrap_or(0);
            e.1 += 1;
        }
        let trend: Vec<Value> = days
            .into_iter()
            .map(|(date, (sum, n))| {
                let avg = ((sum as f64 / n as f64) * 100.0).round() / 100.0;
                json!({"date": date, "avg_score": avg, "count": n})
            })
            .collect();
        t["score_trend"] = Value::Array(trend);
    }
    for f in t["recent_feedback"].as_array_mut().into_iter().flatten() {
        let at = f.get("submitted_at").cloned().unwrap_or(Value::Null);
        fill(f, "created_at", || at);
    }
    t
}
