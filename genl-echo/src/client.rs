//! [`Client`]: one request at a time, blocking.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use genl_proto::consts::FAMILY_NAME;
use genl_proto::ctrl::FamilyInfo;
use genl_proto::message::Reply;
use genl_proto::{CaseReply, EchoReply, Mode, ModeReply, Request, Stats};

use crate::conn::Conn;
use crate::core::family::{self, Next};
use crate::core::requests::Kind;
use crate::error::{Error, Op};
use crate::netns::Netns;
use crate::policy::{Controller, FamilyPolicy};

/// A blocking client of the `genl_echo` family: one generic netlink socket,
/// the family resolved by name when connecting.
///
/// Every method sends one request and waits (at most the timeout, 10 s by
/// default) for its reply, which is matched by sequence number and decoded
/// with every length checked. A `Client` is `Send`; use one per thread.
///
/// Replies of requests given up on (a timeout, an abandoned batch) are
/// skipped when they arrive later, never taken for another request's; so
/// is anything not sent by the kernel. When the module is reloaded and the
/// family's id goes stale, the next request resolves the family by name
/// again and is retried once ([`Error::NotRegistered`] if the family is
/// not back).
pub struct Client {
    pub(crate) conn: Conn,
    pub(crate) family: FamilyInfo,
    pub(crate) netns: Option<Arc<Netns>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("family", &self.family)
            .field("port", &self.conn.sock.pid())
            .field("netns", &self.netns)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Opens a socket in the calling thread's network namespace and
    /// resolves the `genl_echo` family by name (`CTRL_CMD_GETFAMILY`, which
    /// lets the kernel autoload an installed module).
    ///
    /// Fails with [`Error::NotRegistered`] if the family does not exist.
    pub fn connect() -> Result<Client, Error> {
        Client::connect_in(None)
    }

    /// Like [`Client::connect`], in the network namespace at `path` (a
    /// file such as `/run/netns/NAME` or `/proc/PID/ns/net`; see
    /// [`crate::netns::path_of`] for `ip netns` names). Needs
    /// CAP_SYS_ADMIN; the calling thread stays in its own namespace, and
    /// every socket of this client ([`Client::subscribe`] included) is
    /// created in `path`'s.
    pub fn connect_netns(path: impl AsRef<Path>) -> Result<Client, Error> {
        let ns = Arc::new(Netns::open(path.as_ref())?);
        Client::connect_in(Some(ns))
    }

    fn connect_in(netns: Option<Arc<Netns>>) -> Result<Client, Error> {
        let mut c = Controller::open_in(netns.as_deref())?;
        let family = c.resolve(FAMILY_NAME)?;
        Ok(Client {
            conn: c.into_conn(),
            family,
            netns,
        })
    }

    /// What the controller reported about the family when connecting (or
    /// when the client last resolved it again, after a module reload): id,
    /// version, operations with their flags, multicast groups.
    pub fn family(&self) -> &FamilyInfo {
        &self.family
    }

    /// The family's operations with their attribute policies
    /// (`CTRL_CMD_GETPOLICY`), as `nlctl info` shows them.
    pub fn policy(&mut self) -> Result<FamilyPolicy, Error> {
        let dump = self.with_family(crate::policy::dump_policy)?;
        Ok(FamilyPolicy::new(&self.family, &dump))
    }

    /// Sets how long a request waits for its reply ([`Error::Timeout`]
    /// after that). A zero duration waits forever.
    pub fn set_timeout(&mut self, timeout: Duration) -> Result<(), Error> {
        self.conn.set_timeout(timeout)
    }

    /// The socket's netlink port id.
    pub fn port_id(&self) -> u32 {
        self.conn.sock.pid()
    }

    /// Echoes `msg` (at most `GENL_ECHO_MSG_MAX` = 65530 bytes, no NUL):
    /// the reply carries it converted under the namespace's mode, and the
    /// mode. Too long or containing a NUL is [`Error::MsgTooLong`] or
    /// [`Error::MsgHasNul`] and nothing is sent.
    pub fn echo(&mut self, msg: &[u8]) -> Result<EchoReply, Error> {
        self.call(Op::Echo, Request::Echo(msg))
    }

    /// Sets the namespace's mode; the reply carries the new and the
    /// previous mode. Needs CAP_NET_ADMIN over the namespace
    /// ([`Error::PermissionDenied`] otherwise).
    pub fn set_mode(&mut self, mode: Mode) -> Result<CaseReply, Error> {
        self.call(Op::SetMode, Request::SetCase(mode))
    }

    /// The namespace's current mode.
    pub fn get_mode(&mut self) -> Result<Mode, Error> {
        self.call::<ModeReply>(Op::GetMode, Request::GetCase)
            .map(|r| r.mode)
    }

    /// The namespace's counters and mode.
    pub fn stats(&mut self) -> Result<Stats, Error> {
        self.call(Op::Stats, Request::Stats)
    }

    fn call<T: Reply>(&mut self, op: Op, req: Request<'_>) -> Result<T, Error> {
        // Checked before anything is sent (Request::encode checks too).
        req.validate().map_err(|e| Error::encode(op, e))?;
        let answer =
            self.with_family(|conn, id| conn.request(op, Kind::Do, |out| req.encode(id, 0, out)))?;
        let r = T::from_nlmsg(answer.message()).map_err(Error::decode(op));
        self.conn.reqs.recycle(answer);
        r
    }

    /// Runs `f` with the family id; if the answer says the id went stale
    /// (the module was reloaded), resolves the family again and retries
    /// once ([`Error::NotRegistered`] if it is not back).
    pub(crate) fn with_family<T>(
        &mut self,
        mut f: impl FnMut(&mut Conn, u16) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut retried = false;
        loop {
            match f(&mut self.conn, self.family.id) {
                Ok(v) => return Ok(v),
                Err(e) => match family::after_error(&e, retried) {
                    Next::Fail => return Err(e),
                    Next::Reresolve => {
                        log::debug!(
                            "family id {} went stale ({e}); resolving {} again",
                            self.family.id,
                            self.family.name
                        );
                        self.reresolve()?;
                        retried = true;
                    }
                },
            }
        }
    }

    /// Resolves the family by name again (after a module reload).
    pub(crate) fn reresolve(&mut self) -> Result<(), Error> {
        let name = self.family.name.clone();
        self.family = self.conn.resolve(&name)?;
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::batch::PipelineOptions;
    use crate::policy::Controller;
    use genl_proto::consts::MSG_MAX;

    /// A family id no family has.
    const NOWHERE: u16 = 0xfff0;

    /// A client whose family id is stale: the host's kernel has no family
    /// with it (the module never runs on the host).
    pub(crate) fn stale_client() -> Client {
        Client {
            conn: Conn::open(None).unwrap(),
            family: FamilyInfo {
                id: NOWHERE,
                name: FAMILY_NAME.into(),
                version: 1,
                hdrsize: 0,
                maxattr: 9,
                ops: Vec::new(),
                mcast_groups: Vec::new(),
            },
            netns: None,
        }
    }

    fn registered() -> bool {
        match Controller::open().unwrap().resolve(FAMILY_NAME) {
            Ok(_) => true,
            Err(Error::NotRegistered { .. }) => false,
            Err(e) => panic!("{e}"),
        }
    }

    /// A request to a stale family id resolves the family again: it is
    /// not registered here, so the answer is NotRegistered (where it is,
    /// the retried request succeeds). Either way never the raw ENOENT.
    #[test]
    fn a_stale_family_id_is_resolved_again() {
        let mut c = stale_client();
        let r = c.get_mode();
        if registered() {
            assert!(r.is_ok(), "{r:?}");
            assert_ne!(c.family().id, NOWHERE);
        } else {
            assert!(matches!(r, Err(Error::NotRegistered { .. })), "{r:?}");
        }
        let mut c = stale_client();
        let r = c.echo_batch(&[b"a", b"b"]);
        if !registered() {
            assert!(matches!(r, Err(Error::NotRegistered { .. })), "{r:?}");
        }
    }

    /// Nothing is sent when any message of a batch is refused, even one
    /// in a later chunk than the first.
    #[test]
    fn a_batch_is_checked_whole_before_the_first_send() {
        let mut c = stale_client();
        let big = vec![b'a'; MSG_MAX];
        let mut msgs = vec![big.clone(); 70];
        let mut last = big;
        last[5] = 0;
        msgs.push(last);
        let cap = c
            .pipeline(MSG_MAX, 71, PipelineOptions::new())
            .unwrap()
            .capacity();
        assert!(cap < 71, "the batch must take more than one send ({cap})");
        match c.echo_batch(&msgs) {
            Err(Error::MsgHasNul { offset: 5 }) => {}
            r => panic!("{r:?}"),
        }
        // Nothing was sent: nothing is queued.
        let mut buf = [0u8; 64];
        let e = c
            .conn
            .sock
            .recv_from(&mut buf, libc::MSG_DONTWAIT)
            .unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);
    }

    #[test]
    fn pipelines_restore_the_buffers_they_raised() {
        let mut c = stale_client();
        let s = &c.conn.sock;
        let before = (
            s.get_int(libc::SO_SNDBUF).unwrap(),
            s.get_int(libc::SO_RCVBUF).unwrap(),
        );
        {
            let p = c.pipeline(1000, 500, PipelineOptions::new()).unwrap();
            assert!(p.sndbuf() > before.0 || p.rcvbuf() > before.1, "{p:?}");
        }
        let s = &c.conn.sock;
        let after = (
            s.get_int(libc::SO_SNDBUF).unwrap(),
            s.get_int(libc::SO_RCVBUF).unwrap(),
        );
        assert_eq!(after, before);
        {
            let _p = c
                .pipeline(16, 4, PipelineOptions::new().rcvbuf(Some(4096)))
                .unwrap();
        }
        assert_eq!(c.conn.sock.get_int(libc::SO_RCVBUF).unwrap(), before.1);
    }

    #[test]
    fn too_many_requests_is_its_own_error() {
        let mut c = stale_client();
        let mut p = c.pipeline(16, 4, PipelineOptions::new()).unwrap();
        let cap = p.capacity();
        let msgs = vec![&b"x"[..]; cap + 1];
        match p.load(&msgs) {
            Err(Error::TooManyRequests {
                requested,
                capacity,
            }) => assert_eq!((requested, capacity), (cap + 1, cap)),
            r => panic!("{r:?}"),
        }
    }

    #[test]
    fn huge_batches_do_not_overflow() {
        let mut c = stale_client();
        for max in [0, 16, MSG_MAX] {
            let p = c.pipeline(max, usize::MAX, PipelineOptions::new()).unwrap();
            assert!(p.capacity() >= 1);
            assert!(p.capacity() <= crate::MAX_BATCH_BYTES);
        }
    }

    /// An ENOBUFS left by replies nobody read (an abandoned batch) is not
    /// charged to the next request: the request succeeds.
    #[test]
    fn a_leftover_overrun_does_not_fail_the_next_request() {
        let mut c = Controller::open().unwrap();
        let conn = c.conn_mut();
        conn.sock.set_rcvbuf(0).unwrap(); // the minimum
        let mut req = Vec::new();
        // 64 requests given up before their replies came (as after a
        // timeout): their replies overrun the tiny buffer.
        for _ in 0..64 {
            req.clear();
            let seq = conn
                .reqs
                .start(Op::ResolveFamily, Kind::Do, &mut req, |out| {
                    genl_proto::ctrl::encode_getfamily("nlctrl", 0, out)
                })
                .unwrap();
            conn.sock.send(&req).unwrap();
            conn.reqs.cancel(seq);
        }
        conn.leftovers = true; // as Conn::request sets it when it gives up
        let f = c.resolve("nlctrl").unwrap();
        assert_eq!(f.id, genl_proto::ctrl::GENL_ID_CTRL);
        let n = c.conn_mut().reqs.counters();
        assert_eq!(n.leftover_overruns, 1, "{n:?}");
        assert!(n.stale >= 1, "{n:?}");
        assert_eq!(n.lost, 0, "{n:?}");
    }
}
