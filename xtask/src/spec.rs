//! The family's YNL spec (`genl-kmod/genl_echo.yaml`), read into the few
//! things the Rust and Python generators need: names, values, docs.
//!
//! Values and C names follow the kernel's own rules (`tools/net/ynl/lib/
//! nlspec.py` and `ynl-gen-c.py`): an entry without `value:` is one more
//! than the previous one; enum entries start at 0, attributes and
//! operations at 1; a C name is the upper-cased prefix plus the name, `-`
//! becoming `_`.

use std::fmt;

use serde_yaml::Value;

/// A spec the generators cannot use.
#[derive(Debug)]
pub struct SpecError(pub String);

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "spec: {}", self.0)
    }
}

impl std::error::Error for SpecError {}

fn err<T>(msg: impl Into<String>) -> Result<T, SpecError> {
    Err(SpecError(msg.into()))
}

/// One named value: an enum entry, an attribute or an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The spec's (kebab-case) name.
    pub name: String,
    pub value: u64,
    /// The C enumerator in the UAPI header.
    pub c_name: String,
    /// The spec's `doc:`, trimmed; empty if none.
    pub doc: String,
    /// Attribute type (`u32`, `string`, ...); empty for other items.
    pub ty: String,
}

#[derive(Debug, Clone)]
pub struct Const {
    pub value: u64,
    pub c_name: String,
    pub doc: String,
}

#[derive(Debug, Clone)]
pub struct Enum {
    pub name: String,
    /// `enum <c_name>` in the UAPI header.
    pub c_name: String,
    pub doc: String,
    pub entries: Vec<Item>,
    /// The `..._MAX` enumerator, if the spec asks for one (`render-max`).
    pub max_c_name: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Spec {
    /// The family name (`genl_echo`).
    pub name: String,
    pub protocol: String,
    pub version: u64,
    pub consts: Vec<Const>,
    pub enums: Vec<Enum>,
    /// `enum <attr_c_name>` (`None`: an anonymous enum); its `_MAX` is
    /// `attr_max_c_name`.
    pub attr_c_name: Option<String>,
    pub attr_max_c_name: String,
    pub attrs: Vec<Item>,
    pub cmd_c_name: Option<String>,
    pub cmd_max_c_name: String,
    pub cmds: Vec<Item>,
    pub mcgrps: Vec<String>,
}

/// The kernel generator's `c_upper`.
pub fn c_upper(s: &str) -> String {
    s.replace('-', "_").to_uppercase()
}

/// The kernel generator's `c_lower`.
pub fn c_lower(s: &str) -> String {
    s.replace('-', "_").to_lowercase()
}

fn str_of<'a>(v: &'a Value, key: &str, what: &str) -> Result<&'a str, SpecError> {
    match v.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => err(format!("{what}: {key} is not a string")),
        None => err(format!("{what}: no {key}")),
    }
}

fn opt_str(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn doc(v: &Value) -> String {
    opt_str(v, "doc").unwrap_or_default().trim().to_owned()
}

fn seq<'a>(v: Option<&'a Value>, what: &str) -> Result<&'a [Value], SpecError> {
    match v {
        Some(Value::Sequence(s)) => Ok(s),
        None => Ok(&[]),
        Some(_) => err(format!("{what} is not a list")),
    }
}

/// Names, values and docs of a YNL list whose entries are strings or maps
/// with `name`, optional `value` and optional `doc`.
fn items(list: &[Value], first: u64, prefix: &str, what: &str) -> Result<Vec<Item>, SpecError> {
    let mut next = first;
    let mut out = Vec::new();
    for e in list {
        let (name, value, doc, ty) = match e {
            Value::String(n) => (n.clone(), next, String::new(), String::new()),
            Value::Mapping(_) => {
                let name = str_of(e, "name", what)?.to_owned();
                let value = match e.get("value") {
                    None => next,
                    Some(v) => match v.as_u64() {
                        Some(v) => v,
                        None => return err(format!("{what} {name}: value is not an integer")),
                    },
                };
                (name, value, doc(e), opt_str(e, "type").unwrap_or_default())
            }
            _ => return err(format!("{what}: an entry is neither a name nor a map")),
        };
        next = value + 1;
        out.push(Item {
            c_name: c_upper(&format!("{prefix}{name}")),
            name,
            value,
            doc,
            ty,
        });
    }
    Ok(out)
}

impl Spec {
    pub fn parse(text: &str) -> Result<Spec, SpecError> {
        let y: Value =
            serde_yaml::from_str(text).map_err(|e| SpecError(format!("not YAML: {e}")))?;
        let name = str_of(&y, "name", "family")?.to_owned();
        let protocol = opt_str(&y, "protocol").unwrap_or_else(|| "genetlink".to_owned());
        let version = y.get("version").and_then(Value::as_u64).unwrap_or(1);
        if version > u64::from(u8::MAX) {
            return err("version does not fit genlmsghdr.version (u8)");
        }

        let mut consts = Vec::new();
        let mut enums = Vec::new();
        for d in seq(y.get("definitions"), "definitions")? {
            let dname = str_of(d, "name", "definition")?;
            if d.get("header").is_some() || opt_str(d, "scope").is_some_and(|s| s != "uapi") {
                continue;
            }
            match str_of(d, "type", dname)? {
                "const" => {
                    let Some(value) = d.get("value").and_then(Value::as_u64) else {
                        return err(format!("const {dname}: only integer values are supported"));
                    };
                    consts.push(Const {
                        value,
                        c_name: c_upper(&format!("{name}-{dname}")),
                        doc: doc(d),
                    });
                }
                "enum" => {
                    let prefix = opt_str(d, "name-prefix").unwrap_or(format!("{name}-{dname}-"));
                    let first = d.get("value-start").and_then(Value::as_u64).unwrap_or(0);
                    let render_max = d.get("render-max").and_then(Value::as_bool) == Some(true);
                    enums.push(Enum {
                        name: dname.to_owned(),
                        c_name: opt_str(d, "enum-name")
                            .map_or_else(|| c_lower(&format!("{name}-{dname}")), |n| c_lower(&n)),
                        doc: doc(d),
                        entries: items(
                            seq(d.get("entries"), "entries")?,
                            first,
                            &prefix,
                            &format!("enum {dname}"),
                        )?,
                        max_c_name: render_max.then(|| c_upper(&format!("{prefix}max"))),
                    });
                }
                t => return err(format!("definition {dname}: type {t} is not supported")),
            }
        }

        let sets = seq(y.get("attribute-sets"), "attribute-sets")?;
        let [set] = sets else {
            return err("exactly one attribute set is supported");
        };
        let set_name = str_of(set, "name", "attribute set")?;
        let prefix = opt_str(set, "name-prefix").unwrap_or_else(|| {
            if set_name == name {
                format!("{name}-a-")
            } else {
                format!("{name}-a-{set_name}-")
            }
        });
        let attr_c_name = opt_str(set, "enum-name").map(|n| c_lower(&n));
        let attr_max_c_name = opt_str(set, "attr-max-name")
            .map_or_else(|| c_upper(&format!("{prefix}max")), |n| c_upper(&n));
        let attrs = items(
            seq(set.get("attributes"), "attributes")?,
            1,
            &prefix,
            "attribute",
        )?;

        let ops = y
            .get("operations")
            .ok_or_else(|| SpecError("no operations".into()))?;
        if opt_str(ops, "enum-model").is_some_and(|m| m != "unified") {
            return err("only enum-model: unified is supported");
        }
        let op_prefix = opt_str(ops, "name-prefix").unwrap_or(format!("{name}-cmd-"));
        let cmd_c_name = opt_str(ops, "enum-name").map(|n| c_lower(&n));
        let cmd_max_c_name =
            c_upper(&opt_str(ops, "cmd-max-name").unwrap_or_else(|| format!("{op_prefix}max")));
        let cmds = items(
            seq(ops.get("list"), "operations")?,
            1,
            &op_prefix,
            "operation",
        )?;

        let mcgrps = match y.get("mcast-groups") {
            Some(g) => seq(g.get("list"), "mcast-groups")?
                .iter()
                .map(|g| str_of(g, "name", "mcast group").map(str::to_owned))
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };

        let spec = Spec {
            protocol,
            version,
            consts,
            enums,
            attr_c_name,
            attr_max_c_name,
            attrs,
            cmd_max_c_name,
            cmd_c_name,
            cmds,
            mcgrps,
            name,
        };
        spec.check()?;
        Ok(spec)
    }

    /// Refuses what the generated Rust could not represent.
    fn check(&self) -> Result<(), SpecError> {
        let lists: Vec<(&str, &[Item], u64)> = self
            .enums
            .iter()
            .map(|e| (e.name.as_str(), &e.entries[..], u64::from(u32::MAX)))
            .chain([
                ("attributes", &self.attrs[..], u64::from(u16::MAX >> 2)),
                ("operations", &self.cmds[..], u64::from(u8::MAX)),
            ])
            .collect();
        for (what, list, max) in lists {
            if list.is_empty() {
                return err(format!("{what}: empty"));
            }
            for w in list.windows(2) {
                if w[1].value <= w[0].value {
                    return err(format!(
                        "{what}: {} does not follow {}",
                        w[1].name, w[0].name
                    ));
                }
            }
            if let Some(i) = list.iter().find(|i| i.value > max) {
                return err(format!("{what}: {} = {} is too large", i.name, i.value));
            }
        }
        Ok(())
    }

    /// The C name of the family-name define (`GENL_ECHO_FAMILY_NAME`).
    pub fn family_c_name(&self) -> String {
        c_upper(&format!("{}_FAMILY_NAME", self.name))
    }

    pub fn version_c_name(&self) -> String {
        c_upper(&format!("{}_FAMILY_VERSION", self.name))
    }

    pub fn mcgrp_c_name(&self, group: &str) -> String {
        c_upper(&format!("{}-mcgrp-{group}", self.name))
    }

    /// The `..._MAX` value of a list: its last value.
    pub fn max(list: &[Item]) -> u64 {
        list.last().map_or(0, |i| i.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINI: &str = "
name: fam
doc: d
definitions:
  - { type: const, name: len-max, value: 7 }
  - type: enum
    name: color
    render-max: true
    entries: [ red, { name: blue, value: 4, doc: ' Blue. ' } ]
attribute-sets:
  - name: main
    attributes:
      - { name: unspec, type: unused, value: 0 }
      - { name: a-b, type: u32 }
operations:
  list:
    - { name: get, doc: Get. }
    - { name: put, value: 9 }
mcast-groups:
  list: [ { name: ev } ]
";

    #[test]
    fn values_and_names_follow_the_kernel_rules() {
        let s = Spec::parse(MINI).unwrap();
        assert_eq!(s.consts[0].c_name, "FAM_LEN_MAX");
        let e = &s.enums[0];
        assert_eq!(e.c_name, "fam_color");
        assert_eq!(
            e.entries
                .iter()
                .map(|i| (i.c_name.as_str(), i.value))
                .collect::<Vec<_>>(),
            [("FAM_COLOR_RED", 0), ("FAM_COLOR_BLUE", 4)]
        );
        assert_eq!(e.entries[1].doc, "Blue.");
        assert_eq!(e.max_c_name.as_deref(), Some("FAM_COLOR_MAX"));
        assert_eq!(s.attrs[1].c_name, "FAM_A_MAIN_A_B");
        assert_eq!(s.attrs[1].value, 1);
        assert_eq!(s.attr_c_name, None);
        assert_eq!(s.cmds.iter().map(|i| i.value).collect::<Vec<_>>(), [1, 9]);
        assert_eq!(s.cmd_max_c_name, "FAM_CMD_MAX");
        assert_eq!(s.mcgrp_c_name("ev"), "FAM_MCGRP_EV");
        assert_eq!(s.version, 1);
    }

    #[test]
    fn refuses_what_rust_cannot_hold() {
        let dup = MINI.replace("value: 9", "value: 1");
        assert!(Spec::parse(&dup).unwrap_err().0.contains("does not follow"));
        let two_sets = MINI.replace(
            "operations:",
            "  - { name: other, attributes: [] }\noperations:",
        );
        assert!(Spec::parse(&two_sets)
            .unwrap_err()
            .0
            .contains("one attribute set"));
    }
}
