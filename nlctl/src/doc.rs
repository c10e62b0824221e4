//! The JSON output contract as data. `docs/json-output.md` describes the
//! same thing in prose; the man page's JSON OUTPUT section is rendered from
//! [`JSON_OUTPUT`].

/// One key of a command's JSON object.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// The key.
    pub name: &'static str,
    /// Its JSON type.
    pub ty: &'static str,
    /// What it means.
    pub meaning: &'static str,
}

/// The JSON object one command prints.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// The command.
    pub command: &'static str,
    /// An example line.
    pub example: &'static str,
    /// Its keys, in output order.
    pub keys: &'static [Key],
}

const fn k(name: &'static str, ty: &'static str, meaning: &'static str) -> Key {
    Key { name, ty, meaning }
}

const MODE: &str =
    "string: \"none\", \"upper\" or \"lower\"; a number for a mode of a newer module";

/// Every command's output.
pub const JSON_OUTPUT: &[Output] = &[
    Output {
        command: "echo",
        example: r#"{"msg":"HELLO","mode":"upper"}"#,
        keys: &[
            k("msg", "string", "the message as the kernel returned it (lossy UTF-8 if it is not UTF-8)"),
            k("mode", MODE, "the mode the kernel applied"),
            k("msg_hex", "string (optional)", "only when the reply is not valid UTF-8: its exact bytes in lower-case hex"),
        ],
    },
    Output {
        command: "set-mode",
        example: r#"{"mode":"upper","previous":"none"}"#,
        keys: &[
            k("mode", MODE, "the new mode"),
            k("previous", MODE, "the mode before the request"),
        ],
    },
    Output {
        command: "get-mode",
        example: r#"{"mode":"upper"}"#,
        keys: &[k("mode", MODE, "the current mode")],
    },
    Output {
        command: "stats",
        example: r#"{"mode":"upper","echo_requests":3,"echo_bytes":15,"chars_converted":9,"mode_changes":1,"rejected":0}"#,
        keys: &[
            k("mode", MODE, "the current mode"),
            k("echo_requests", "number (u64)", "ECHO requests answered"),
            k("echo_bytes", "number (u64)", "message bytes echoed, NUL excluded"),
            k("chars_converted", "number (u64)", "letters whose case changed"),
            k("mode_changes", "number (u64)", "SET_CASE requests that changed the mode"),
            k("rejected", "number (u64)", "requests that passed the attribute policy but a handler refused"),
        ],
    },
    Output {
        command: "monitor",
        example: r#"{"event":"mode","mode":"upper","previous":"none"}"#,
        keys: &[
            k("event", "string: \"mode\", \"overrun\", \"family_removed\" or \"family_added\"", "\"mode\": a CASE_NTF notification; \"overrun\": the socket buffer overflowed and events were lost, after the events still queued (no other keys); \"family_removed\": the module was unloaded (no other keys); \"family_added\": the family is registered again and followed"),
            k("mode", MODE, "(mode events) the new mode"),
            k("previous", MODE, "(mode events) the mode before the change"),
            k("id", "number (u16)", "(family_added) the family's id now"),
            k("version", "number (u32)", "(family_added) the family's version"),
        ],
    },
    Output {
        command: "bench",
        example: r#"{"client":"nlctl","version":"0.1.0","kernel":"6.1.0-56-amd64","cpus":2,"family_id":32,"seconds":1.0,"count":null,"warmup":100,"results":[{"mode":"single","size":16,...},...],"overruns":0,"lost":0}"#,
        keys: &[
            k("client", "string", "always \"nlctl\" (the C client genl_cbench prints \"c\")"),
            k("version, kernel, cpus, family_id", "string, string, number, number", "nlctl's version, the running kernel, the CPUs available, the family id used"),
            k("seconds, count", "number or null", "the duration or the request count of each case (one of them is null)"),
            k("warmup", "number", "unmeasured requests before each case (per thread)"),
            k("results", "array", "one object per size and mode, in the order of --size and single, batch, threads, batch-threads"),
            k("results[].mode", "string", "\"single\", \"batch\", \"threads\" or \"batch-threads\""),
            k("results[].size, threads, batch", "number", "message bytes, threads (one socket each), requests per send (after fitting the socket buffers)"),
            k("results[].requests, verified", "number", "requests sent and replies received and checked (all threads)"),
            k("results[].seconds, rps", "number", "measured wall time and verified replies per second"),
            k("results[].p50_us, p99_us", "number", "latency percentiles: of one request, send to reply checked, one request in 8 timed (single, threads); of one whole batch, send to last reply checked (batch modes)"),
            k("results[].p50_us_per_request, p99_us_per_request", "number", "the same divided by the batch size"),
            k("results[].overruns, lost", "number", "ENOBUFS reports and replies the kernel dropped, measured requests only"),
            k("results[].syscalls_per_request", "number", "send, recv and recvmmsg calls per request"),
            k("results[].send_us_per_request, recv_us_per_request", "number or null", "batch modes: mean time per request in send (the kernel handles the batch) and in receiving and checking replies; null otherwise"),
            k("results[].rcvbuf", "number", "SO_RCVBUF as the kernel set it"),
            k("overruns, lost", "number", "totals over every case, warm-ups included; non-zero makes the exit status 1"),
        ],
    },
    Output {
        command: "info",
        example: r#"{"id":30,"name":"genl_echo","version":1,"hdrsize":0,"maxattr":9,"ops":[...],"mcast_groups":[{"name":"events","id":12}],"policies":[...]}"#,
        keys: &[
            k("id", "number", "family id"),
            k("name", "string", "family name"),
            k("version", "number", "family version as registered in the kernel"),
            k("hdrsize", "number", "user header size"),
            k("maxattr", "number", "highest attribute type"),
            k("ops", "array", "operations: {id, name, flags, do_policy, dump_policy}"),
            k("ops[].name", "string or null", "command name (echo, set_case, ...) when known"),
            k("ops[].flags", "object", "{admin_perm, uns_admin_perm, do, dump, has_policy: bool, raw: number}"),
            k("ops[].do_policy", "object or null", "{index, attrs} of the policy for do requests"),
            k("ops[].dump_policy", "object or null", "{index, attrs} of the policy for dump requests"),
            k("mcast_groups", "array", "multicast groups: {name, id}"),
            k("policies", "array", "every policy the kernel reported: {index, attrs}"),
            k("attrs[]", "object", "{id, name, type, and the limits the kernel reports: min_value, max_value, min_length, max_length, policy_idx, policy_maxtype, bitfield32_mask, mask}"),
        ],
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use genl_echo::{CaseEvent, Event, Mode};

    /// Every key of every line `monitor` prints is documented, in order.
    #[test]
    fn monitor_lines_are_documented() {
        let doc = JSON_OUTPUT.iter().find(|o| o.command == "monitor").unwrap();
        let names: Vec<&str> = doc.keys.iter().map(|k| k.name).collect();
        for ev in [
            Event::ModeChanged(CaseEvent {
                mode: Mode::Upper,
                previous: Mode::None,
            }),
            Event::Overrun,
            Event::FamilyRemoved,
            Event::FamilyAdded { id: 33, version: 1 },
        ] {
            let v = serde_json::to_value(ev).unwrap();
            let obj = v.as_object().unwrap();
            let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
            for k in &keys {
                assert!(names.contains(k), "{k} of {v} is not documented");
            }
            assert!(
                doc.keys[0].ty.contains(obj["event"].as_str().unwrap()),
                "{v}"
            );
        }
    }
}
