//! Moving the target's clock, for a `clock` step and a `repeat.pause`:
//! through the control API's `clock` feature, or, on a target without it,
//! by waiting a short advance out in real time (the target's time passes
//! as well, `clock_rate` times as fast as ours where its profile says so).

use std::time::Duration;

use super::RunnerError;
use super::context::ScenarioContext;
use super::state::{Deadline, ScenarioState};

/// How the clock moved.
pub(crate) enum Moved {
    /// The control API moved it; its answer, the target's new time.
    Controlled { now: String },
    /// It was waited out in real time.
    Waited,
}

/// Moves the target's clock by `seconds`. The pacer's windows move with
/// it when the control API moved it (a real wait moves them by itself).
pub(crate) async fn advance(
    ctx: &ScenarioContext,
    st: &mut ScenarioState,
    seconds: i64,
    dl: &mut Deadline,
) -> Result<Moved, RunnerError> {
    let Some(control) = st.control.as_ref().filter(|_| st.features.has("clock")) else {
        if !(0..=super::scenario::WAITABLE_CLOCK_SECS).contains(&seconds) {
            return Err(RunnerError::Control("the target offers no `clock` control".into()));
        }
        let wait = Duration::from_secs(seconds.unsigned_abs()) / ctx.clock_rate().max(1);
        dl.extend(wait);
        st.waited += wait;
        tokio::time::sleep(wait).await;
        return Ok(Moved::Waited);
    };
    let now = match tokio::time::timeout(dl.outer_left(), control.advance_clock(seconds)).await {
        Err(_) => {
            return Err(RunnerError::Timeout(format!(
                "the clock call timed out ({})",
                dl.outer_label
            )));
        }
        Ok(r) => r.map_err(|e| RunnerError::Control(e.to_string()))?,
    };
    ctx.pacer.advance(Duration::from_secs(seconds.max(0).unsigned_abs()));
    Ok(Moved::Controlled { now })
}
