//! A PostgreSQL server for tests (feature `testing`).
//!
//! [`TestServer::shared`] is the server of the whole test process: the one
//! at `CALLWORK_TEST_PG_URL` when that is set, else a throwaway one started
//! from the system's packages (`initdb` and `postgres` under
//! `/usr/lib/postgresql/*/bin`) in a temporary folder on a free port, with
//! `fsync=off`, as the `postgres` user when the tests run as root. It stops,
//! and its folder is removed, when the test process exits, however it
//! exits: the server's keeper reads the test process's end of a pipe.
//!
//! Each test takes a database of its own with [`TestServer::database`], so
//! tests run in parallel. A test that takes the server down and up again
//! starts one of its own with [`TestServer::dedicated`] and calls
//! [`TestServer::restart`]. On a machine with no PostgreSQL, `shared` answers
//! `None` and prints one line saying what to install, and the tests skip
//! themselves; with `CALLWORK_REQUIRE_PG=1` (as CI sets it) it panics
//! instead, so a skipped suite cannot pass unnoticed.

use std::{
    io::{BufRead, BufReader, Lines, Write},
    path::{Path, PathBuf},
    process::{Child, ChildStdin, ChildStdout, Command, Stdio},
    sync::{
        Mutex, OnceLock,
        atomic::{AtomicU32, Ordering},
    },
    time::{Duration, Instant},
};

use sqlx::{Connection, PgConnection};

/// How long a new server may take to accept connections.
const STARTUP: Duration = Duration::from_secs(60);

/// A PostgreSQL server that tests may create databases on.
#[derive(Debug)]
pub struct TestServer {
    /// The URL of its `postgres` database, for administration.
    admin_url: String,
    /// The keeper of a throwaway server (absent for `CALLWORK_TEST_PG_URL`).
    keeper: Option<Mutex<Keeper>>,
}

/// The shell that runs a throwaway server, and the pipes to it.
#[derive(Debug)]
struct Keeper {
    _child: Child,
    commands: ChildStdin,
    answers: Lines<BufReader<ChildStdout>>,
}

/// Starts a throwaway server as `postgres` and keeps it until its standard
/// input closes; prints the folder it made, then, once it is up, `ready`.
/// On the line `restart SECONDS` it stops the server as `pg_ctl restart -m
/// fast` would (open connections are cut), keeps it down that long, starts
/// it again on the same port and data, and prints `restarted`.
const KEEPER: &str = r#"
set -eu
bin=$1
port=$2
dir=$(mktemp -d /tmp/callwork-pg.XXXXXX)
pid=""
trap 'set +e; if [ -n "$pid" ]; then kill -QUIT "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi; rm -rf "$dir"' EXIT
echo "$dir"
"$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
serve() {
    "$bin/postgres" -D "$dir/data" -p "$port" -k "$dir" -c listen_addresses=127.0.0.1 \
        -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400 \
        >>"$dir/server.log" 2>&1 &
    pid=$!
    i=0
    until "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; do
        i=$((i + 1))
        if [ "$i" -gt 600 ] || ! kill -0 "$pid" 2>/dev/null; then cat "$dir/server.log" >&2; exit 1; fi
        sleep 0.1
    done
}
serve
echo ready
# The test process's end of this pipe closes when it exits, however it exits.
while read -r command seconds; do
    if [ "$command" = restart ]; then
        kill -INT "$pid"
        wait "$pid" || true
        pid=""
        sleep "$seconds"
        serve
        echo restarted
    fi
done
"#;

impl TestServer {
    /// The server of this test process, started on first use; `None`, with
    /// one line on standard error saying why, when there is none to be had.
    ///
    /// # Panics
    ///
    /// When a server was found but would not start, or when
    /// `CALLWORK_REQUIRE_PG` is set and there is none.
    pub fn shared() -> Option<&'static TestServer> {
        static SERVER: OnceLock<Option<TestServer>> = OnceLock::new();
        let server = SERVER.get_or_init(|| {
            if let Ok(url) = std::env::var("CALLWORK_TEST_PG_URL") {
                return Some(TestServer { admin_url: url, keeper: None });
            }
            let Some(bin) = postgres_bin() else {
                assert!(
                    std::env::var_os("CALLWORK_REQUIRE_PG").is_none(),
                    "CALLWORK_REQUIRE_PG is set, but there is no PostgreSQL: \
                     no CALLWORK_TEST_PG_URL and no /usr/lib/postgresql/*/bin/initdb"
                );
                skipped(
                    "the PostgreSQL tests (no CALLWORK_TEST_PG_URL and no \
                     /usr/lib/postgresql/*/bin/initdb; `apt-get install postgresql` runs them)",
                );
                return None;
            };
            Some(start(&bin))
        });
        server.as_ref()
    }

    /// A throwaway server of the caller's own, which it may
    /// [`restart`](Self::restart); stopped when dropped. `None`, with one
    /// line on standard error, when the system has no PostgreSQL (a server
    /// at `CALLWORK_TEST_PG_URL` cannot be restarted by a test).
    ///
    /// # Panics
    ///
    /// As for [`shared`](Self::shared).
    pub fn dedicated() -> Option<TestServer> {
        let Some(bin) = postgres_bin() else {
            assert!(
                std::env::var_os("CALLWORK_REQUIRE_PG").is_none(),
                "CALLWORK_REQUIRE_PG is set, but there is no /usr/lib/postgresql/*/bin/initdb"
            );
            skipped(
                "a PostgreSQL restart test (no /usr/lib/postgresql/*/bin/initdb; \
                 `apt-get install postgresql` runs it)",
            );
            return None;
        };
        Some(start(&bin))
    }

    /// Stops the server as `pg_ctl restart -m fast` does, cutting every open
    /// connection, keeps it down for `down_for`, and starts it again on the
    /// same port and data; returns once it accepts connections. Blocks.
    ///
    /// # Panics
    ///
    /// When this server is not one this process started, or it does not
    /// come back.
    pub fn restart(&self, down_for: Duration) {
        let keeper = self.keeper.as_ref().expect("a server this process started");
        let mut keeper = keeper.lock().unwrap_or_else(|e| e.into_inner());
        writeln!(keeper.commands, "restart {:.3}", down_for.as_secs_f64())
            .and_then(|()| keeper.commands.flush())
            .expect("the server's keeper takes commands");
        let answer = keeper.answers.next().and_then(Result::ok);
        assert_eq!(
            answer.as_deref(),
            Some("restarted"),
            "the test PostgreSQL server did not come back"
        );
    }

    /// The URL of the server's `postgres` database.
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }

    /// Creates a new, empty database and answers its URL.
    ///
    /// # Panics
    ///
    /// When the server refuses.
    pub async fn database(&self) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "callwork_test_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = PgConnection::connect(&self.admin_url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to the test server: {e}"));
        for statement in
            [format!("DROP DATABASE IF EXISTS {name}"), format!("CREATE DATABASE {name}")]
        {
            sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
                .execute(&mut admin)
                .await
                .unwrap_or_else(|e| panic!("cannot create a test database: {e}"));
        }
        let _ = admin.close().await;
        let mut url = url::Url::parse(&self.admin_url).expect("the test server's URL");
        url.set_path(&name);
        url.to_string()
    }
}

/// The newest `/usr/lib/postgresql/VERSION/bin` that has `initdb`.
fn postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

fn start(bin: &Path) -> TestServer {
    let port = free_port();
    // initdb and postgres refuse to run as root.
    let mut command = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", "sh", "-c", KEEPER, "sh"]);
        c
    } else {
        let mut c = Command::new("sh");
        c.args(["-c", KEEPER, "sh"]);
        c
    };
    let mut keeper = command
        .arg(bin)
        .arg(port.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start the test PostgreSQL server: {e}"));
    let stdout = keeper.stdout.take().expect("the keeper's output");
    let commands = keeper.stdin.take().expect("the keeper's input");
    let started = Instant::now();
    let mut lines = BufReader::new(stdout).lines();
    let folder = lines.next().and_then(Result::ok).unwrap_or_default();
    let ready = lines.next().and_then(Result::ok);
    assert!(
        ready.as_deref() == Some("ready") && started.elapsed() < STARTUP,
        "the test PostgreSQL server in {folder} did not start (see above)"
    );
    TestServer {
        admin_url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        keeper: Some(Mutex::new(Keeper { _child: keeper, commands, answers: lines })),
    }
}

/// Says on standard error, in one line, that a test skipped `what`, past
/// the test harness's capture (which hides the output of a test that
/// passes). `call-test-support` has the same for the workspace's own
/// tests; this crate is published and cannot depend on it.
fn skipped(what: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "skipped: {what}");
}
