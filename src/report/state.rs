//! The state a run leaves for the next one (`.agentgigs-conformance/last-run.json`):
//! each scenario's outcome, for `run --last-failed`, and the limits the
//! target said were spent, so the next run does not spend its time on them.
//! Small on purpose: outcomes only, never transcripts.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::model::{RunReport, SpentLimit};

/// Version of the state file.
pub const STATE_VERSION: u32 = 1;

/// What a run leaves behind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunState {
    pub state_version: u32,
    /// When the run started (RFC 3339).
    pub started_at: String,
    /// Scenario id → `passed`, `failed`, `skipped` or `errored`.
    pub outcomes: BTreeMap<String, String>,
    /// Limits the target said were spent, and until when.
    pub spent_limits: Vec<SpentLimit>,
}

impl RunState {
    /// The state of a finished run.
    pub fn of(report: &RunReport) -> RunState {
        RunState {
            state_version: STATE_VERSION,
            started_at: report.started_at.clone(),
            outcomes: report
                .scenarios
                .iter()
                .map(|s| (s.id.clone(), super::text::outcome_key(&s.outcome).to_string()))
                .collect(),
            spent_limits: report.spent_limits.clone(),
        }
    }

    /// Scenarios that failed or could not run.
    pub fn failed(&self) -> BTreeSet<String> {
        self.outcomes
            .iter()
            .filter(|(_, o)| *o == "failed" || *o == "errored")
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Writes the state (creating the directory).
    pub fn save(&self, path: &Path) -> Result<(), String> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| format!("cannot create `{}`: {e}", parent.display()))?;
        }
        let text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        std::fs::write(path, text).map_err(|e| format!("cannot write `{}`: {e}", path.display()))
    }

    /// Reads a state file; a full JSON run report (what older versions
    /// wrote) is read too.
    pub fn load(path: &Path) -> Result<RunState, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read `{}` ({e})", path.display()))?;
        if let Ok(state) = serde_json::from_str::<RunState>(&text) {
            if state.state_version != STATE_VERSION {
                return Err(format!(
                    "`{}` is state version {}, this tool reads version {STATE_VERSION}",
                    path.display(),
                    state.state_version
                ));
            }
            return Ok(state);
        }
        super::json::from_json(&text)
            .map(|r| RunState::of(&r))
            .map_err(|e| format!("`{}` is neither a state file nor a run report: {e}", path.display()))
    }
}
