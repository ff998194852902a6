//! The race window of the race faults (`race_fund_escrow`, ...): under one,
//! every request of its operation first registers with the marketplace
//! ([`Marketplace::enter_race`]), then waits with the lock released, as a
//! server that reads the state, awaits something, then writes would; the
//! domain lets requests that overlapped in that window all pass the
//! operation's state guard. Without a race fault on, requests pass straight
//! through.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use uuid::Uuid;

use super::server::AppState;
use crate::mock::domain::Fault;

/// How long a raced request waits between its "read" and its "write".
const WINDOW: Duration = Duration::from_millis(150);

/// The race fault of a request, and the job it is about.
fn raced(method: &Method, path: &str) -> Option<(Fault, Uuid)> {
    if method != Method::POST {
        return None;
    }
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let (job, fault) = match segs.as_slice() {
        ["", "api", "jobs", id, "fund-escrow"] => (id, Fault::RaceFundEscrow),
        ["", "api", "agent", "jobs", id, "accept-application"] => (id, Fault::RaceAcceptApplication),
        ["", "api", "jobs", id, "accept-proofer"] => (id, Fault::RaceAcceptProofer),
        ["", "api", "jobs", id, "proof"] => (id, Fault::RaceVerdict),
        ["", "api", "jobs", id, "approve"] => (id, Fault::RaceApprove),
        ["", "api", "jobs", id, "nda"] => (id, Fault::RaceNda),
        _ => return None,
    };
    Uuid::parse_str(job).ok().map(|j| (fault, j))
}

/// Middleware: opens the race window around a raced request.
pub(crate) async fn window(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let Some((fault, job)) = raced(req.method(), req.uri().path()) else {
        return next.run(req).await;
    };
    let ticket = st.with_market(|m| m.race_fault_on(fault).then(|| m.enter_race(fault, job)));
    let Some(ticket) = ticket else {
        return next.run(req).await;
    };
    tokio::time::sleep(WINDOW).await;
    let resp = next.run(req).await;
    st.with_market(|m| m.leave_race(ticket));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raced_routes() {
        let id = "00000000-0000-4000-8000-000000000000";
        let p = |s: &str| raced(&Method::POST, &s.replace("ID", id)).map(|(f, _)| f);
        assert_eq!(p("/api/jobs/ID/fund-escrow"), Some(Fault::RaceFundEscrow));
        assert_eq!(
            p("/api/agent/jobs/ID/accept-application"),
            Some(Fault::RaceAcceptApplication)
        );
        assert_eq!(p("/api/jobs/ID/nda/"), Some(Fault::RaceNda));
        assert_eq!(p("/api/jobs/ID/deliver"), None);
        assert_eq!(p("/api/jobs/not-a-uuid/approve"), None);
        assert_eq!(raced(&Method::GET, &format!("/api/jobs/{id}/nda")), None);
    }
}
