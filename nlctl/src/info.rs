//! `nlctl info`: what the kernel reports about the family.
//!
//! Shape (keys in this order):
//!
//! ```json
//! {"id":30,"name":"genl_echo","version":1,"hdrsize":0,"maxattr":9,
//!  "ops":[{"id":1,"name":"echo",
//!          "flags":{"admin_perm":false,"uns_admin_perm":false,"do":true,
//!                   "dump":false,"has_policy":true,"raw":10},
//!          "do_policy":{"index":0,"attrs":[{"id":2,"name":"msg",
//!                       "type":"nul_string","max_length":65530}]},
//!          "dump_policy":null}],
//!  "mcast_groups":[{"name":"events","id":12}],
//!  "policies":[{"index":0,"attrs":[...]}]}
//! ```

use genl_proto::consts::FAMILY_NAME;
use genl_proto::ctrl::{self, AttrPolicy, FamilyInfo, McastGroup, OpFlags, PolicyDump};
use genl_proto::{Attr, Cmd};
use serde::Serialize;

use crate::conn::{ctrl_attr_name, Conn};
use crate::error::Error;
use crate::{check_version, warn};

/// One attribute of a policy.
#[derive(Debug, Serialize)]
pub struct AttrOut {
    /// Attribute type.
    pub id: u16,
    /// Its name when known.
    pub name: Option<String>,
    /// Type and limits as the kernel reports them.
    #[serde(flatten)]
    pub policy: AttrPolicy,
}

/// A policy: its index and attributes.
#[derive(Debug, Serialize)]
pub struct PolicyOut {
    /// Policy index.
    pub index: u32,
    /// Attributes, by type.
    pub attrs: Vec<AttrOut>,
}

/// One operation.
#[derive(Debug, Serialize)]
pub struct OpOut {
    /// Command number.
    pub id: u32,
    /// Command name when known.
    pub name: Option<String>,
    /// Flags.
    pub flags: OpFlags,
    /// Policy for "do" requests.
    pub do_policy: Option<PolicyOut>,
    /// Policy for dumps.
    pub dump_policy: Option<PolicyOut>,
}

/// The whole `info` object.
#[derive(Debug, Serialize)]
pub struct InfoOut {
    /// Family id.
    pub id: u16,
    /// Family name.
    pub name: String,
    /// Family version.
    pub version: u32,
    /// User header size.
    pub hdrsize: u32,
    /// Highest attribute type.
    pub maxattr: u32,
    /// Operations.
    pub ops: Vec<OpOut>,
    /// Multicast groups.
    pub mcast_groups: Vec<McastGroup>,
    /// Every policy reported.
    pub policies: Vec<PolicyOut>,
}

fn op_name(family: &str, id: u32) -> Option<String> {
    let id8 = u8::try_from(id).ok()?;
    match family {
        FAMILY_NAME => Cmd::from(id8).name().map(str::to_owned),
        "nlctrl" => Some(
            match id8 {
                ctrl::CTRL_CMD_NEWFAMILY => "newfamily",
                2 => "delfamily",
                ctrl::CTRL_CMD_GETFAMILY => "getfamily",
                4 => "newops",
                5 => "delops",
                6 => "getops",
                7 => "newmcast_grp",
                8 => "delmcast_grp",
                9 => "getmcast_grp",
                ctrl::CTRL_CMD_GETPOLICY => "getpolicy",
                _ => return None,
            }
            .to_owned(),
        ),
        _ => None,
    }
}

fn attr_name(family: &str, id: u16) -> Option<String> {
    match family {
        FAMILY_NAME => Attr::from(id).name().map(str::to_owned),
        "nlctrl" => Some(ctrl_attr_name(id)),
        _ => None,
    }
}

fn policy_out(family: &str, dump: &PolicyDump, index: u32) -> PolicyOut {
    let attrs = dump
        .policies
        .get(&index)
        .map(|m| {
            m.iter()
                .map(|(&id, p)| AttrOut {
                    id,
                    name: attr_name(family, id),
                    policy: *p,
                })
                .collect()
        })
        .unwrap_or_default();
    PolicyOut { index, attrs }
}

/// Builds the `info` object from a GETFAMILY reply and a GETPOLICY dump.
pub fn build(fam: &FamilyInfo, dump: &PolicyDump) -> InfoOut {
    let name = fam.name.as_str();
    // Kernels since 6.2 report a dump-only operation's policies under op id
    // 0 in a whole-family policy dump (they take the id from the absent
    // "do" half). When exactly one operation with a policy is missing and
    // no real op 0 exists, that entry is its.
    let orphan = dump
        .ops
        .get(&0)
        .copied()
        .filter(|_| !fam.ops.iter().any(|o| o.id == 0));
    let missing: Vec<u32> = fam
        .ops
        .iter()
        .filter(|o| o.flags.has_policy() && !dump.ops.contains_key(&o.id))
        .map(|o| o.id)
        .collect();
    let adopted = match (orphan, missing.as_slice()) {
        (Some(p), [id]) => Some((*id, p)),
        _ => None,
    };
    let ops = fam
        .ops
        .iter()
        .map(|op| {
            let p = match adopted {
                Some((id, p)) if id == op.id => p,
                _ => dump.ops.get(&op.id).copied().unwrap_or_default(),
            };
            OpOut {
                id: op.id,
                name: op_name(name, op.id),
                flags: op.flags,
                do_policy: p.do_policy.map(|i| policy_out(name, dump, i)),
                dump_policy: p.dump_policy.map(|i| policy_out(name, dump, i)),
            }
        })
        .collect();
    let policies = dump
        .policies
        .keys()
        .map(|&i| policy_out(name, dump, i))
        .collect();
    InfoOut {
        id: fam.id,
        name: fam.name.clone(),
        version: fam.version,
        hdrsize: fam.hdrsize,
        maxattr: fam.maxattr,
        ops,
        mcast_groups: fam.mcast_groups.clone(),
        policies,
    }
}

/// Runs `info` for family `family`.
pub fn run(family: &str) -> Result<InfoOut, Error> {
    let mut c = Conn::open()?;
    let fam = c.resolve(family)?;
    check_version(&fam);
    let mut dump = PolicyDump::default();
    let r = c.dump(
        |seq, out| ctrl::encode_getpolicy(fam.id, None, seq, out),
        |m| dump.add_genl(m.payload),
    );
    if let Err(e) = r {
        warn(&format!(
            "cannot read the attribute policies: {}",
            e.into_error("policy dump")
        ));
        dump = PolicyDump::default();
    }
    Ok(build(&fam, &dump))
}

#[cfg(test)]
mod tests {
    use super::*;
    use genl_proto::ctrl::{Bound, OpInfo, OpPolicy};
    use std::collections::BTreeMap;

    #[test]
    fn info_json_shape() {
        let fam = FamilyInfo {
            id: 30,
            name: FAMILY_NAME.into(),
            version: 1,
            hdrsize: 0,
            maxattr: 9,
            ops: vec![
                OpInfo {
                    id: 1,
                    flags: OpFlags(ctrl::GENL_CMD_CAP_DO | ctrl::GENL_CMD_CAP_HASPOL),
                },
                OpInfo {
                    id: 3,
                    flags: OpFlags(ctrl::GENL_CMD_CAP_DO),
                },
            ],
            mcast_groups: vec![McastGroup {
                name: "events".into(),
                id: 12,
            }],
        };
        let mut dump = PolicyDump::default();
        dump.ops.insert(
            1,
            OpPolicy {
                do_policy: Some(0),
                dump_policy: None,
            },
        );
        let mut attrs = BTreeMap::new();
        attrs.insert(
            2,
            AttrPolicy {
                type_: Some(12),
                max_length: Some(65530),
                ..AttrPolicy::default()
            },
        );
        attrs.insert(
            3,
            AttrPolicy {
                type_: Some(4),
                min_value: Some(Bound::Unsigned(0)),
                max_value: Some(Bound::Unsigned(2)),
                ..AttrPolicy::default()
            },
        );
        dump.policies.insert(0, attrs);
        let j = serde_json::to_string(&build(&fam, &dump)).unwrap();
        let attrs = r#"[{"id":2,"name":"msg","type":"nul_string","max_length":65530},{"id":3,"name":"mode","type":"u32","min_value":0,"max_value":2}]"#;
        assert_eq!(
            j,
            format!(
                concat!(
                    r#"{{"id":30,"name":"genl_echo","version":1,"hdrsize":0,"maxattr":9,"ops":["#,
                    r#"{{"id":1,"name":"echo","flags":{{"admin_perm":false,"uns_admin_perm":false,"do":true,"dump":false,"has_policy":true,"raw":10}},"do_policy":{{"index":0,"attrs":{a}}},"dump_policy":null}},"#,
                    r#"{{"id":3,"name":"get_case","flags":{{"admin_perm":false,"uns_admin_perm":false,"do":true,"dump":false,"has_policy":false,"raw":2}},"do_policy":null,"dump_policy":null}}],"#,
                    r#""mcast_groups":[{{"name":"events","id":12}}],"policies":[{{"index":0,"attrs":{a}}}]}}"#
                ),
                a = attrs
            )
        );
    }
}
