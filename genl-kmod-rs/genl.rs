// SPDX-License-Identifier: GPL-2.0

//! A generic netlink layer: everything of the module that touches C.
//!
//! It offers a family with operations ([`Family`]), requests whose
//! attributes the core has already validated against the operation's
//! policy ([`Request`], [`Attr`]), reply and notification messages
//! ([`Msg`]), state per network namespace ([`Pernet`], [`NetState`]) and
//! per-CPU counters ([`PerCpuCounters`]). The handlers the module writes on
//! top of it are safe Rust; every `unsafe` block of the module is here.
//!
//! The operations table, the attribute policies and the multicast group
//! table are C: the kernel's YNL generator writes them from the family's
//! spec, and a C file of the module hands them to [`Family::register`]. An
//! operation's `doit` is a C symbol the table names; [`genl_doit!`] defines
//! it around a safe handler.
//!
//! The static inline functions of the C API that Rust cannot call, and that
//! the kernel does not wrap for Rust, are one-line C functions in
//! `genl_helpers.c`.
//!
//! C header: [`include/net/genetlink.h`](srctree/include/net/genetlink.h)

use core::{
    cell::UnsafeCell,
    ffi::CStr,
    marker::PhantomData,
    mem, ptr,
    sync::atomic::{AtomicBool, Ordering},
};
use kernel::{bindings, error::to_result, prelude::*};

/// The C half of this layer (`genl_helpers.c`).
mod ffi {
    use kernel::{bindings, prelude::*};

    // Only pointers cross: the structs behind them (which contain the
    // zero-sized `lock_class_key` under lockdep) never do, as the kernel's
    // own bindings assume.
    #[allow(improper_ctypes)]
    extern "C" {
        pub(super) fn genl_rs_info_net(info: *const bindings::genl_info) -> *mut bindings::net;
        pub(super) fn genl_rs_net_generic(net: *const bindings::net, id: c_uint) -> *mut c_void;
        pub(super) fn genl_rs_reply(
            skb: *mut bindings::sk_buff,
            info: *mut bindings::genl_info,
        ) -> c_int;
        pub(super) fn genl_rs_multicast(
            family: *const bindings::genl_family,
            net: *mut bindings::net,
            skb: *mut bindings::sk_buff,
            group: c_uint,
        ) -> c_int;
        pub(super) fn genl_rs_has_listeners(
            family: *const bindings::genl_family,
            net: *mut bindings::net,
            group: c_uint,
        ) -> bool;
        pub(super) fn genl_rs_set_err(
            family: *const bindings::genl_family,
            net: *mut bindings::net,
            group: c_uint,
            code: c_int,
        );
        pub(super) fn genl_rs_pcpu_alloc(n: usize) -> usize;
        pub(super) fn genl_rs_pcpu_free(handle: usize);
        pub(super) fn genl_rs_pcpu_add(handle: usize, i: usize, v: u64);
        pub(super) fn genl_rs_pcpu_sum(handle: usize, i: usize) -> u64;
    }
}

/// `NLA_HDRLEN`: the size of an attribute's header.
const NLA_HDRLEN: usize = mem::size_of::<bindings::nlattr>();

/// `NLA_ALIGN`: attributes are padded to 4 bytes.
const fn nla_align(len: usize) -> usize {
    (len + 3) & !3
}

/// `nla_total_size`: the room an attribute with `payload` bytes takes.
pub(crate) const fn attr_size(payload: usize) -> usize {
    nla_align(NLA_HDRLEN + payload)
}

/// `nla_total_size_64bit`: the room a 64-bit attribute takes, with the pad
/// attribute [`Msg::put_u64`] may need to align it (counted always, as on
/// the architectures that need it).
pub(crate) const fn attr_size_u64() -> usize {
    attr_size(mem::size_of::<u64>()) + attr_size(0)
}

/// What a family is made of, besides the tables of its spec.
pub(crate) struct FamilyDesc {
    /// The name clients resolve (`GENL_NAMSIZ` bytes at most, with the NUL).
    pub(crate) name: &'static CStr,
    /// The protocol version in the generic netlink header.
    pub(crate) version: u8,
    /// The highest attribute type.
    pub(crate) maxattr: u16,
    /// Fills in the ops and multicast group tables (C, from the spec).
    pub(crate) tables: unsafe extern "C" fn(*mut bindings::genl_family),
}

/// A generic netlink family, registered in every network namespace
/// (`netnsok`), whose operations run in parallel (`parallel_ops`), with
/// the state `T` in every namespace.
///
/// It lives in a `static`: the core keeps a pointer to it while it is
/// registered, and messages name it. The state is registered with it (just
/// before it) and unregistered with it (just after it), so a request to the
/// family always finds its namespace's state.
///
/// # Invariants
///
/// The C struct is written only by the first [`Family::register`] (`used`
/// makes sure there is one), before `genl_register_family`, and after that
/// only by the core; once registered, it stays registered until the
/// [`FamilyRegistration`] that [`Family::register`] returned is dropped.
pub(crate) struct Family<T: NetState> {
    raw: UnsafeCell<bindings::genl_family>,
    used: AtomicBool,
    pernet: Pernet<T>,
}

// SAFETY: the C struct is written only before registration (by the first
// `register`, the type invariant) and then by the core, under its own locks.
unsafe impl<T: NetState> Sync for Family<T> {}

impl<T: NetState> Family<T> {
    /// An unregistered family.
    pub(crate) const fn new() -> Self {
        Self {
            // SAFETY: `struct genl_family` is plain C data, for which all
            // zeroes is the valid "nothing set" value.
            raw: UnsafeCell::new(unsafe { mem::zeroed() }),
            used: AtomicBool::new(false),
            pernet: Pernet::new(),
        }
    }

    /// Registers the state, then the family; both are unregistered when the
    /// returned value is dropped. A family registers once: a second call
    /// fails with `EBUSY`.
    pub(crate) fn register(
        &'static self,
        module: &'static ThisModule,
        desc: &FamilyDesc,
    ) -> Result<FamilyRegistration<T>> {
        if self.used.swap(true, Ordering::AcqRel) {
            return Err(EBUSY);
        }
        // Per-namespace state must exist before the first request arrives;
        // dropped (unregistered) if the family's registration fails.
        let pernet = self.pernet.register()?;
        let name = desc.name.to_bytes_with_nul();
        // SAFETY: this is the first `register` (`used` was false), so the
        // struct is not registered and nothing else reads or writes it.
        let f = unsafe { &mut *self.raw.get() };
        if name.len() > f.name.len() {
            return Err(EINVAL);
        }
        for (d, s) in f.name.iter_mut().zip(name) {
            *d = *s;
        }
        f.version = desc.version.into();
        f.maxattr = desc.maxattr.into();
        f.set_netnsok(1);
        f.set_parallel_ops(1);
        f.module = module.as_ptr();
        // SAFETY: `tables` sets the ops and group pointers and counts to
        // static tables; `f` is valid and not shared yet.
        unsafe { (desc.tables)(f) };
        // SAFETY: `f` is a complete family in static memory, which the
        // registration keeps alive (`'static`).
        to_result(unsafe { bindings::genl_register_family(f) })?;
        Ok(FamilyRegistration {
            family: self,
            _pernet: pernet,
        })
    }

    fn as_ptr(&self) -> *const bindings::genl_family {
        self.raw.get()
    }
}

/// A registered [`Family`]; dropping it unregisters the family, which waits
/// for the running handlers, and then its state (`_pernet`, dropped after
/// `drop` has run).
pub(crate) struct FamilyRegistration<T: NetState> {
    family: &'static Family<T>,
    _pernet: PernetRegistration<T>,
}

impl<T: NetState> Drop for FamilyRegistration<T> {
    fn drop(&mut self) {
        // SAFETY: registered by `Family::register` (the type invariant).
        unsafe { bindings::genl_unregister_family(self.family.as_ptr()) };
    }
}

/// State a module keeps per network namespace: made when a namespace
/// appears (and for every existing one at registration), dropped when it
/// goes.
pub(crate) trait NetState: Sized + Send + Sync + 'static {
    /// The family this state belongs to.
    fn family() -> &'static Family<Self>;
    /// The initialiser of a new namespace's state.
    fn init() -> impl PinInit<Self, Error>;
}

/// `struct pernet_operations` for the state `T`, part of its [`Family`].
///
/// # Invariants
///
/// `ops` is written only by the first [`Pernet::register`] (`used` makes
/// sure there is one), before the core sees it; `id` is written by the core
/// during `register_pernet_subsys` and only read after; while registered,
/// `net_generic(net, id)` of every live namespace points at an initialised,
/// pinned `T`.
struct Pernet<T: NetState> {
    ops: UnsafeCell<bindings::pernet_operations>,
    id: UnsafeCell<c_uint>,
    used: AtomicBool,
    _state: PhantomData<T>,
}

// SAFETY: the ops are written only by the first `register`, before the
// core sees them (the type invariant); `id` is written by the core during registration, before any
// callback or request can read it.
unsafe impl<T: NetState> Sync for Pernet<T> {}

impl<T: NetState> Pernet<T> {
    /// An unregistered set of operations.
    const fn new() -> Self {
        Self {
            // SAFETY: plain C data; all zeroes is "no callbacks".
            ops: UnsafeCell::new(unsafe { mem::zeroed() }),
            id: UnsafeCell::new(0),
            used: AtomicBool::new(false),
            _state: PhantomData,
        }
    }

    /// Registers the state with every namespace; dropping the result
    /// unregisters it (dropping the state of each). Registered once (a
    /// second call fails with `EBUSY`), by [`Family::register`].
    fn register(&'static self) -> Result<PernetRegistration<T>> {
        // The core allocates `size` bytes with kzalloc, aligned for any
        // kernel type up to `ARCH_KMALLOC_MINALIGN` (8 on x86-64).
        build_assert!(mem::align_of::<T>() <= 8);
        if self.used.swap(true, Ordering::AcqRel) {
            return Err(EBUSY);
        }
        // SAFETY: the first `register` (`used` was false): not registered,
        // so not shared.
        let ops = unsafe { &mut *self.ops.get() };
        ops.init = Some(Self::net_init);
        ops.exit = Some(Self::net_exit);
        ops.id = self.id.get();
        ops.size = mem::size_of::<T>();
        // SAFETY: `ops` is complete and static.
        to_result(unsafe { bindings::register_pernet_subsys(ops) })?;
        Ok(PernetRegistration { pernet: self })
    }

    /// The state of `net`.
    ///
    /// # Safety
    ///
    /// `net` is a live namespace for `'n`, and the registration is live.
    unsafe fn get<'n>(&self, net: *mut bindings::net) -> &'n T {
        // SAFETY: `id` was set by the core at registration (the type
        // invariant), before any request can arrive.
        let id = unsafe { *self.id.get() };
        // SAFETY: `net` is live for `'n` and the registration is live (the
        // caller's guarantees), so its slot holds an initialised `T` that
        // lives as long as `net`.
        unsafe { &*ffi::genl_rs_net_generic(net, id).cast::<T>() }
    }

    /// The slot the core allocated for `net`'s state.
    ///
    /// # Safety
    ///
    /// The core is calling `net_init` or `net_exit` for `net`.
    unsafe fn slot(net: *mut bindings::net) -> *mut T {
        let pernet = &T::family().pernet;
        // SAFETY: the core set `id` before calling `net_init` or `net_exit`
        // (the caller's guarantee) and `net` is valid during the call.
        unsafe { ffi::genl_rs_net_generic(net, *pernet.id.get()) }.cast()
    }

    unsafe extern "C" fn net_init(net: *mut bindings::net) -> c_int {
        // SAFETY: the core calls this for `net`, with its slot allocated
        // (`size` zeroed bytes) before anyone can use it.
        let slot = unsafe { Self::slot(net) };
        // SAFETY: `slot` is valid for writing a `T` and does not move until
        // `net_exit` (the core frees it after that).
        match unsafe { pin_init::raw_try_init(slot, T::init()) } {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    unsafe extern "C" fn net_exit(net: *mut bindings::net) {
        // SAFETY: the core calls this for `net`, after `net_init` succeeded
        // for it, when nothing uses the state any more; the slot holds an
        // initialised `T`, dropped once.
        unsafe { ptr::drop_in_place(Self::slot(net)) };
    }
}

/// Registered [`Pernet`] operations; dropping it unregisters them.
struct PernetRegistration<T: NetState> {
    pernet: &'static Pernet<T>,
}

impl<T: NetState> Drop for PernetRegistration<T> {
    fn drop(&mut self) {
        // SAFETY: registered by `Pernet::register`.
        unsafe { bindings::unregister_pernet_subsys(self.pernet.ops.get()) };
    }
}

/// `N` 64-bit counters per CPU: adding is cheap and touches only the
/// current CPU's cache line; reading sums over the CPUs.
///
/// # Invariants
///
/// `handle` is a live per-CPU allocation of `N` u64, freed on drop.
pub(crate) struct PerCpuCounters<const N: usize> {
    handle: usize,
}

// SAFETY: the counters are updated with `this_cpu_add` (safe against
// preemption and interrupts on the current CPU) and read with `READ_ONCE`.
unsafe impl<const N: usize> Send for PerCpuCounters<N> {}
// SAFETY: as above.
unsafe impl<const N: usize> Sync for PerCpuCounters<N> {}

impl<const N: usize> PerCpuCounters<N> {
    /// `N` counters at zero.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: a plain allocation (zeroed by the allocator).
        let handle = unsafe { ffi::genl_rs_pcpu_alloc(N) };
        if handle == 0 {
            return Err(ENOMEM);
        }
        Ok(Self { handle })
    }

    /// Adds `v` to counter `i` (< `N`).
    pub(crate) fn add(&self, i: usize, v: u64) {
        if i < N {
            // SAFETY: `handle` is live (the type invariant) and `i` < `N`.
            unsafe { ffi::genl_rs_pcpu_add(self.handle, i, v) };
        }
    }

    /// The sum of counter `i` (< `N`) over every CPU.
    pub(crate) fn sum(&self, i: usize) -> u64 {
        if i >= N {
            return 0;
        }
        // SAFETY: as in `add`.
        unsafe { ffi::genl_rs_pcpu_sum(self.handle, i) }
    }
}

impl<const N: usize> Drop for PerCpuCounters<N> {
    fn drop(&mut self) {
        // SAFETY: live until now (the type invariant); not used again.
        unsafe { ffi::genl_rs_pcpu_free(self.handle) };
    }
}

/// A request to a `doit` operation of the family whose namespace state is
/// `T`.
///
/// # Invariants
///
/// `info` is the core's for the running `doit` of `T`'s family (so the
/// state is registered); `attrs`, when not null,
/// has `maxattr + 1` entries, each null or an attribute the core validated
/// against the operation's policy, in the request's buffer, which outlives
/// the request.
pub(crate) struct Request<'a, T: NetState> {
    info: &'a mut bindings::genl_info,
    maxattr: u16,
    _state: PhantomData<T>,
}

/// A validated attribute of a [`Request`].
pub(crate) struct Attr<'a> {
    data: &'a [u8],
}

impl<'a> Attr<'a> {
    /// The payload up to its first NUL (a string the policy made sure has
    /// one).
    pub(crate) fn c_str_bytes(&self) -> &'a [u8] {
        let len = self
            .data
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(self.data.len());
        &self.data[..len]
    }

    /// A `u32` attribute's value (its policy checked the length).
    pub(crate) fn get_u32(&self) -> Result<u32> {
        let b = self.data.get(..4).ok_or(EINVAL)?;
        Ok(u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    }
}

impl<'a, T: NetState> Request<'a, T> {
    /// The request the core passes to a `doit`.
    ///
    /// # Safety
    ///
    /// `info` is the core's argument to a running `doit` of `T`'s family,
    /// valid (and used by nothing else) until it returns.
    pub(crate) unsafe fn from_raw(info: *mut bindings::genl_info) -> Self {
        // SAFETY: valid for the whole `doit` (the caller's guarantee).
        let info = unsafe { &mut *info };
        // SAFETY: the core sets `family` and `genlhdr` before any `doit`;
        // the family's split ops are its static table of `n_split_ops`.
        let maxattr = unsafe {
            let family = &*info.family;
            let cmd = (*info.genlhdr).cmd;
            let ops = core::slice::from_raw_parts(family.split_ops, family.n_split_ops.into());
            ops.iter()
                .find(|op| op.cmd == cmd && u32::from(op.flags) & bindings::GENL_CMD_CAP_DO != 0)
                .map_or(0, |op| op.maxattr as u16)
        };
        // The core parses into a table of the operation's maxattr + 1
        // entries, or none when the operation has no policy.
        let maxattr = if info.attrs.is_null() { 0 } else { maxattr };
        Self {
            info,
            maxattr,
            _state: PhantomData,
        }
    }

    fn net(&self) -> *mut bindings::net {
        // SAFETY: `info` is valid (the type invariant).
        unsafe { ffi::genl_rs_info_net(self.info) }
    }

    /// The state of the request's namespace.
    pub(crate) fn state(&self) -> &'a T {
        // SAFETY: the request's namespace lives at least as long as the
        // request; `T`'s family runs it (the type invariant), and its state
        // is registered before it and unregistered after it.
        unsafe { T::family().pernet.get(self.net()) }
    }

    /// The validated attribute `ty`, if the request has it.
    pub(crate) fn attr(&self, ty: u16) -> Option<Attr<'a>> {
        if self.info.attrs.is_null() || ty > self.maxattr {
            return None;
        }
        // SAFETY: `attrs` has `maxattr + 1` entries (the type invariant).
        let nla = unsafe { *self.info.attrs.add(ty.into()) };
        if nla.is_null() {
            return None;
        }
        // SAFETY: a validated attribute: `nla_len` bytes from `nla`, at
        // least its header, in the request's buffer, which outlives `'a`.
        let data = unsafe {
            let len = usize::from((*nla).nla_len).saturating_sub(NLA_HDRLEN);
            core::slice::from_raw_parts(nla.cast::<u8>().add(NLA_HDRLEN), len)
        };
        Some(Attr { data })
    }

    /// The attribute `ty`, which the operation needs: without it, the
    /// request fails with `EINVAL`, the extack naming the missing attribute
    /// (`GENL_REQ_ATTR_CHECK`) and saying `msg`.
    pub(crate) fn require(&mut self, ty: u16, msg: &'static CStr) -> Result<Attr<'a>> {
        if let Some(a) = self.attr(ty) {
            return Ok(a);
        }
        let extack = self.info.extack;
        if !extack.is_null() {
            // SAFETY: the core's extack for this request, valid during it.
            unsafe {
                (*extack).miss_nest = ptr::null();
                (*extack).miss_type = ty;
            }
        }
        self.set_err_msg(msg);
        Err(EINVAL)
    }

    /// Sets the extack message (`GENL_SET_ERR_MSG`).
    pub(crate) fn set_err_msg(&mut self, msg: &'static CStr) {
        let extack = self.info.extack;
        if !extack.is_null() {
            // SAFETY: as in `require`; `msg` is static, as the core wants.
            unsafe { (*extack)._msg = msg.as_ptr().cast() };
        }
    }

    /// Validates the request's attributes against a policy of the module's
    /// C half (for an operation the core does not validate), with the
    /// request's extack.
    pub(crate) fn validate(
        &self,
        check: unsafe extern "C" fn(*const bindings::genl_info) -> c_int,
    ) -> Result {
        // SAFETY: `check` only reads the request (its nlmsghdr) and writes
        // its extack, both valid during the request.
        to_result(unsafe { check(self.info) })
    }

    /// A reply to this request: a message of `size` bytes of attributes
    /// with the header for `cmd`, addressed to the sender.
    pub(crate) fn new_reply(&self, size: usize, cmd: u8) -> Result<Msg> {
        Msg::new(
            size,
            self.info.family,
            self.info.snd_portid,
            self.info.snd_seq,
            cmd,
        )
    }

    /// A notification for the family's multicast groups: a message of
    /// `size` bytes of attributes with the header for `cmd`.
    pub(crate) fn new_notification(&self, size: usize, cmd: u8) -> Result<Msg> {
        Msg::new(size, self.info.family, 0, 0, cmd)
    }

    /// Sends `msg` to the request's sender.
    pub(crate) fn reply(&mut self, msg: Msg) -> Result {
        let skb = msg.finish();
        // SAFETY: `skb` is a complete message, whose ownership passes to
        // the core; `info` is valid.
        to_result(unsafe { ffi::genl_rs_reply(skb, self.info) })
    }

    /// Whether anyone in the request's namespace listens to `group`.
    pub(crate) fn has_listeners(&self, group: u32) -> bool {
        // SAFETY: the family is registered (it runs this request) and
        // `group` indexes its group table (the core checks it).
        unsafe { ffi::genl_rs_has_listeners(self.info.family, self.net(), group) }
    }

    /// Sends `msg` to the listeners of `group` in the request's namespace.
    /// A listener whose socket overflows gets `ENOBUFS`; none listening is
    /// not an error.
    pub(crate) fn multicast(&self, msg: Msg, group: u32) {
        let skb = msg.finish();
        // SAFETY: `skb` passes to the core; the family is registered; the
        // core checks `group` against the family's table.
        let _ = unsafe { ffi::genl_rs_multicast(self.info.family, self.net(), skb, group) };
    }

    /// Tells the listeners of `group` in the request's namespace that they
    /// missed a message (`genl_set_err`: they read `err`, e.g. `ENOBUFS`).
    pub(crate) fn set_listener_err(&self, group: u32, err: Error) {
        // SAFETY: as in `multicast`.
        unsafe { ffi::genl_rs_set_err(self.info.family, self.net(), group, err.to_errno()) };
    }
}

/// A generic netlink message being built: a header and attributes.
///
/// # Invariants
///
/// `skb` is owned (freed on drop unless sent); `hdr` is its generic
/// netlink header, which `finish` closes.
pub(crate) struct Msg {
    skb: *mut bindings::sk_buff,
    hdr: *mut c_void,
}

impl Msg {
    fn new(
        size: usize,
        family: *const bindings::genl_family,
        portid: u32,
        seq: u32,
        cmd: u8,
    ) -> Result<Self> {
        // SAFETY: a plain allocation.
        let skb = unsafe { bindings::genlmsg_new(size, bindings::GFP_KERNEL) };
        if skb.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: `skb` is a new message; `family` is registered.
        let hdr = unsafe { bindings::genlmsg_put(skb, portid, seq, family, 0, cmd) };
        if hdr.is_null() {
            // SAFETY: ours, not sent.
            unsafe { bindings::nlmsg_free(skb) };
            return Err(EMSGSIZE);
        }
        Ok(Self { skb, hdr })
    }

    /// Adds a `u32` attribute.
    pub(crate) fn put_u32(&mut self, ty: u16, v: u32) -> Result {
        let b = v.to_ne_bytes();
        // SAFETY: `skb` is ours (the type invariant); `b` is readable.
        to_result(unsafe {
            bindings::nla_put(self.skb, ty.into(), b.len() as c_int, b.as_ptr().cast())
        })
    }

    /// Adds a `u64` attribute, aligned to 8 bytes with a `pad` attribute
    /// where the architecture needs it (`nla_put_u64_64bit`).
    pub(crate) fn put_u64(&mut self, ty: u16, v: u64, pad: u16) -> Result {
        let b = v.to_ne_bytes();
        // SAFETY: as in `put_u32`.
        to_result(unsafe {
            bindings::nla_put_64bit(
                self.skb,
                ty.into(),
                b.len() as c_int,
                b.as_ptr().cast(),
                pad.into(),
            )
        })
    }

    /// Adds an attribute of `len` bytes and returns its payload to fill in.
    pub(crate) fn reserve(&mut self, ty: u16, len: usize) -> Result<&mut [u8]> {
        let len_c = c_int::try_from(len).map_err(|_| EMSGSIZE)?;
        // SAFETY: `skb` is ours.
        let nla = unsafe { bindings::nla_reserve(self.skb, ty.into(), len_c) };
        if nla.is_null() {
            return Err(EMSGSIZE);
        }
        // SAFETY: `nla_reserve` made room for `len` bytes after the header,
        // in `skb`, which `self` owns and the returned borrow keeps.
        Ok(unsafe { core::slice::from_raw_parts_mut(nla.cast::<u8>().add(NLA_HDRLEN), len) })
    }

    /// Closes the message and hands its buffer over.
    fn finish(self) -> *mut bindings::sk_buff {
        let this = mem::ManuallyDrop::new(self);
        // SAFETY: `hdr` is the header of `skb` (the type invariant).
        unsafe { bindings::genlmsg_end(this.skb, this.hdr) };
        this.skb
    }
}

impl Drop for Msg {
    fn drop(&mut self) {
        // SAFETY: ours and not sent (`finish` does not drop).
        unsafe { bindings::nlmsg_free(self.skb) };
    }
}

/// Defines the C symbol `$name`, an operation's `doit` named by the
/// generated ops table, around the safe handler
/// `$handler: fn(&mut Request<'_, T>) -> Result`. The ops table that names
/// `$name` must be the one of `T::family()` (its `tables`): that is what
/// makes the request's state `T`.
macro_rules! genl_doit {
    ($name:ident => $handler:path) => {
        #[no_mangle]
        unsafe extern "C" fn $name(
            _skb: *mut kernel::bindings::sk_buff,
            info: *mut kernel::bindings::genl_info,
        ) -> kernel::prelude::c_int {
            // SAFETY: the core calls a `doit` with its `info`, valid until
            // it returns; the handler's state type is the one of the family
            // whose ops table names this symbol (the macro's contract).
            let mut req = unsafe { $crate::genl::Request::from_raw(info) };
            match $handler(&mut req) {
                Ok(()) => 0,
                Err(e) => e.to_errno(),
            }
        }
    };
}
pub(crate) use genl_doit;
