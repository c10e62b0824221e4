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

use genl_echo::proto::ctrl::PolicyDump;
use genl_echo::{Controller, FamilyPolicy};

use crate::error::Error;
use crate::{check_version, warn};

/// Runs `info` for family `family`.
/// A policy dump that fails is warned about and the object printed without
/// policies.
pub fn run(family: &str) -> Result<FamilyPolicy, Error> {
    let mut c = Controller::open()?;
    let fam = c.resolve(family)?;
    check_version(&fam);
    let dump = c.policy_dump(&fam).unwrap_or_else(|e| {
        warn(&format!(
            "cannot read the attribute policies: {}",
            Error::from(e)
        ));
        PolicyDump::default()
    });
    Ok(FamilyPolicy::new(&fam, &dump))
}

#[cfg(test)]
mod tests {
    use super::*;
    use genl_echo::proto::consts::FAMILY_NAME;
    use genl_echo::proto::ctrl::{
        self, AttrPolicy, Bound, FamilyInfo, McastGroup, OpFlags, OpInfo, OpPolicy,
    };
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
