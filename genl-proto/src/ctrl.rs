//! The generic netlink controller (`nlctrl`, family id `GENL_ID_CTRL`):
//! `CTRL_CMD_GETFAMILY` by name and `CTRL_CMD_GETPOLICY` dumps.

use std::collections::BTreeMap;

#[cfg(feature = "serde")]
use serde::ser::SerializeStruct;
#[cfg(feature = "serde")]
use serde::{Serialize, Serializer};

use crate::consts::{NLM_F_DUMP, NLM_F_REQUEST};
use crate::error::{DecodeError, EncodeError};
use crate::netlink;
use crate::nla;

/// `GENL_ID_CTRL`: the controller's fixed family id.
pub const GENL_ID_CTRL: u16 = 0x10;
/// Version sent in controller requests.
pub const CTRL_VERSION: u8 = 2;

/// `CTRL_CMD_NEWFAMILY` (reply to `GETFAMILY`).
pub const CTRL_CMD_NEWFAMILY: u8 = 1;
/// `CTRL_CMD_GETFAMILY`.
pub const CTRL_CMD_GETFAMILY: u8 = 3;
/// `CTRL_CMD_GETPOLICY`.
pub const CTRL_CMD_GETPOLICY: u8 = 10;

/// `CTRL_ATTR_FAMILY_ID` (u16).
pub const CTRL_ATTR_FAMILY_ID: u16 = 1;
/// `CTRL_ATTR_FAMILY_NAME` (string).
pub const CTRL_ATTR_FAMILY_NAME: u16 = 2;
/// `CTRL_ATTR_VERSION` (u32).
pub const CTRL_ATTR_VERSION: u16 = 3;
/// `CTRL_ATTR_HDRSIZE` (u32).
pub const CTRL_ATTR_HDRSIZE: u16 = 4;
/// `CTRL_ATTR_MAXATTR` (u32).
pub const CTRL_ATTR_MAXATTR: u16 = 5;
/// `CTRL_ATTR_OPS` (nested array).
pub const CTRL_ATTR_OPS: u16 = 6;
/// `CTRL_ATTR_MCAST_GROUPS` (nested array).
pub const CTRL_ATTR_MCAST_GROUPS: u16 = 7;
/// `CTRL_ATTR_POLICY` (nested).
pub const CTRL_ATTR_POLICY: u16 = 8;
/// `CTRL_ATTR_OP_POLICY` (nested).
pub const CTRL_ATTR_OP_POLICY: u16 = 9;
/// `CTRL_ATTR_OP` (u32).
pub const CTRL_ATTR_OP: u16 = 10;

/// `CTRL_ATTR_OP_ID` (u32).
pub const CTRL_ATTR_OP_ID: u16 = 1;
/// `CTRL_ATTR_OP_FLAGS` (u32).
pub const CTRL_ATTR_OP_FLAGS: u16 = 2;
/// `CTRL_ATTR_MCAST_GRP_NAME` (string).
pub const CTRL_ATTR_MCAST_GRP_NAME: u16 = 1;
/// `CTRL_ATTR_MCAST_GRP_ID` (u32).
pub const CTRL_ATTR_MCAST_GRP_ID: u16 = 2;
/// `CTRL_ATTR_POLICY_DO` (u32).
pub const CTRL_ATTR_POLICY_DO: u16 = 1;
/// `CTRL_ATTR_POLICY_DUMP` (u32).
pub const CTRL_ATTR_POLICY_DUMP: u16 = 2;

/// `GENL_ADMIN_PERM`.
pub const GENL_ADMIN_PERM: u32 = 0x01;
/// `GENL_CMD_CAP_DO`.
pub const GENL_CMD_CAP_DO: u32 = 0x02;
/// `GENL_CMD_CAP_DUMP`.
pub const GENL_CMD_CAP_DUMP: u32 = 0x04;
/// `GENL_CMD_CAP_HASPOL`.
pub const GENL_CMD_CAP_HASPOL: u32 = 0x08;
/// `GENL_UNS_ADMIN_PERM`.
pub const GENL_UNS_ADMIN_PERM: u32 = 0x10;

/// `NL_POLICY_TYPE_ATTR_TYPE` (u32, `enum netlink_attribute_type`).
pub const NL_POLICY_TYPE_ATTR_TYPE: u16 = 1;
/// `NL_POLICY_TYPE_ATTR_MIN_VALUE_S` (s64).
pub const NL_POLICY_TYPE_ATTR_MIN_VALUE_S: u16 = 2;
/// `NL_POLICY_TYPE_ATTR_MAX_VALUE_S` (s64).
pub const NL_POLICY_TYPE_ATTR_MAX_VALUE_S: u16 = 3;
/// `NL_POLICY_TYPE_ATTR_MIN_VALUE_U` (u64).
pub const NL_POLICY_TYPE_ATTR_MIN_VALUE_U: u16 = 4;
/// `NL_POLICY_TYPE_ATTR_MAX_VALUE_U` (u64).
pub const NL_POLICY_TYPE_ATTR_MAX_VALUE_U: u16 = 5;
/// `NL_POLICY_TYPE_ATTR_MIN_LENGTH` (u32).
pub const NL_POLICY_TYPE_ATTR_MIN_LENGTH: u16 = 6;
/// `NL_POLICY_TYPE_ATTR_MAX_LENGTH` (u32).
pub const NL_POLICY_TYPE_ATTR_MAX_LENGTH: u16 = 7;
/// `NL_POLICY_TYPE_ATTR_POLICY_IDX` (u32).
pub const NL_POLICY_TYPE_ATTR_POLICY_IDX: u16 = 8;
/// `NL_POLICY_TYPE_ATTR_POLICY_MAXTYPE` (u32).
pub const NL_POLICY_TYPE_ATTR_POLICY_MAXTYPE: u16 = 9;
/// `NL_POLICY_TYPE_ATTR_BITFIELD32_MASK` (u32).
pub const NL_POLICY_TYPE_ATTR_BITFIELD32_MASK: u16 = 10;
/// `NL_POLICY_TYPE_ATTR_PAD`.
pub const NL_POLICY_TYPE_ATTR_PAD: u16 = 11;
/// `NL_POLICY_TYPE_ATTR_MASK` (u64).
pub const NL_POLICY_TYPE_ATTR_MASK: u16 = 12;

/// Name of an `enum netlink_attribute_type` value (`NL_ATTR_TYPE_*`), in
/// lower case (`"u32"`, `"nul_string"`, ...); `None` if unknown.
pub fn attr_type_name(t: u32) -> Option<&'static str> {
    Some(match t {
        0 => "invalid",
        1 => "flag",
        2 => "u8",
        3 => "u16",
        4 => "u32",
        5 => "u64",
        6 => "s8",
        7 => "s16",
        8 => "s32",
        9 => "s64",
        10 => "binary",
        11 => "string",
        12 => "nul_string",
        13 => "nested",
        14 => "nested_array",
        15 => "bitfield32",
        16 => "sint",
        17 => "uint",
        _ => return None,
    })
}

/// Name of an `nlctrl` attribute type (`"family_id"`, ...), `attr_<n>`
/// for one this crate does not know.
pub fn attr_name(t: u16) -> String {
    match t {
        CTRL_ATTR_FAMILY_ID => "family_id".into(),
        CTRL_ATTR_FAMILY_NAME => "family_name".into(),
        CTRL_ATTR_VERSION => "version".into(),
        CTRL_ATTR_HDRSIZE => "hdrsize".into(),
        CTRL_ATTR_MAXATTR => "maxattr".into(),
        CTRL_ATTR_OPS => "ops".into(),
        CTRL_ATTR_MCAST_GROUPS => "mcast_groups".into(),
        CTRL_ATTR_POLICY => "policy".into(),
        CTRL_ATTR_OP_POLICY => "op_policy".into(),
        CTRL_ATTR_OP => "op".into(),
        _ => format!("attr_{t}"),
    }
}

/// Name of an `nlctrl` command (`"getfamily"`, ...), if known.
pub fn cmd_name(c: u8) -> Option<&'static str> {
    Some(match c {
        CTRL_CMD_NEWFAMILY => "newfamily",
        2 => "delfamily",
        CTRL_CMD_GETFAMILY => "getfamily",
        4 => "newops",
        5 => "delops",
        6 => "getops",
        7 => "newmcast_grp",
        8 => "delmcast_grp",
        9 => "getmcast_grp",
        CTRL_CMD_GETPOLICY => "getpolicy",
        _ => return None,
    })
}

/// Appends a `CTRL_CMD_GETFAMILY` request for family `name` (by name, not a
/// dump, so the kernel can autoload a module that declares
/// `MODULE_ALIAS_GENL_FAMILY`).
pub fn encode_getfamily(name: &str, seq: u32, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    if let Some(offset) = name.bytes().position(|b| b == 0) {
        return Err(EncodeError::MsgHasNul { offset });
    }
    let len0 = out.len();
    let start = netlink::begin(out, GENL_ID_CTRL, NLM_F_REQUEST, seq);
    netlink::put_genl(out, CTRL_CMD_GETFAMILY, CTRL_VERSION);
    let r = nla::put_cstr(out, CTRL_ATTR_FAMILY_NAME, name.as_bytes())
        .and_then(|()| netlink::finish(out, start));
    if r.is_err() {
        out.truncate(len0);
    }
    r
}

/// Appends a `CTRL_CMD_GETPOLICY` dump request for family `family_id`,
/// optionally restricted to one operation.
pub fn encode_getpolicy(
    family_id: u16,
    op: Option<u32>,
    seq: u32,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    let len0 = out.len();
    let start = netlink::begin(out, GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_DUMP, seq);
    netlink::put_genl(out, CTRL_CMD_GETPOLICY, CTRL_VERSION);
    let r = nla::put_u16(out, CTRL_ATTR_FAMILY_ID, family_id)
        .and_then(|()| match op {
            Some(op) => nla::put_u32(out, CTRL_ATTR_OP, op),
            None => Ok(()),
        })
        .and_then(|()| netlink::finish(out, start));
    if r.is_err() {
        out.truncate(len0);
    }
    r
}

/// Flags of an operation (`CTRL_ATTR_OP_FLAGS`).
///
/// Serializes as `{"admin_perm":bool,"uns_admin_perm":bool,"do":bool,
/// "dump":bool,"has_policy":bool,"raw":u32}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OpFlags(pub u32);

impl OpFlags {
    /// `GENL_ADMIN_PERM`: needs CAP_NET_ADMIN in the initial user namespace.
    pub fn admin_perm(self) -> bool {
        self.0 & GENL_ADMIN_PERM != 0
    }
    /// `GENL_UNS_ADMIN_PERM`: needs CAP_NET_ADMIN over the netns's user namespace.
    pub fn uns_admin_perm(self) -> bool {
        self.0 & GENL_UNS_ADMIN_PERM != 0
    }
    /// `GENL_CMD_CAP_DO`.
    pub fn can_do(self) -> bool {
        self.0 & GENL_CMD_CAP_DO != 0
    }
    /// `GENL_CMD_CAP_DUMP`.
    pub fn can_dump(self) -> bool {
        self.0 & GENL_CMD_CAP_DUMP != 0
    }
    /// `GENL_CMD_CAP_HASPOL`.
    pub fn has_policy(self) -> bool {
        self.0 & GENL_CMD_CAP_HASPOL != 0
    }
}

#[cfg(feature = "serde")]
impl Serialize for OpFlags {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut s = ser.serialize_struct("OpFlags", 6)?;
        s.serialize_field("admin_perm", &self.admin_perm())?;
        s.serialize_field("uns_admin_perm", &self.uns_admin_perm())?;
        s.serialize_field("do", &self.can_do())?;
        s.serialize_field("dump", &self.can_dump())?;
        s.serialize_field("has_policy", &self.has_policy())?;
        s.serialize_field("raw", &self.0)?;
        s.end()
    }
}

/// One operation of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct OpInfo {
    /// `CTRL_ATTR_OP_ID`: the command number.
    pub id: u32,
    /// `CTRL_ATTR_OP_FLAGS`.
    pub flags: OpFlags,
}

/// One multicast group of a family.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct McastGroup {
    /// `CTRL_ATTR_MCAST_GRP_NAME`.
    pub name: String,
    /// `CTRL_ATTR_MCAST_GRP_ID`: the id to join with `NETLINK_ADD_MEMBERSHIP`.
    pub id: u32,
}

/// A decoded `CTRL_CMD_GETFAMILY` reply.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct FamilyInfo {
    /// `CTRL_ATTR_FAMILY_ID`.
    pub id: u16,
    /// `CTRL_ATTR_FAMILY_NAME`.
    pub name: String,
    /// `CTRL_ATTR_VERSION`.
    pub version: u32,
    /// `CTRL_ATTR_HDRSIZE`.
    pub hdrsize: u32,
    /// `CTRL_ATTR_MAXATTR`.
    pub maxattr: u32,
    /// `CTRL_ATTR_OPS` (empty if absent).
    pub ops: Vec<OpInfo>,
    /// `CTRL_ATTR_MCAST_GROUPS` (empty if absent).
    pub mcast_groups: Vec<McastGroup>,
}

impl FamilyInfo {
    /// Decodes the generic netlink payload of a `GETFAMILY` reply.
    pub fn from_genl(payload: &[u8]) -> Result<Self, DecodeError> {
        Self::from_attrs(netlink::parse_genl(payload)?.attrs)
    }

    /// Decodes a whole `GETFAMILY` reply message.
    pub fn from_nlmsg(msg: &[u8]) -> Result<Self, DecodeError> {
        let m = netlink::parse_message(msg)?;
        if m.ty != GENL_ID_CTRL {
            return Err(DecodeError::UnexpectedType(m.ty));
        }
        Self::from_genl(m.payload)
    }

    /// Decodes the attributes of a `GETFAMILY` reply.
    pub fn from_attrs(attrs: &[u8]) -> Result<Self, DecodeError> {
        let (mut id, mut name, mut version, mut hdrsize, mut maxattr) =
            (None, None, None, None, None);
        let mut ops = Vec::new();
        let mut mcast_groups = Vec::new();
        for a in nla::attrs(attrs) {
            let a = a?;
            match a.kind {
                CTRL_ATTR_FAMILY_ID => id = Some(nla::get_u16("CTRL_ATTR_FAMILY_ID", a.payload)?),
                CTRL_ATTR_FAMILY_NAME => {
                    name = Some(nla::get_cstr("CTRL_ATTR_FAMILY_NAME", a.payload)?.to_owned())
                }
                CTRL_ATTR_VERSION => version = Some(nla::get_u32("CTRL_ATTR_VERSION", a.payload)?),
                CTRL_ATTR_HDRSIZE => hdrsize = Some(nla::get_u32("CTRL_ATTR_HDRSIZE", a.payload)?),
                CTRL_ATTR_MAXATTR => maxattr = Some(nla::get_u32("CTRL_ATTR_MAXATTR", a.payload)?),
                CTRL_ATTR_OPS => {
                    for op in nla::attrs(a.payload) {
                        ops.push(decode_op(op?.payload)?);
                    }
                }
                CTRL_ATTR_MCAST_GROUPS => {
                    for g in nla::attrs(a.payload) {
                        mcast_groups.push(decode_group(g?.payload)?);
                    }
                }
                _ => {}
            }
        }
        Ok(FamilyInfo {
            id: id.ok_or(DecodeError::MissingAttr("CTRL_ATTR_FAMILY_ID"))?,
            name: name.ok_or(DecodeError::MissingAttr("CTRL_ATTR_FAMILY_NAME"))?,
            version: version.ok_or(DecodeError::MissingAttr("CTRL_ATTR_VERSION"))?,
            hdrsize: hdrsize.ok_or(DecodeError::MissingAttr("CTRL_ATTR_HDRSIZE"))?,
            maxattr: maxattr.ok_or(DecodeError::MissingAttr("CTRL_ATTR_MAXATTR"))?,
            ops,
            mcast_groups,
        })
    }

    /// The id of multicast group `name`, if the family has it.
    pub fn mcast_group(&self, name: &str) -> Option<u32> {
        self.mcast_groups
            .iter()
            .find(|g| g.name == name)
            .map(|g| g.id)
    }
}

fn decode_op(p: &[u8]) -> Result<OpInfo, DecodeError> {
    let (mut id, mut flags) = (None, 0);
    for a in nla::attrs(p) {
        let a = a?;
        match a.kind {
            CTRL_ATTR_OP_ID => id = Some(nla::get_u32("CTRL_ATTR_OP_ID", a.payload)?),
            CTRL_ATTR_OP_FLAGS => flags = nla::get_u32("CTRL_ATTR_OP_FLAGS", a.payload)?,
            _ => {}
        }
    }
    Ok(OpInfo {
        id: id.ok_or(DecodeError::MissingAttr("CTRL_ATTR_OP_ID"))?,
        flags: OpFlags(flags),
    })
}

fn decode_group(p: &[u8]) -> Result<McastGroup, DecodeError> {
    let (mut name, mut id) = (None, None);
    for a in nla::attrs(p) {
        let a = a?;
        match a.kind {
            CTRL_ATTR_MCAST_GRP_NAME => {
                name = Some(nla::get_cstr("CTRL_ATTR_MCAST_GRP_NAME", a.payload)?.to_owned())
            }
            CTRL_ATTR_MCAST_GRP_ID => id = Some(nla::get_u32("CTRL_ATTR_MCAST_GRP_ID", a.payload)?),
            _ => {}
        }
    }
    Ok(McastGroup {
        name: name.ok_or(DecodeError::MissingAttr("CTRL_ATTR_MCAST_GRP_NAME"))?,
        id: id.ok_or(DecodeError::MissingAttr("CTRL_ATTR_MCAST_GRP_ID"))?,
    })
}

/// A signed or unsigned policy bound, as the kernel reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize), serde(untagged))]
pub enum Bound {
    /// From `NL_POLICY_TYPE_ATTR_{MIN,MAX}_VALUE_S`.
    Signed(i64),
    /// From `NL_POLICY_TYPE_ATTR_{MIN,MAX}_VALUE_U`.
    Unsigned(u64),
}

/// The policy of one attribute, as reported by `CTRL_CMD_GETPOLICY`. Only
/// what the kernel reported is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AttrPolicy {
    /// `NL_POLICY_TYPE_ATTR_TYPE` (`NL_ATTR_TYPE_*`).
    pub type_: Option<u32>,
    /// `NL_POLICY_TYPE_ATTR_MIN_VALUE_S`/`_U`.
    pub min_value: Option<Bound>,
    /// `NL_POLICY_TYPE_ATTR_MAX_VALUE_S`/`_U`.
    pub max_value: Option<Bound>,
    /// `NL_POLICY_TYPE_ATTR_MIN_LENGTH`.
    pub min_length: Option<u32>,
    /// `NL_POLICY_TYPE_ATTR_MAX_LENGTH`.
    pub max_length: Option<u32>,
    /// `NL_POLICY_TYPE_ATTR_POLICY_IDX`: policy of a nested attribute.
    pub policy_idx: Option<u32>,
    /// `NL_POLICY_TYPE_ATTR_POLICY_MAXTYPE`.
    pub policy_maxtype: Option<u32>,
    /// `NL_POLICY_TYPE_ATTR_BITFIELD32_MASK`.
    pub bitfield32_mask: Option<u32>,
    /// `NL_POLICY_TYPE_ATTR_MASK`.
    pub mask: Option<u64>,
}

impl AttrPolicy {
    /// Decodes the `NL_POLICY_TYPE_ATTR_*` attributes of one attribute's policy.
    pub fn from_attrs(p: &[u8]) -> Result<Self, DecodeError> {
        let mut r = AttrPolicy::default();
        for a in nla::attrs(p) {
            let a = a?;
            let v = a.payload;
            match a.kind {
                NL_POLICY_TYPE_ATTR_TYPE => {
                    r.type_ = Some(nla::get_u32("NL_POLICY_TYPE_ATTR_TYPE", v)?)
                }
                NL_POLICY_TYPE_ATTR_MIN_VALUE_S => {
                    r.min_value = Some(Bound::Signed(nla::get_i64(
                        "NL_POLICY_TYPE_ATTR_MIN_VALUE_S",
                        v,
                    )?))
                }
                NL_POLICY_TYPE_ATTR_MAX_VALUE_S => {
                    r.max_value = Some(Bound::Signed(nla::get_i64(
                        "NL_POLICY_TYPE_ATTR_MAX_VALUE_S",
                        v,
                    )?))
                }
                NL_POLICY_TYPE_ATTR_MIN_VALUE_U => {
                    r.min_value = Some(Bound::Unsigned(nla::get_u64(
                        "NL_POLICY_TYPE_ATTR_MIN_VALUE_U",
                        v,
                    )?))
                }
                NL_POLICY_TYPE_ATTR_MAX_VALUE_U => {
                    r.max_value = Some(Bound::Unsigned(nla::get_u64(
                        "NL_POLICY_TYPE_ATTR_MAX_VALUE_U",
                        v,
                    )?))
                }
                NL_POLICY_TYPE_ATTR_MIN_LENGTH => {
                    r.min_length = Some(nla::get_u32("NL_POLICY_TYPE_ATTR_MIN_LENGTH", v)?)
                }
                NL_POLICY_TYPE_ATTR_MAX_LENGTH => {
                    r.max_length = Some(nla::get_u32("NL_POLICY_TYPE_ATTR_MAX_LENGTH", v)?)
                }
                NL_POLICY_TYPE_ATTR_POLICY_IDX => {
                    r.policy_idx = Some(nla::get_u32("NL_POLICY_TYPE_ATTR_POLICY_IDX", v)?)
                }
                NL_POLICY_TYPE_ATTR_POLICY_MAXTYPE => {
                    r.policy_maxtype = Some(nla::get_u32("NL_POLICY_TYPE_ATTR_POLICY_MAXTYPE", v)?)
                }
                NL_POLICY_TYPE_ATTR_BITFIELD32_MASK => {
                    r.bitfield32_mask =
                        Some(nla::get_u32("NL_POLICY_TYPE_ATTR_BITFIELD32_MASK", v)?)
                }
                NL_POLICY_TYPE_ATTR_MASK => {
                    r.mask = Some(nla::get_u64("NL_POLICY_TYPE_ATTR_MASK", v)?)
                }
                _ => {}
            }
        }
        Ok(r)
    }

    /// The type's name (`"u32"`, `"nul_string"`, ...), `"type_<n>"` for an
    /// unknown one, `None` if the kernel reported no type.
    pub fn type_name(&self) -> Option<String> {
        self.type_
            .map(|t| attr_type_name(t).map_or_else(|| format!("type_{t}"), str::to_owned))
    }
}

#[cfg(feature = "serde")]
impl Serialize for AttrPolicy {
    /// `{"type":"u32","min_value":0,...}`: only the fields the kernel reported.
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut s = ser.serialize_struct("AttrPolicy", 9)?;
        macro_rules! opt {
            ($key:literal, $v:expr) => {
                match $v {
                    Some(v) => s.serialize_field($key, &v)?,
                    None => s.skip_field($key)?,
                }
            };
        }
        opt!("type", self.type_name());
        opt!("min_value", self.min_value);
        opt!("max_value", self.max_value);
        opt!("min_length", self.min_length);
        opt!("max_length", self.max_length);
        opt!("policy_idx", self.policy_idx);
        opt!("policy_maxtype", self.policy_maxtype);
        opt!("bitfield32_mask", self.bitfield32_mask);
        opt!("mask", self.mask);
        s.end()
    }
}

/// Which policies an operation uses (`CTRL_ATTR_OP_POLICY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct OpPolicy {
    /// `CTRL_ATTR_POLICY_DO`: policy index for "do" requests.
    #[cfg_attr(feature = "serde", serde(rename = "do"))]
    pub do_policy: Option<u32>,
    /// `CTRL_ATTR_POLICY_DUMP`: policy index for dump requests.
    #[cfg_attr(feature = "serde", serde(rename = "dump"))]
    pub dump_policy: Option<u32>,
}

/// The accumulated result of a `CTRL_CMD_GETPOLICY` dump.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PolicyDump {
    /// Family id the messages named (`CTRL_ATTR_FAMILY_ID`).
    pub family_id: Option<u16>,
    /// Per operation: its policy indexes.
    pub ops: BTreeMap<u32, OpPolicy>,
    /// Per policy index: attribute type → policy.
    pub policies: BTreeMap<u32, BTreeMap<u16, AttrPolicy>>,
}

impl PolicyDump {
    /// Adds one dump message, given its generic netlink payload.
    pub fn add_genl(&mut self, payload: &[u8]) -> Result<(), DecodeError> {
        self.add_attrs(netlink::parse_genl(payload)?.attrs)
    }

    /// Adds one dump message, given its attributes.
    pub fn add_attrs(&mut self, attrs: &[u8]) -> Result<(), DecodeError> {
        for a in nla::attrs(attrs) {
            let a = a?;
            match a.kind {
                CTRL_ATTR_FAMILY_ID => {
                    self.family_id = Some(nla::get_u16("CTRL_ATTR_FAMILY_ID", a.payload)?)
                }
                CTRL_ATTR_OP_POLICY => {
                    for op in nla::attrs(a.payload) {
                        let op = op?;
                        let e = self.ops.entry(u32::from(op.kind)).or_default();
                        for p in nla::attrs(op.payload) {
                            let p = p?;
                            match p.kind {
                                CTRL_ATTR_POLICY_DO => {
                                    e.do_policy =
                                        Some(nla::get_u32("CTRL_ATTR_POLICY_DO", p.payload)?)
                                }
                                CTRL_ATTR_POLICY_DUMP => {
                                    e.dump_policy =
                                        Some(nla::get_u32("CTRL_ATTR_POLICY_DUMP", p.payload)?)
                                }
                                _ => {}
                            }
                        }
                    }
                }
                CTRL_ATTR_POLICY => {
                    for pol in nla::attrs(a.payload) {
                        let pol = pol?;
                        let e = self.policies.entry(u32::from(pol.kind)).or_default();
                        for at in nla::attrs(pol.payload) {
                            let at = at?;
                            e.insert(at.kind, AttrPolicy::from_attrs(at.payload)?);
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}
