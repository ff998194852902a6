//! `fuzz` and `replay`: schema-driven requests against a target (the
//! bundled server by default), and a saved failure sent again; both judge
//! the answers on the documented contract (failures) and the reference
//! layer (departures, apart; failures with `--strict`).

use std::process::ExitCode;
use std::time::Duration;

use url::Url;

use crate::fuzz::{FuzzOptions, ReplayOptions, fuzz, replay_with};
use crate::mock::{MockConfig, MockServer};
use crate::target::{ClientOptions, ControlClient, TargetSpec, build_client, install_crypto_provider};

use super::args::{FuzzArgs, ReplayArgs, TargetArgs};
use super::library::{self, UsageError};
use super::run::target_of;
use super::{EXIT_FAILED, EXIT_OK, EXIT_UNREACHABLE, Out};

/// A base URL and a control client for the target; the bundled server is
/// started here and kept alive by the returned handle.
async fn connect(args: &TargetArgs) -> Result<(String, ControlClient, Option<MockServer>), UsageError> {
    install_crypto_provider();
    let target = target_of(args)?;
    let http = build_client(&ClientOptions {
        insecure: args.insecure,
        ..ClientOptions::default()
    })
    .map_err(|e| UsageError::Other(e.to_string()))?;
    match target {
        TargetSpec::Remote(profile) => {
            let control = profile.control.as_ref().ok_or_else(|| {
                UsageError::Other("the target profile has no control API; fuzzing needs it to create actors".into())
            })?;
            let client = ControlClient::new(http, control.url.clone(), control.token.clone());
            Ok((
                profile.base_url.to_string().trim_end_matches('/').to_string(),
                client,
                None,
            ))
        }
        _ => {
            let server = MockServer::start(MockConfig::default())
                .await
                .map_err(|e| UsageError::Other(e.to_string()))?;
            let url = server.url();
            let base = Url::parse(&url).map_err(|e| UsageError::Other(e.to_string()))?;
            Ok((url, ControlClient::new(http, base, None), Some(server)))
        }
    }
}

/// `fuzz`.
pub fn run_fuzz(args: &FuzzArgs, out: &mut Out) -> Result<ExitCode, UsageError> {
    let contract = library::load_contract(&args.contract.library())?;
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(1)
    });
    let options = FuzzOptions {
        seed,
        cases: args.cases.max(1),
        operation: args.operation.clone(),
        time_budget: args.time_budget.map(Duration::from_secs),
        corpus_dir: args.corpus.clone(),
        strict: args.contract.strict,
        max_body_bytes: args.contract.max_body_bytes.max(1),
        ..FuzzOptions::default()
    };
    let runtime =
        tokio::runtime::Runtime::new().map_err(|e| UsageError::Other(format!("cannot start the runtime: {e}")))?;
    let result = runtime.block_on(async {
        let (base, control, server) = connect(&args.target).await?;
        let report = fuzz(&contract, &base, &control, &options).await;
        if let Some(server) = server {
            server.shutdown().await;
        }
        Ok::<_, UsageError>(report)
    })?;
    match result {
        Ok(report) => {
            out.text(&report.render_text());
            out.line(&format!("seed {seed} (rerun with --seed {seed})"));
            Ok(ExitCode::from(if report.is_clean() { EXIT_OK } else { EXIT_FAILED }))
        }
        Err(e) => {
            out.err(&format!("error: {e}"));
            Ok(ExitCode::from(EXIT_UNREACHABLE))
        }
    }
}

/// `replay FILE`.
pub fn run_replay(args: &ReplayArgs, out: &mut Out) -> Result<ExitCode, UsageError> {
    let contract = library::load_contract(&args.contract.library())?;
    let options = ReplayOptions {
        strict: args.contract.strict,
        max_body_bytes: args.contract.max_body_bytes.max(1),
    };
    let runtime =
        tokio::runtime::Runtime::new().map_err(|e| UsageError::Other(format!("cannot start the runtime: {e}")))?;
    let result = runtime.block_on(async {
        let (base, control, server) = connect(&args.target).await?;
        let outcome = replay_with(&args.file, &base, &control, Some(&contract), &options).await;
        if let Some(server) = server {
            server.shutdown().await;
        }
        Ok::<_, UsageError>(outcome)
    })?;
    match result {
        Ok(outcome) => {
            out.text(&outcome.render_text());
            Ok(ExitCode::from(if outcome.reproduced { EXIT_FAILED } else { EXIT_OK }))
        }
        Err(e) => Err(UsageError::Other(e.to_string())),
    }
}
