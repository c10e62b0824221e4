//! The generic netlink controller: resolving any family by name and
//! dumping its attribute policies, and [`FamilyPolicy`], the combined view
//! that `nlctl info` prints.

use genl_proto::consts::FAMILY_NAME;
use genl_proto::ctrl::{self, AttrPolicy, FamilyInfo, OpFlags, PolicyDump};
use genl_proto::{netlink, Attr, Cmd};

use crate::conn::Conn;
use crate::core::requests::Kind;
use crate::error::{Error, Op};
use crate::netns::Netns;

/// A socket to the generic netlink controller (`nlctrl`), for questions
/// about any family, not only `genl_echo`.
pub struct Controller {
    conn: Conn,
}

impl std::fmt::Debug for Controller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controller")
            .field("port", &self.conn.sock.pid())
            .finish_non_exhaustive()
    }
}

impl Controller {
    /// Opens a generic netlink socket in the calling thread's namespace.
    pub fn open() -> Result<Controller, Error> {
        Controller::open_in(None)
    }

    pub(crate) fn open_in(ns: Option<&Netns>) -> Result<Controller, Error> {
        Ok(Controller {
            conn: Conn::open(ns)?,
        })
    }

    pub(crate) fn into_conn(self) -> Conn {
        self.conn
    }

    #[cfg(test)]
    pub(crate) fn conn_mut(&mut self) -> &mut Conn {
        &mut self.conn
    }

    /// Resolves family `name` (`CTRL_CMD_GETFAMILY` by name, which lets the
    /// kernel autoload a module declaring the family's alias).
    /// [`Error::NotRegistered`] if there is no such family.
    pub fn resolve(&mut self, name: &str) -> Result<FamilyInfo, Error> {
        self.conn.resolve(name)
    }

    /// Dumps the attribute policies of `family` (`CTRL_CMD_GETPOLICY`).
    pub fn policy_dump(&mut self, family: &FamilyInfo) -> Result<PolicyDump, Error> {
        dump_policy(&mut self.conn, family.id)
    }
}

pub(crate) fn dump_policy(conn: &mut Conn, family_id: u16) -> Result<PolicyDump, Error> {
    let op = Op::Policy;
    let answer = conn.request(op, Kind::Dump, |out| {
        ctrl::encode_getpolicy(family_id, None, 0, out)
    })?;
    let mut dump = PolicyDump::default();
    for m in &answer.messages {
        let m = netlink::parse_message(m).map_err(Error::decode(op))?;
        dump.add_genl(m.payload).map_err(Error::decode(op))?;
    }
    Ok(dump)
}

/// One attribute of a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct AttrInfo {
    /// Attribute type.
    pub id: u16,
    /// Its name, when known.
    pub name: Option<String>,
    /// Type and limits as the kernel reports them.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub policy: AttrPolicy,
}

/// A policy: its index and attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct PolicyInfo {
    /// Policy index.
    pub index: u32,
    /// Attributes, by type.
    pub attrs: Vec<AttrInfo>,
}

/// One operation with its flags and policies.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct OpInfo {
    /// Command number.
    pub id: u32,
    /// Command name, when known.
    pub name: Option<String>,
    /// Flags (`GENL_ADMIN_PERM`, `GENL_CMD_CAP_DO`, ...).
    pub flags: OpFlags,
    /// Policy for "do" requests.
    pub do_policy: Option<PolicyInfo>,
    /// Policy for dumps.
    pub dump_policy: Option<PolicyInfo>,
}

/// A family as the controller describes it: `GETFAMILY` and `GETPOLICY`
/// combined. With the `serde` feature it serializes as
/// `{"id":..,"name":..,"version":..,"hdrsize":..,"maxattr":..,"ops":[..],
/// "mcast_groups":[..],"policies":[..]}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyPolicy {
    /// The `GETFAMILY` reply: id, name, version, header size, highest
    /// attribute, operations' flags, multicast groups.
    pub family: FamilyInfo,
    /// Operations with their names and policies, in the family's order.
    pub ops: Vec<OpInfo>,
    /// Every policy reported.
    pub policies: Vec<PolicyInfo>,
}

#[cfg(feature = "serde")]
impl serde::Serialize for FamilyPolicy {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let f = &self.family;
        let mut s = ser.serialize_struct("FamilyPolicy", 8)?;
        s.serialize_field("id", &f.id)?;
        s.serialize_field("name", &f.name)?;
        s.serialize_field("version", &f.version)?;
        s.serialize_field("hdrsize", &f.hdrsize)?;
        s.serialize_field("maxattr", &f.maxattr)?;
        s.serialize_field("ops", &self.ops)?;
        s.serialize_field("mcast_groups", &f.mcast_groups)?;
        s.serialize_field("policies", &self.policies)?;
        s.end()
    }
}

fn op_name(family: &str, id: u32) -> Option<String> {
    let id8 = u8::try_from(id).ok()?;
    match family {
        FAMILY_NAME => Cmd::from(id8).name().map(str::to_owned),
        "nlctrl" => ctrl::cmd_name(id8).map(str::to_owned),
        _ => None,
    }
}

fn attr_name(family: &str, id: u16) -> Option<String> {
    match family {
        FAMILY_NAME => Attr::from(id).name().map(str::to_owned),
        "nlctrl" => Some(ctrl::attr_name(id)),
        _ => None,
    }
}

fn policy_info(family: &str, dump: &PolicyDump, index: u32) -> PolicyInfo {
    let attrs = dump
        .policies
        .get(&index)
        .map(|m| {
            m.iter()
                .map(|(&id, p)| AttrInfo {
                    id,
                    name: attr_name(family, id),
                    policy: *p,
                })
                .collect()
        })
        .unwrap_or_default();
    PolicyInfo { index, attrs }
}

impl FamilyPolicy {
    /// Combines a `GETFAMILY` reply and a `GETPOLICY` dump (which may be
    /// empty: then no operation has a policy).
    pub fn new(fam: &FamilyInfo, dump: &PolicyDump) -> FamilyPolicy {
        let name = fam.name.as_str();
        // Kernels since 6.2 report a dump-only operation's policies under op
        // id 0 in a whole-family policy dump (they take the id from the
        // absent "do" half). When exactly one operation with a policy is
        // missing and no real op 0 exists, that entry is its.
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
                OpInfo {
                    id: op.id,
                    name: op_name(name, op.id),
                    flags: op.flags,
                    do_policy: p.do_policy.map(|i| policy_info(name, dump, i)),
                    dump_policy: p.dump_policy.map(|i| policy_info(name, dump, i)),
                }
            })
            .collect();
        let policies = dump
            .policies
            .keys()
            .map(|&i| policy_info(name, dump, i))
            .collect();
        FamilyPolicy {
            family: fam.clone(),
            ops,
            policies,
        }
    }

    /// The operation with command number `id`.
    pub fn op(&self, id: u32) -> Option<&OpInfo> {
        self.ops.iter().find(|o| o.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use genl_proto::ctrl::{Bound, McastGroup, OpInfo as CtrlOp, OpPolicy};
    use std::collections::BTreeMap;

    /// A family with ECHO (policy 0: msg and mode) and GET_CASE (none).
    fn fixture() -> (FamilyInfo, PolicyDump) {
        let op = |id, flags| CtrlOp {
            id,
            flags: OpFlags(flags),
        };
        let fam = FamilyInfo {
            id: 30,
            name: FAMILY_NAME.into(),
            version: 1,
            hdrsize: 0,
            maxattr: 9,
            ops: vec![
                op(1, ctrl::GENL_CMD_CAP_DO | ctrl::GENL_CMD_CAP_HASPOL),
                op(3, ctrl::GENL_CMD_CAP_DO),
            ],
            mcast_groups: vec![McastGroup {
                name: "events".into(),
                id: 12,
            }],
        };
        let mut dump = PolicyDump::default();
        let do_0 = OpPolicy {
            do_policy: Some(0),
            dump_policy: None,
        };
        dump.ops.insert(1, do_0);
        let msg = AttrPolicy {
            type_: Some(12),
            max_length: Some(65530),
            ..AttrPolicy::default()
        };
        let mode = AttrPolicy {
            type_: Some(4),
            min_value: Some(Bound::Unsigned(0)),
            max_value: Some(Bound::Unsigned(2)),
            ..AttrPolicy::default()
        };
        dump.policies
            .insert(0, BTreeMap::from([(2, msg), (3, mode)]));
        (fam, dump)
    }

    #[test]
    fn combines_family_and_dump() {
        let (fam, dump) = fixture();
        let p = FamilyPolicy::new(&fam, &dump);
        let echo = p.op(1).unwrap();
        assert_eq!(echo.name.as_deref(), Some("echo"));
        let names: Vec<_> = echo
            .do_policy
            .as_ref()
            .unwrap()
            .attrs
            .iter()
            .map(|a| a.name.as_deref())
            .collect();
        assert_eq!(names, [Some("msg"), Some("mode")]);
        assert_eq!(p.op(3).unwrap().do_policy, None);
        assert_eq!(p.policies.len(), 1);
        // A dump-only op's policy reported under op 0 is adopted.
        let mut dump0 = dump.clone();
        let only = dump0.ops.remove(&1).unwrap();
        dump0.ops.insert(0, only);
        assert_eq!(FamilyPolicy::new(&fam, &dump0), p);
    }

    /// The JSON `nlctl info` prints, key for key.
    #[cfg(feature = "serde")]
    #[test]
    fn json_shape() {
        let (fam, dump) = fixture();
        let j = serde_json::to_string(&FamilyPolicy::new(&fam, &dump)).unwrap();
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
