//! `nlctl info`: what the kernel reports about the family.
//!
//! Shape (keys in this order; `genl_echo::FamilyPolicy`'s serialization,
//! locked by its `json_shape` test):
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
