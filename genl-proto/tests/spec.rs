//! Checks genl-kmod/genl_echo.yaml (the family's YNL spec, the source of
//! its ABI) against genl-proto: family name and version, constants, mode
//! entries, attribute names/types/values, operation names/values and the
//! multicast group, and that every attribute, operation and enum value is
//! documented. The Rust side is generated from the spec (`cargo xtask
//! gen`); this test reads the spec independently of that generator, and
//! tests/header.rs ties both to the UAPI header.

use std::path::PathBuf;

use genl_proto::{consts, Attr, Cmd, Mode};
use serde_yaml::Value;

fn spec() -> Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../genl-kmod/genl_echo.yaml");
    let text = std::fs::read_to_string(&p).expect("read genl-kmod/genl_echo.yaml");
    serde_yaml::from_str(&text).expect("parse genl-kmod/genl_echo.yaml")
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v:?}"))
}

fn list<'a>(v: &'a Value, what: &str) -> &'a Vec<Value> {
    v.as_sequence()
        .unwrap_or_else(|| panic!("{what} is not a list"))
}

/// Rust snake-case name → YNL kebab-case name.
fn kebab(n: &str) -> String {
    n.replace('_', "-")
}

/// Values of a YNL list: `value:` if given, else one more than the
/// previous (starting at `first`).
fn values(entries: &[Value], first: i64) -> Vec<(String, i64, Value)> {
    let mut next = first;
    entries
        .iter()
        .map(|e| {
            let (name, v) = match e {
                Value::String(n) => (n.clone(), next),
                _ => (
                    s(&e["name"]).to_owned(),
                    e.get("value").and_then(Value::as_i64).unwrap_or(next),
                ),
            };
            next = v + 1;
            (name, v, e.clone())
        })
        .collect()
}

#[test]
fn spec_matches_rust() {
    let y = spec();
    assert_eq!(s(&y["name"]), consts::FAMILY_NAME);
    // genetlink-legacy: the only schema level that has uns-admin-perm.
    assert_eq!(s(&y["protocol"]), "genetlink-legacy");
    assert_eq!(
        y["version"].as_u64(),
        Some(u64::from(consts::FAMILY_VERSION))
    );

    let defs = list(&y["definitions"], "definitions");
    let msg_max = defs
        .iter()
        .find(|d| d["name"] == "msg-max")
        .expect("const msg-max");
    assert_eq!(msg_max["value"].as_u64(), Some(consts::MSG_MAX as u64));

    let mode = defs
        .iter()
        .find(|d| d["name"] == "mode")
        .expect("enum mode");
    let modes = values(list(&mode["entries"], "mode entries"), 0);
    let want: Vec<(String, i64)> = Mode::ALL
        .iter()
        .map(|m| (m.name().unwrap().to_owned(), i64::from(m.value())))
        .collect();
    let got: Vec<(String, i64)> = modes.iter().map(|(n, v, _)| (n.clone(), *v)).collect();
    assert_eq!(got, want, "mode entries");

    let sets = list(&y["attribute-sets"], "attribute-sets");
    assert_eq!(sets.len(), 1);
    let attrs = values(list(&sets[0]["attributes"], "attributes"), 1);
    let want: Vec<(String, i64)> = Attr::ALL
        .iter()
        .map(|a| (kebab(a.name().unwrap()), i64::from(a.value())))
        .collect();
    let got: Vec<(String, i64)> = attrs.iter().map(|(n, v, _)| (n.clone(), *v)).collect();
    assert_eq!(got, want, "attributes");
    // The types genl-proto's hand-written decoders rely on; an attribute
    // added to the spec later needs no entry here.
    for (name, _, e) in &attrs {
        let ty = s(&e["type"]);
        let want = match name.as_str() {
            "unspec" => "unused",
            "pad" => "pad",
            "msg" => "string",
            "mode" | "prev-mode" => "u32",
            n if n.starts_with("stats-") => "u64",
            _ => continue,
        };
        assert_eq!(ty, want, "type of {name}");
        if name == "msg" {
            assert_eq!(e["checks"]["max-len"], "msg-max");
        }
        if name == "mode" || name == "prev-mode" {
            assert_eq!(e["enum"], "mode");
        }
    }

    let ops = values(list(&y["operations"]["list"], "operations"), 1);
    let want: Vec<(String, i64)> = Cmd::ALL
        .iter()
        .map(|c| (kebab(c.name().unwrap()), i64::from(c.value())))
        .collect();
    let got: Vec<(String, i64)> = ops.iter().map(|(n, v, _)| (n.clone(), *v)).collect();
    assert_eq!(got, want, "operations");

    let groups = list(&y["mcast-groups"]["list"], "mcast-groups");
    assert_eq!(groups.len(), 1);
    assert_eq!(s(&groups[0]["name"]), consts::MCGRP_EVENTS);
    let ntf = ops.iter().find(|(n, _, _)| n == "case-ntf").unwrap();
    assert_eq!(ntf.2["mcgrp"], consts::MCGRP_EVENTS);
    let set_case = ops.iter().find(|(n, _, _)| n == "set-case").unwrap();
    assert_eq!(set_case.2["flags"][0], "uns-admin-perm");
}

#[test]
fn every_attribute_operation_and_enum_value_is_documented() {
    let y = spec();
    assert!(!s(&y["doc"]).trim().is_empty());
    let mut undocumented = Vec::new();
    let mut check = |what: &str, entries: &Vec<Value>| {
        for e in entries {
            if e.get("doc")
                .and_then(Value::as_str)
                .is_none_or(|d| d.trim().is_empty())
            {
                undocumented.push(format!("{what} {}", s(&e["name"])));
            }
        }
    };
    for d in list(&y["definitions"], "definitions") {
        check("definition", &vec![d.clone()]);
        if d["type"] == "enum" {
            check(
                &format!("{} entry", s(&d["name"])),
                list(&d["entries"], "entries"),
            );
        }
    }
    for set in list(&y["attribute-sets"], "attribute-sets") {
        check("attribute", list(&set["attributes"], "attributes"));
    }
    check("operation", list(&y["operations"]["list"], "operations"));
    assert!(undocumented.is_empty(), "no doc: {undocumented:?}");
}
