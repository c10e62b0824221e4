//! Runs the real `nlctl` binary on a host where the genl_echo family is not
//! loaded (the host kernel cannot load modules): usage errors, the "not
//! loaded" path, `--netns` errors and the one-line stderr format.

use std::io::Write;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_nlctl");

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("run nlctl")
}

fn run_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn nlctl");
    let mut stdin = child.stdin.take().unwrap();
    // The child may exit before reading everything: ignore EPIPE.
    let _ = stdin.write_all(input);
    drop(stdin);
    child.wait_with_output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Exactly one line, `nlctl: ...`.
fn assert_one_error_line(o: &Output) -> String {
    let e = stderr(o);
    assert!(e.starts_with("nlctl: "), "stderr: {e:?}");
    assert!(e.ends_with('\n'), "stderr: {e:?}");
    assert_eq!(e.lines().count(), 1, "stderr: {e:?}");
    assert!(o.stdout.is_empty(), "stdout: {:?}", o.stdout);
    e
}

/// Whether the genl_echo family happens to be registered here (then the
/// "not loaded" tests do not apply).
fn family_present() -> bool {
    run(&["get-mode"]).status.code() != Some(3)
}

#[test]
fn help_and_version() {
    let o = run(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8(o.stdout).unwrap();
    for s in [
        "EXIT STATUS",
        "echo",
        "set-mode",
        "get-mode",
        "stats",
        "monitor",
        "info",
        "--netns",
        "--pretty",
    ] {
        assert!(out.contains(s), "--help lacks {s}");
    }
    let o = run(&["-h"]);
    assert_eq!(o.status.code(), Some(0));
    let o = run(&["--version"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        format!("nlctl {}\n", env!("CARGO_PKG_VERSION"))
    );
    for sub in ["echo", "set-mode", "monitor", "info"] {
        assert_eq!(run(&[sub, "--help"]).status.code(), Some(0), "{sub} --help");
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &[][..],
        &["bogus"],
        &["echo"],
        &["set-mode"],
        &["set-mode", "UPPER"],
        &["monitor", "--count", "0"],
        &["monitor", "--count", "x"],
        &["get-mode", "extra"],
    ] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(o.stdout.is_empty());
    }
}

#[test]
fn too_long_message_is_refused_before_sending() {
    // 65531 bytes: one more than GENL_ECHO_MSG_MAX. Refused with status 2
    // whether or not the family exists, since nothing is sent.
    let msg = vec![b'a'; 65531];
    let o = run_stdin(&["echo", "-"], &msg);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = assert_one_error_line(&o);
    assert!(e.contains("too long") && e.contains("65530"), "{e}");

    // Far more than the limit: still a usage error, not a hang or a crash.
    let o = run_stdin(&["echo", "-"], &vec![b'a'; 1 << 20]);
    assert_eq!(o.status.code(), Some(2));
    assert!(assert_one_error_line(&o).contains("65530"));

    // As an argument.
    let long = "b".repeat(65531);
    let o = run(&["echo", &long]);
    assert_eq!(o.status.code(), Some(2));
    assert!(assert_one_error_line(&o).contains("65530"));

    // A usage error wins over a bad --netns: nothing is opened.
    let o = run_stdin(&["--netns", "/nonexistent", "echo", "-"], &msg);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn max_message_with_newline_is_accepted_as_input() {
    if family_present() {
        return;
    }
    // 65530 bytes plus the one newline that is stripped: not a usage error;
    // here it reaches the family lookup and exits 3.
    let mut msg = vec![b'a'; 65530];
    msg.push(b'\n');
    let o = run_stdin(&["echo", "-"], &msg);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
}

#[test]
fn nul_byte_is_a_usage_error() {
    let o = run_stdin(&["echo", "-"], b"a\0b\n");
    assert_eq!(o.status.code(), Some(2));
    assert!(assert_one_error_line(&o).contains("NUL"));
}

#[test]
fn family_not_loaded_exits_3() {
    if family_present() {
        return;
    }
    for args in [
        &["echo", "hello"][..],
        &["set-mode", "upper"],
        &["get-mode"],
        &["stats"],
        &["monitor", "--count", "1"],
        &["info"],
        &["--pretty", "echo", "x"],
    ] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(3), "{args:?}: {}", stderr(&o));
        let e = assert_one_error_line(&o);
        assert!(e.contains("not loaded"), "{e}");
        assert!(e.contains("modprobe genl_echo"), "{e}");
        assert!(e.contains("insmod genl-kmod/genl_echo.ko"), "{e}");
    }
    let o = run_stdin(&["echo", "-"], b"hello\n");
    assert_eq!(o.status.code(), Some(3));
}

#[test]
fn netns_errors_are_clear() {
    let o = run(&["--netns", "/nonexistent", "get-mode"]);
    assert_eq!(o.status.code(), Some(1));
    let e = assert_one_error_line(&o);
    assert!(e.contains("network namespace /nonexistent"), "{e}");
    assert!(e.contains("No such file or directory"), "{e}");

    let o = run(&["--netns", "no-such-ns-for-nlctl-tests", "stats"]);
    assert_eq!(o.status.code(), Some(1));
    let e = assert_one_error_line(&o);
    assert!(e.contains("/run/netns/no-such-ns-for-nlctl-tests"), "{e}");

    // A file that is not a namespace.
    let o = run(&["--netns", "/dev/null", "stats"]);
    let e = assert_one_error_line(&o);
    assert!(
        matches!(o.status.code(), Some(1) | Some(4)),
        "{:?} {e}",
        o.status
    );
    assert!(e.contains("/dev/null"), "{e}");
}

#[test]
fn netns_of_own_process_works() {
    // Entering our own namespace is a no-op that needs CAP_SYS_ADMIN.
    let o = run(&["--netns", "/proc/self/ns/net", "info", "--family", "nlctrl"]);
    match o.status.code() {
        Some(0) => {}
        Some(4) => {
            assert!(assert_one_error_line(&o).contains("permission denied"));
        }
        c => panic!("unexpected status {c:?}: {}", stderr(&o)),
    }
}

#[test]
fn info_on_the_controller_family() {
    // nlctrl is always registered: this exercises GETFAMILY and GETPOLICY
    // decoding against the real kernel.
    let o = run(&["info", "--family", "nlctrl"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["name"], "nlctrl");
    assert_eq!(v["id"], 16);
    let ops = v["ops"].as_array().unwrap();
    let getfamily = ops.iter().find(|o| o["id"] == 3).unwrap();
    assert_eq!(getfamily["name"], "getfamily");
    assert_eq!(getfamily["flags"]["do"], true);
    let attrs = getfamily["do_policy"]["attrs"].as_array().unwrap();
    let name = attrs.iter().find(|a| a["name"] == "family_name").unwrap();
    assert_eq!(name["type"], "nul_string");
    assert!(v["mcast_groups"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["name"] == "notify"));
    // Compact: one line.
    assert_eq!(o.stdout.iter().filter(|&&b| b == b'\n').count(), 1);

    let o = run(&["--pretty", "info", "--family", "nlctrl"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stdout.iter().filter(|&&b| b == b'\n').count() > 10);
}

#[test]
fn unknown_family_exits_3() {
    let o = run(&["info", "--family", "no_such_family"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(assert_one_error_line(&o).contains("no_such_family"));
}

#[test]
fn kernel_rejection_exits_5_with_errno_name() {
    // A family name longer than GENL_NAMSIZ fails the controller's policy.
    let o = run(&["info", "--family", &"x".repeat(40)]);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    let e = assert_one_error_line(&o);
    assert!(
        e.starts_with("nlctl: kernel rejected family lookup: "),
        "{e}"
    );
    assert!(e.contains("EINVAL") || e.contains("ERANGE"), "{e}");
}

#[test]
fn debug_log_shows_traffic() {
    let o = Command::new(BIN)
        .args(["info", "--family", "nlctrl"])
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let e = stderr(&o);
    assert!(e.contains("send ") && e.contains("recv "), "{e}");
    assert!(e.contains("hex:"), "{e}");
}
