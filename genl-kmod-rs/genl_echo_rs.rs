// SPDX-License-Identifier: GPL-2.0

//! The genl_echo generic netlink family, in Rust.
//!
//! The same family as the C module in `genl-kmod/` (the same spec, tables
//! and behaviour): ECHO returns a message with the case of its ASCII
//! letters converted by the namespace's mode, SET_CASE (CAP_NET_ADMIN over
//! the namespace) sets the mode and notifies the `events` group, GET_CASE
//! reads it and STATS the namespace's counters. The handlers are safe Rust
//! on the generic netlink layer in `genl.rs`.

use core::sync::atomic::{AtomicU32, Ordering};
use kernel::{new_mutex, prelude::*, sync::Mutex};

mod genl;
#[allow(dead_code)]
mod uapi;

use genl::{attr_size, attr_size_u64, genl_doit, Family, Msg, NetState, PerCpuCounters, Request};

module! {
    type: GenlEcho,
    name: "genl_echo",
    authors: ["genl_echo developers"],
    description: "Generic netlink echo service with per-namespace case conversion (Rust)",
    license: "GPL",
}

// The C half of the module: the spec's tables (spec.c). Only pointers
// cross (see `genl::ffi`).
#[allow(improper_ctypes)]
extern "C" {
    fn genl_echo_rs_tables(family: *mut kernel::bindings::genl_family);
    fn genl_echo_rs_refuse_attrs(info: *const kernel::bindings::genl_info) -> c_int;
}

static FAMILY: Family<EchoNet> = Family::new();

/// The per-CPU counters of [`EchoNet`], in STATS order.
const ECHO_REQUESTS: usize = 0;
const ECHO_BYTES: usize = 1;
const CHARS_CONVERTED: usize = 2;
const MODE_CHANGES: usize = 3;
const REJECTED: usize = 4;
const N_COUNTERS: usize = 5;

/// One per network namespace.
#[pin_data]
struct EchoNet {
    /// Serialises mode changes, so that events leave in the order of the
    /// changes they describe; readers of `mode` do not take it.
    #[pin]
    mode_lock: Mutex<()>,
    mode: AtomicU32,
    stats: PerCpuCounters<N_COUNTERS>,
}

impl NetState for EchoNet {
    fn family() -> &'static Family<Self> {
        &FAMILY
    }

    fn init() -> impl PinInit<Self, Error> {
        try_pin_init!(EchoNet {
            mode_lock <- new_mutex!(()),
            mode: AtomicU32::new(uapi::MODE_NONE),
            stats: PerCpuCounters::new()?,
        })
    }
}

impl EchoNet {
    fn mode(&self) -> u32 {
        self.mode.load(Ordering::Relaxed)
    }

    /// Counts a refused request and returns its error.
    fn reject(&self, err: Error) -> Error {
        self.stats.add(REJECTED, 1);
        err
    }
}

/// Copies `src` into `dst`, converting the case of ASCII letters by `mode`;
/// returns how many changed. The kernel's `toupper` follows Latin-1 and
/// would change bytes 0xc0-0xfe (UTF-8): only ASCII letters are ours.
fn convert(dst: &mut [u8], src: &[u8], mode: u32) -> u64 {
    let range = match mode {
        uapi::MODE_UPPER => b'a'..=b'z',
        uapi::MODE_LOWER => b'A'..=b'Z',
        _ => {
            dst.copy_from_slice(src);
            return 0;
        }
    };
    let mut changed = 0;
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = if range.contains(&s) {
            changed += 1;
            s ^ (b'a' ^ b'A')
        } else {
            s
        };
    }
    changed
}

fn echo(req: &mut Request<'_, EchoNet>) -> Result {
    let gn = req.state();
    let msg = match req.require(uapi::A_MSG, c"missing attribute GENL_ECHO_A_MSG") {
        Ok(a) => a.c_str_bytes(),
        Err(e) => return Err(gn.reject(e)),
    };
    let len = msg.len();
    // One read per request: a reply is never half one mode, half another.
    let mode = gn.mode();

    let size = attr_size(len + 1) + attr_size(4);
    let mut reply = req
        .new_reply(size, uapi::CMD_ECHO)
        .map_err(|e| gn.reject(e))?;
    let converted = match echo_fill(&mut reply, msg, mode) {
        Ok(c) => c,
        Err(e) => return Err(gn.reject(e)),
    };
    gn.stats.add(ECHO_REQUESTS, 1);
    gn.stats.add(ECHO_BYTES, len as u64);
    gn.stats.add(CHARS_CONVERTED, converted);
    req.reply(reply)
}

fn echo_fill(reply: &mut Msg, msg: &[u8], mode: u32) -> Result<u64> {
    let out = reply.reserve(uapi::A_MSG, msg.len() + 1)?;
    let (text, nul) = out.split_at_mut(msg.len());
    let converted = convert(text, msg, mode);
    nul[0] = 0;
    reply.put_u32(uapi::A_MODE, mode)?;
    Ok(converted)
}

fn case_size() -> usize {
    2 * attr_size(4)
}

/// Fills both the SET_CASE reply and the CASE_NTF event.
fn case_fill(msg: &mut Msg, mode: u32, prev: u32) -> Result {
    msg.put_u32(uapi::A_MODE, mode)?;
    msg.put_u32(uapi::A_PREV_MODE, prev)
}

fn case_notify(req: &Request<'_, EchoNet>, mode: u32, prev: u32) {
    if !req.has_listeners(uapi::NLGRP_EVENTS) {
        return;
    }
    let event = req
        .new_notification(case_size(), uapi::CMD_CASE_NTF)
        .and_then(|mut m| case_fill(&mut m, mode, prev).map(|()| m));
    match event {
        // Listeners that overflow see ENOBUFS on their socket.
        Ok(m) => req.multicast(m, uapi::NLGRP_EVENTS),
        // A listener must learn that it missed an event, as on overflow.
        Err(_) => req.set_listener_err(uapi::NLGRP_EVENTS, ENOBUFS),
    }
}

fn set_case(req: &mut Request<'_, EchoNet>) -> Result {
    let gn = req.state();
    let mode = match req.require(uapi::A_MODE, c"missing attribute GENL_ECHO_A_MODE") {
        Ok(a) => a.get_u32().map_err(|e| gn.reject(e))?,
        Err(e) => return Err(gn.reject(e)),
    };

    // Allocate before changing anything, so a failure changes nothing.
    let mut reply = req
        .new_reply(case_size(), uapi::CMD_SET_CASE)
        .map_err(|e| gn.reject(e))?;

    let prev = {
        let _guard = gn.mode_lock.lock();
        let prev = gn.mode.swap(mode, Ordering::Relaxed);
        if prev != mode {
            gn.stats.add(MODE_CHANGES, 1);
        }
        case_notify(req, mode, prev);
        prev
    };

    case_fill(&mut reply, mode, prev)?;
    req.reply(reply)
}

fn get_case(req: &mut Request<'_, EchoNet>) -> Result {
    // A policy failure, not a refusal: not counted as rejected.
    req.validate(genl_echo_rs_refuse_attrs)?;
    let gn = req.state();
    let mut reply = req
        .new_reply(attr_size(4), uapi::CMD_GET_CASE)
        .map_err(|e| gn.reject(e))?;
    reply
        .put_u32(uapi::A_MODE, gn.mode())
        .map_err(|e| gn.reject(e))?;
    req.reply(reply)
}

fn stats(req: &mut Request<'_, EchoNet>) -> Result {
    req.validate(genl_echo_rs_refuse_attrs)?;
    let gn = req.state();
    let mut reply = req
        .new_reply(attr_size(4) + 5 * attr_size_u64(), uapi::CMD_STATS)
        .map_err(|e| gn.reject(e))?;
    stats_fill(&mut reply, gn).map_err(|e| gn.reject(e))?;
    req.reply(reply)
}

fn stats_fill(reply: &mut Msg, gn: &EchoNet) -> Result {
    reply.put_u32(uapi::A_MODE, gn.mode())?;
    for (attr, i) in [
        (uapi::A_STATS_ECHO_REQUESTS, ECHO_REQUESTS),
        (uapi::A_STATS_ECHO_BYTES, ECHO_BYTES),
        (uapi::A_STATS_CHARS_CONVERTED, CHARS_CONVERTED),
        (uapi::A_STATS_MODE_CHANGES, MODE_CHANGES),
        (uapi::A_STATS_REJECTED, REJECTED),
    ] {
        reply.put_u64(attr, gn.stats.sum(i), uapi::A_PAD)?;
    }
    Ok(())
}

// The doit functions the generated ops table (netlink-gen.c) names.
genl_doit!(genl_echo_nl_echo_doit => echo);
genl_doit!(genl_echo_nl_set_case_doit => set_case);
genl_doit!(genl_echo_nl_get_case_doit => get_case);
genl_doit!(genl_echo_nl_stats_doit => stats);

struct GenlEcho {
    // Unregisters the family (waiting for running handlers), then the
    // per-namespace state.
    _family: genl::FamilyRegistration<EchoNet>,
}

impl kernel::Module for GenlEcho {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let family = FAMILY.register(
            module,
            &genl::FamilyDesc {
                name: uapi::FAMILY_NAME,
                version: uapi::FAMILY_VERSION,
                maxattr: uapi::A_MAX,
                tables: genl_echo_rs_tables,
            },
        )?;
        // pr_info! prefixes the module name.
        pr_info!("loaded (the Rust implementation)\n");
        Ok(GenlEcho { _family: family })
    }
}
