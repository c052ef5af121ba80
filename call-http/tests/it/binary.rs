//! The `call-http` binary's own refusals.

use std::process::Command;

#[test]
fn it_refuses_to_listen_beyond_loopback_without_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_call-http"))
        .args(["--listen", "0.0.0.0:0", "--db"])
        .arg(dir.path().join("calls.db"))
        .env_remove("CALLS_API_KEY")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("refusing to listen on 0.0.0.0:0 without an API key"), "{stderr}");
    assert!(!dir.path().join("calls.db").exists(), "nothing was created");
}

#[test]
fn a_bad_provider_url_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_call-http"))
        .args(["--listen", "127.0.0.1:0", "--provider-url", "not a url", "--db"])
        .arg(dir.path().join("calls.db"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("invalid --provider-url"));
}
