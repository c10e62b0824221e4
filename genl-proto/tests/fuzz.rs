//! Property tests: the decoders return `Ok` or `Err` for any input, never
//! panic; valid messages survive arbitrary bit flips without panicking; and
//! encode/decode round trips hold for arbitrary messages.

use genl_proto::ctrl::{FamilyInfo, PolicyDump};
use genl_proto::message::Reply;
use genl_proto::netlink::{self, ExtAck};
use genl_proto::{
    nla, Attr, CaseEvent, CaseReply, Cmd, EchoReply, Mode, ModeReply, Request, Stats,
};
use proptest::prelude::*;

fn decode_all(b: &[u8]) {
    let _ = EchoReply::from_nlmsg(b);
    let _ = CaseReply::from_nlmsg(b);
    let _ = CaseEvent::from_nlmsg(b);
    let _ = ModeReply::from_nlmsg(b);
    let _ = Stats::from_nlmsg(b);
    let _ = EchoReply::from_genl(b);
    let _ = Stats::from_attrs(b);
    let _ = FamilyInfo::from_nlmsg(b);
    let _ = FamilyInfo::from_attrs(b);
    let _ = PolicyDump::default().add_attrs(b);
    let _ = ExtAck::decode(b);
    for flags in [0u16, 0x100, 0x200, 0x300] {
        let _ = netlink::parse_error(b, flags);
        let _ = netlink::parse_done(b, flags);
    }
    for m in netlink::messages(b).flatten() {
        let _ = netlink::parse_genl(m.payload);
    }
    let _ = nla::path_at_offset(b, b.len() / 2);
}

/// A valid reply-shaped message with a few attributes.
fn sample(msg: &[u8], mode: u32) -> Vec<u8> {
    let mut b = Vec::new();
    let s = netlink::begin(&mut b, 0x20, 0, 1);
    netlink::put_genl(&mut b, Cmd::Echo.value(), 1);
    nla::put_cstr(&mut b, Attr::Msg.value(), msg).unwrap();
    nla::put_u32(&mut b, Attr::Mode.value(), mode).unwrap();
    nla::put_u32(&mut b, Attr::PrevMode.value(), mode).unwrap();
    nla::put(&mut b, Attr::StatsEchoBytes.value(), &[0; 8]).unwrap();
    netlink::finish(&mut b, s).unwrap();
    b
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..256)) {
        decode_all(&b);
    }

    #[test]
    fn mutated_messages_never_panic(
        msg in proptest::collection::vec(1u8..=255, 0..40),
        mode in 0u32..4,
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        cut in any::<usize>(),
    ) {
        let mut b = sample(&msg, mode);
        for (i, x) in flips {
            let n = b.len();
            b[i % n] ^= x;
        }
        let cut = cut % (b.len() + 1);
        decode_all(&b);
        decode_all(&b[..cut]);
    }

    #[test]
    fn echo_round_trip(msg in proptest::collection::vec(1u8..=255, 0..300), mode in 0u32..3) {
        // The request's MSG attribute, re-labelled as a reply, decodes to the message.
        let mut req = Vec::new();
        Request::Echo(&msg).encode(0x20, 7, &mut req).unwrap();
        let mut b = req.clone();
        nla::put_u32(&mut b, Attr::Mode.value(), mode).unwrap();
        let len = b.len() as u32;
        b[..4].copy_from_slice(&len.to_ne_bytes());
        let r = EchoReply::from_nlmsg(&b).unwrap();
        prop_assert_eq!(r.msg, msg);
        prop_assert_eq!(Some(r.mode), Mode::from_value(mode));
    }

    /// The `ECHO` encoder, written for speed, gives byte for byte what the
    /// generic one (headers, genl payload, attribute) gives, and appends to
    /// what `out` held (messages in a batch, each at an aligned offset); a
    /// message with a NUL appends nothing.
    #[test]
    fn echo_encoding_matches_the_generic_encoder(
        msg in proptest::collection::vec(1u8..=255, 0..300),
        family in any::<u16>(),
        seq in any::<u32>(),
        prefix in (0usize..3).prop_flat_map(|n| proptest::collection::vec(any::<u8>(), n * 4)),
        nul_at in any::<prop::sample::Index>(),
    ) {
        let mut generic = prefix.clone();
        let start = netlink::begin(&mut generic, family, genl_proto::consts::NLM_F_REQUEST, seq);
        Request::Echo(&msg).encode_genl(&mut generic).unwrap();
        netlink::finish(&mut generic, start).unwrap();
        let mut fast = prefix.clone();
        Request::Echo(&msg).encode(family, seq, &mut fast).unwrap();
        prop_assert_eq!(&fast, &generic);
        prop_assert_eq!(fast.len() - prefix.len(), genl_proto::message::echo_request_len(msg.len()));

        let mut bad = msg.clone();
        bad.push(b'x');
        let at = nul_at.index(bad.len());
        bad[at] = 0;
        let mut out = prefix.clone();
        let e = Request::Echo(&bad).encode(family, seq, &mut out).unwrap_err();
        prop_assert_eq!(e, genl_proto::EncodeError::MsgHasNul { offset: at });
        prop_assert_eq!(out, prefix);
    }
}
