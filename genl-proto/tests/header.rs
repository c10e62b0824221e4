//! Compiles a C program against the UAPI header and checks that every
//! constant in genl-proto equals the header's, and that the Rust enums have
//! exactly the header's enumerators.
//!
//! The enumerator names are read from the header itself, so a new command,
//! attribute or mode added to the header fails this test until the Rust enum
//! has it too.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use genl_proto::{consts, Attr, Cmd, Mode};

fn header_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../genl-kmod/include/uapi")
}

/// Strips C comments.
fn strip_comments(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("/*") {
        out.push_str(&rest[..i]);
        match rest[i..].find("*/") {
            Some(j) => rest = &rest[i + j + 2..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

/// Enumerator names of `enum <name> { ... };` in `src`.
fn enumerators(src: &str, name: &str) -> Vec<String> {
    let start = src
        .find(&format!("enum {name} {{"))
        .unwrap_or_else(|| panic!("enum {name} not found in header"));
    let body = &src[start..];
    let open = body.find('{').unwrap() + 1;
    let close = body.find("};").unwrap();
    body[open..close]
        .split(',')
        .map(|e| e.split('=').next().unwrap().trim().to_owned())
        .filter(|e| !e.is_empty())
        .collect()
}

fn c_values() -> (BTreeMap<String, i64>, BTreeMap<String, String>, Vec<String>) {
    let hdr = header_dir().join("linux/genl_echo.h");
    let src = strip_comments(&std::fs::read_to_string(&hdr).expect("read UAPI header"));
    let mut names = Vec::new();
    for e in ["genl_echo_mode", "genl_echo_attr", "genl_echo_cmd"] {
        names.extend(enumerators(&src, e));
    }
    let mut c =
        String::from("#include <stdio.h>\n#include \"linux/genl_echo.h\"\nint main(void) {\n");
    for s in ["GENL_ECHO_FAMILY_NAME", "GENL_ECHO_MCGRP_EVENTS"] {
        c.push_str(&format!("\tprintf(\"S %s %s\\n\", \"{s}\", {s});\n"));
    }
    let ints = ["GENL_ECHO_FAMILY_VERSION", "GENL_ECHO_MSG_MAX"];
    for n in ints
        .iter()
        .map(|s| s.to_string())
        .chain(names.iter().cloned())
    {
        c.push_str(&format!(
            "\tprintf(\"I %s %lld\\n\", \"{n}\", (long long)({n}));\n"
        ));
    }
    c.push_str("\treturn 0;\n}\n");

    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("uapi-header-test");
    std::fs::create_dir_all(&dir).unwrap();
    let csrc = dir.join("consts.c");
    let exe = dir.join("consts");
    std::fs::write(&csrc, c).unwrap();
    let st = Command::new("cc")
        .args(["-std=c99", "-Wall", "-Werror", "-I"])
        .arg(header_dir())
        .arg("-o")
        .arg(&exe)
        .arg(&csrc)
        .status()
        .expect("run cc (a C compiler is needed for this test)");
    assert!(st.success(), "cc failed");
    let out = Command::new(&exe).output().expect("run compiled program");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let (mut i, mut s) = (BTreeMap::new(), BTreeMap::new());
    for line in text.lines() {
        let mut it = line.splitn(3, ' ');
        let (k, n, v) = (it.next().unwrap(), it.next().unwrap(), it.next().unwrap());
        if k == "I" {
            i.insert(n.to_owned(), v.parse().unwrap());
        } else {
            s.insert(n.to_owned(), v.to_owned());
        }
    }
    (i, s, names)
}

/// Checks that the public (non-`__`, non-`_MAX`) enumerators with `prefix`
/// are exactly `rust` (C name → value), and that `<prefix>MAX` is `max`.
fn check_enum(
    ints: &BTreeMap<String, i64>,
    names: &[String],
    prefix: &str,
    rust: &[(&str, i64)],
    max: i64,
) {
    let c: BTreeMap<&str, i64> = names
        .iter()
        .filter(|n| n.starts_with(prefix) && !n.ends_with("_MAX"))
        .map(|n| (n.as_str(), ints[n]))
        .collect();
    assert!(!c.is_empty(), "no {prefix}* enumerators parsed");
    let r: BTreeMap<&str, i64> = rust.iter().copied().collect();
    assert_eq!(r, c, "Rust and C disagree on {prefix}*");
    assert_eq!(ints[&format!("{prefix}MAX")], max, "{prefix}MAX");
    // Values are exactly 0..=MAX with no holes.
    let mut vals: Vec<i64> = c.values().copied().collect();
    vals.sort_unstable();
    assert_eq!(vals, (0..=max).collect::<Vec<_>>());
}

#[test]
fn rust_constants_equal_uapi_header() {
    let (ints, strs, names) = c_values();
    assert_eq!(strs["GENL_ECHO_FAMILY_NAME"], consts::FAMILY_NAME);
    assert_eq!(strs["GENL_ECHO_MCGRP_EVENTS"], consts::MCGRP_EVENTS);
    assert_eq!(
        ints["GENL_ECHO_FAMILY_VERSION"],
        i64::from(consts::FAMILY_VERSION)
    );
    assert_eq!(ints["GENL_ECHO_MSG_MAX"], consts::MSG_MAX as i64);

    let modes: Vec<(&str, i64)> = Mode::ALL
        .iter()
        .map(|m| (m.c_name().unwrap(), i64::from(m.value())))
        .collect();
    check_enum(
        &ints,
        &names,
        "GENL_ECHO_MODE_",
        &modes,
        i64::from(Mode::MAX),
    );

    let attrs: Vec<(&str, i64)> = Attr::ALL
        .iter()
        .map(|a| (a.c_name().unwrap(), i64::from(a.value())))
        .collect();
    check_enum(&ints, &names, "GENL_ECHO_A_", &attrs, i64::from(Attr::MAX));

    let cmds: Vec<(&str, i64)> = Cmd::ALL
        .iter()
        .map(|c| (c.c_name().unwrap(), i64::from(c.value())))
        .collect();
    check_enum(&ints, &names, "GENL_ECHO_CMD_", &cmds, i64::from(Cmd::MAX));
}

#[test]
fn rust_enums_are_self_consistent() {
    for (i, m) in Mode::ALL.iter().enumerate() {
        assert_eq!(m.value() as usize, i);
    }
    for (i, a) in Attr::ALL.iter().enumerate() {
        assert_eq!(a.value() as usize, i);
        assert_eq!(Attr::from(a.value()), *a);
        assert!(a.name().is_some());
    }
    for (i, c) in Cmd::ALL.iter().enumerate() {
        assert_eq!(c.value() as usize, i);
        assert_eq!(Cmd::from(c.value()), *c);
        assert!(c.name().is_some());
    }
    assert!(Attr::from(Attr::MAX + 1).name().is_none());
    assert!(Cmd::from(Cmd::MAX + 1).name().is_none());
}
