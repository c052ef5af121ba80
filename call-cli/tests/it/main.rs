//! The `calls` binary, run for real against a temporary database and the
//! stand-in provider on port 0 at a fast time scale.

mod bad_input;
mod call_centre;
mod import;
mod postgres;
mod same_json;
mod schedule_and_run;

use std::{ffi::OsString, path::PathBuf, process::Output};

use call_provider_http::mock::{MockCallApi, MockOptions};
use serde_json::Value;
use tempfile::TempDir;

/// A temporary database and the commands run on it.
pub(crate) struct Calls {
    dir: TempDir,
    /// A `postgres://` URL, used instead of the file in `dir` when set.
    url: Option<String>,
}

/// What one run of `calls` did.
#[derive(Debug)]
pub(crate) struct Ran {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl From<Output> for Ran {
    fn from(output: Output) -> Ran {
        Ran {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Calls {
    pub(crate) fn new() -> Calls {
        Calls { dir: tempfile::tempdir().unwrap(), url: None }
    }

    /// The commands on the PostgreSQL database at `url`.
    pub(crate) fn on(url: String) -> Calls {
        Calls { dir: tempfile::tempdir().unwrap(), url: Some(url) }
    }

    pub(crate) fn db(&self) -> PathBuf {
        self.dir.path().join("calls.db")
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `calls` with this database and UTC times, not yet run.
    pub(crate) fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_calls"));
        command
            .args(args)
            .env(
                "CALLS_DB",
                self.url.as_deref().map_or_else(|| OsString::from(self.db()), OsString::from),
            )
            .env_remove("DATABASE_URL")
            .env("TZ", "UTC")
            .env_remove("CALLS_PROVIDER_URL")
            .env_remove("CALLS_DEFAULT_REGION")
            .env_remove("RUST_LOG")
            .kill_on_drop(true);
        command
    }

    pub(crate) async fn run(&self, args: &[&str]) -> Ran {
        self.command(args).output().await.unwrap().into()
    }

    /// Runs a command that must succeed; its stdout.
    pub(crate) async fn ok(&self, args: &[&str]) -> String {
        let ran = self.run(args).await;
        assert_eq!(ran.code, 0, "calls {args:?} failed: {}", ran.stderr);
        ran.stdout
    }

    /// Runs a command with `--json` that must succeed; its JSON.
    pub(crate) async fn json(&self, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.push("--json");
        let stdout = self.ok(&args).await;
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {stdout}"))
    }

    /// Schedules a call; its id.
    pub(crate) async fn schedule(&self, args: &[&str]) -> String {
        let mut all = vec!["schedule"];
        all.extend_from_slice(args);
        self.json(&all).await["id"].as_str().unwrap().to_owned()
    }

    /// Every call, newest first, page by page.
    pub(crate) async fn list(&self) -> Vec<Value> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut args = vec!["list", "--limit", "500"];
            if let Some(cursor) = &cursor {
                args.extend(["--cursor", cursor]);
            }
            let page = self.json(&args).await;
            all.extend(page["calls"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return all,
            }
        }
    }
}

/// The stand-in provider: 10 contract seconds take 100 ms.
pub(crate) async fn stand_in() -> MockCallApi {
    MockCallApi::start(MockOptions { time_scale: 0.01, ..MockOptions::default() }).await.unwrap()
}
