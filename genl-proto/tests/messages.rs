//! Byte-level tests of requests and replies: encode/decode round trips,
//! hand-written expected bytes, malformed and truncated input.

use genl_proto::consts::{GENL_HDRLEN, MSG_MAX, NLA_F_NESTED, NLMSG_ERROR, NLMSG_HDRLEN};
use genl_proto::message::{attr_at_offset, echo_reply_len, echo_request_len, Reply};
use genl_proto::{
    netlink, nla, Attr, CaseEvent, CaseReply, Cmd, DecodeError, EchoReply, EncodeError, Mode,
    ModeReply, Request, Stats,
};

const FAMILY: u16 = 0x1a;

fn reply(cmd: Cmd, attrs: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    let s = netlink::begin(&mut b, FAMILY, 0, 9);
    netlink::put_genl(&mut b, cmd.value(), 1);
    b.extend_from_slice(attrs);
    netlink::finish(&mut b, s).unwrap();
    b
}

fn a_u32(b: &mut Vec<u8>, a: Attr, v: u32) {
    nla::put_u32(b, a.value(), v).unwrap();
}

fn a_u64(b: &mut Vec<u8>, a: Attr, v: u64) {
    // As the kernel does with nla_put_u64_64bit: a PAD attribute may precede.
    nla::put(b, Attr::Pad.value(), &[]).unwrap();
    nla::put(b, a.value(), &v.to_ne_bytes()).unwrap();
}

fn stats_attrs() -> Vec<u8> {
    let mut b = Vec::new();
    a_u32(&mut b, Attr::Mode, 1);
    a_u64(&mut b, Attr::StatsEchoRequests, 10);
    a_u64(&mut b, Attr::StatsEchoBytes, 1 << 40);
    a_u64(&mut b, Attr::StatsCharsConverted, 3);
    a_u64(&mut b, Attr::StatsModeChanges, 2);
    a_u64(&mut b, Attr::StatsRejected, u64::MAX);
    b
}

#[cfg(target_endian = "little")]
#[test]
fn echo_request_bytes_are_exact() {
    let mut out = Vec::new();
    Request::Echo(b"hi").encode(FAMILY, 5, &mut out).unwrap();
    #[rustfmt::skip]
    let want: &[u8] = &[
        28, 0, 0, 0,  0x1a, 0,  1, 0,  5, 0, 0, 0,  0, 0, 0, 0, // nlmsghdr
        1, 1, 0, 0,                                             // genlmsghdr: ECHO, v1
        7, 0, 2, 0,  b'h', b'i', 0, 0,                          // MSG "hi\0" + pad
    ];
    assert_eq!(out, want);

    out.clear();
    Request::SetCase(Mode::Upper)
        .encode(FAMILY, 6, &mut out)
        .unwrap();
    #[rustfmt::skip]
    let want: &[u8] = &[
        28, 0, 0, 0,  0x1a, 0,  1, 0,  6, 0, 0, 0,  0, 0, 0, 0,
        2, 1, 0, 0,
        8, 0, 3, 0,  1, 0, 0, 0,
    ];
    assert_eq!(out, want);

    out.clear();
    Request::Stats.encode(FAMILY, 7, &mut out).unwrap();
    #[rustfmt::skip]
    let want: &[u8] = &[
        20, 0, 0, 0,  0x1a, 0,  1, 0,  7, 0, 0, 0,  0, 0, 0, 0,
        4, 1, 0, 0,
    ];
    assert_eq!(out, want);
}

#[test]
fn encoded_requests_parse_back() {
    let long = vec![b'x'; MSG_MAX];
    let reqs = [
        Request::Echo(b""),
        Request::Echo(b"a"),
        Request::Echo(b"hello world"),
        Request::Echo(&long),
        Request::SetCase(Mode::None),
        Request::SetCase(Mode::Lower),
        Request::GetCase,
        Request::Stats,
    ];
    for r in reqs {
        let mut fast = Vec::new();
        r.encode(FAMILY, 42, &mut fast).unwrap();
        let m = genl_proto::netlink::parse_message(&fast).unwrap();
        assert_eq!(
            (m.ty, m.seq, m.bytes.len()),
            (FAMILY, 42, fast.len()),
            "{:?}",
            r
        );
        let g = genl_proto::netlink::parse_genl(m.payload).unwrap();
        assert_eq!(g.cmd, r.cmd().value());
        if let Request::Echo(msg) = r {
            assert_eq!(fast.len(), echo_request_len(msg.len()));
            assert_eq!(echo_reply_len(msg.len()), fast.len() + 8);
        }
    }
}

#[test]
fn max_message_fits_and_longer_is_refused() {
    let long = vec![b'x'; MSG_MAX];
    let mut out = Vec::new();
    Request::Echo(&long).encode(FAMILY, 1, &mut out).unwrap();
    // nla_len is 65535: the largest a 16-bit length can hold.
    let nla_len = u16::from_ne_bytes([out[20], out[21]]);
    assert_eq!(nla_len, u16::MAX);
    let too_long = vec![b'x'; MSG_MAX + 1];
    let mut out2 = Vec::new();
    assert_eq!(
        Request::Echo(&too_long).encode(FAMILY, 1, &mut out2),
        Err(EncodeError::MsgTooLong {
            len: MSG_MAX + 1,
            max: MSG_MAX
        })
    );
    assert!(out2.is_empty(), "nothing written on error");
    assert_eq!(
        Request::Echo(b"a\0b").encode(FAMILY, 1, &mut out2),
        Err(EncodeError::MsgHasNul { offset: 1 })
    );
}

#[test]
fn echo_reply_round_trip() {
    for msg in [&b""[..], b"HELLO", &vec![b'Z'; MSG_MAX]] {
        let mut a = Vec::new();
        nla::put_cstr(&mut a, Attr::Msg.value(), msg).unwrap();
        a_u32(&mut a, Attr::Mode, 1);
        let b = reply(Cmd::Echo, &a);
        let r = EchoReply::from_nlmsg(&b).unwrap();
        assert_eq!(r.msg, msg);
        assert_eq!(r.mode, Mode::Upper);
        assert_eq!(EchoReply::from_genl(&b[NLMSG_HDRLEN..]).unwrap(), r);
        assert_eq!(
            EchoReply::from_attrs(&b[NLMSG_HDRLEN + GENL_HDRLEN..]).unwrap(),
            r
        );
    }
}

#[test]
fn other_replies_round_trip() {
    let mut a = Vec::new();
    a_u32(&mut a, Attr::Mode, 2);
    a_u32(&mut a, Attr::PrevMode, 0);
    assert_eq!(
        CaseReply::from_nlmsg(&reply(Cmd::SetCase, &a)).unwrap(),
        CaseReply {
            mode: Mode::Lower,
            previous: Mode::None
        }
    );
    assert_eq!(
        CaseEvent::from_nlmsg(&reply(Cmd::CaseNtf, &a)).unwrap(),
        CaseEvent {
            mode: Mode::Lower,
            previous: Mode::None
        }
    );
    // A CASE_NTF decoder insists on the command.
    assert!(matches!(
        CaseEvent::from_nlmsg(&reply(Cmd::SetCase, &a)),
        Err(DecodeError::UnexpectedCmd {
            got: 2,
            expected: 5
        })
    ));
    let mut m = Vec::new();
    a_u32(&mut m, Attr::Mode, 0);
    assert_eq!(
        ModeReply::from_nlmsg(&reply(Cmd::GetCase, &m))
            .unwrap()
            .mode,
        Mode::None
    );
    let s = Stats::from_nlmsg(&reply(Cmd::Stats, &stats_attrs())).unwrap();
    assert_eq!(
        s,
        Stats {
            mode: Mode::Upper,
            echo_requests: 10,
            echo_bytes: 1 << 40,
            chars_converted: 3,
            mode_changes: 2,
            rejected: u64::MAX
        }
    );
}

#[test]
fn unknown_attributes_and_pad_are_skipped() {
    let mut a = Vec::new();
    nla::put(&mut a, 200, b"future").unwrap();
    nla::put(&mut a, Attr::Pad.value(), &[]).unwrap();
    nla::put(&mut a, 300 | NLA_F_NESTED, &[4, 0, 1, 0]).unwrap();
    a_u32(&mut a, Attr::Mode, 1);
    nla::put(&mut a, Attr::Unspec.value(), &[1, 2, 3]).unwrap();
    assert_eq!(
        ModeReply::from_nlmsg(&reply(Cmd::GetCase, &a))
            .unwrap()
            .mode,
        Mode::Upper
    );
}

#[test]
fn missing_attributes_are_named() {
    let mut a = Vec::new();
    a_u32(&mut a, Attr::Mode, 1);
    assert_eq!(
        EchoReply::from_nlmsg(&reply(Cmd::Echo, &a)),
        Err(DecodeError::MissingAttr("GENL_ECHO_A_MSG"))
    );
    assert_eq!(
        CaseReply::from_nlmsg(&reply(Cmd::SetCase, &a)),
        Err(DecodeError::MissingAttr("GENL_ECHO_A_PREV_MODE"))
    );
    assert_eq!(
        ModeReply::from_nlmsg(&reply(Cmd::GetCase, &[])),
        Err(DecodeError::MissingAttr("GENL_ECHO_A_MODE"))
    );
    let s = stats_attrs();
    // Drop the last (REJECTED) attribute: 12 bytes.
    assert_eq!(
        Stats::from_nlmsg(&reply(Cmd::Stats, &s[..s.len() - 12])),
        Err(DecodeError::MissingAttr("GENL_ECHO_A_STATS_REJECTED"))
    );
}

#[test]
fn wrong_sizes_and_values_are_errors() {
    let mut a = Vec::new();
    nla::put(&mut a, Attr::Mode.value(), &[1, 0]).unwrap();
    assert!(matches!(
        ModeReply::from_nlmsg(&reply(Cmd::GetCase, &a)),
        Err(DecodeError::AttrSize { got: 2, .. })
    ));
    let mut a = Vec::new();
    a_u32(&mut a, Attr::Mode, 7);
    // A mode this crate does not know (a newer module's) decodes as a value.
    assert_eq!(
        ModeReply::from_nlmsg(&reply(Cmd::GetCase, &a)),
        Ok(ModeReply {
            mode: Mode::Unknown(7)
        })
    );
    let mut a = Vec::new();
    a_u32(&mut a, Attr::Mode, 0);
    nla::put(&mut a, Attr::StatsEchoBytes.value(), &[0; 4]).unwrap();
    assert!(matches!(
        Stats::from_nlmsg(&reply(Cmd::Stats, &a)),
        Err(DecodeError::AttrSize { got: 4, .. })
    ));
}

#[test]
fn zero_length_and_unterminated_msg_are_errors() {
    let mut a = Vec::new();
    nla::put(&mut a, Attr::Msg.value(), &[]).unwrap();
    a_u32(&mut a, Attr::Mode, 0);
    assert_eq!(
        EchoReply::from_nlmsg(&reply(Cmd::Echo, &a)),
        Err(DecodeError::NotNulTerminated("GENL_ECHO_A_MSG"))
    );
    let mut a = Vec::new();
    nla::put(&mut a, Attr::Msg.value(), b"abc").unwrap();
    a_u32(&mut a, Attr::Mode, 0);
    assert_eq!(
        EchoReply::from_nlmsg(&reply(Cmd::Echo, &a)),
        Err(DecodeError::NotNulTerminated("GENL_ECHO_A_MSG"))
    );
    // Exactly one NUL is stripped; the string is otherwise taken as is.
    let mut a = Vec::new();
    nla::put(&mut a, Attr::Msg.value(), b"\0").unwrap();
    a_u32(&mut a, Attr::Mode, 0);
    assert_eq!(
        EchoReply::from_nlmsg(&reply(Cmd::Echo, &a)).unwrap().msg,
        b""
    );
}

#[test]
fn lying_lengths_are_errors() {
    let mut a = Vec::new();
    nla::put_cstr(&mut a, Attr::Msg.value(), b"hello").unwrap();
    a_u32(&mut a, Attr::Mode, 1);
    let good = reply(Cmd::Echo, &a);

    // nla_len larger than what is left.
    let mut b = good.clone();
    b[20] = 0xf0;
    assert!(matches!(
        EchoReply::from_nlmsg(&b),
        Err(DecodeError::BadAttrLen { .. })
    ));
    // nla_len smaller than the attribute header.
    let mut b = good.clone();
    b[20] = 3;
    b[21] = 0;
    assert!(matches!(
        EchoReply::from_nlmsg(&b),
        Err(DecodeError::BadAttrLen { len: 3, .. })
    ));
    // nlmsg_len larger than the buffer.
    let mut b = good.clone();
    b[0] = b[0].wrapping_add(4);
    assert!(matches!(
        EchoReply::from_nlmsg(&b),
        Err(DecodeError::BadMsgLen { .. })
    ));
    // nlmsg_len smaller than the header.
    let mut b = good.clone();
    b[..4].copy_from_slice(&8u32.to_ne_bytes());
    assert!(matches!(
        EchoReply::from_nlmsg(&b),
        Err(DecodeError::BadMsgLen { len: 8, .. })
    ));
    // nlmsg_len cutting the genl header.
    let mut b = good;
    b[..4].copy_from_slice(&18u32.to_ne_bytes());
    assert!(matches!(
        EchoReply::from_nlmsg(&b),
        Err(DecodeError::Truncated { .. })
    ));
}

/// Every prefix of a valid reply (and of the same reply with its length
/// fields fixed up to the prefix) decodes to `Ok` or `Err`, never a panic.
#[test]
fn every_prefix_decodes_without_panic() {
    let mut e = Vec::new();
    nla::put_cstr(&mut e, Attr::Msg.value(), b"hello world").unwrap();
    a_u32(&mut e, Attr::Mode, 2);
    let mut c = Vec::new();
    a_u32(&mut c, Attr::Mode, 2);
    a_u32(&mut c, Attr::PrevMode, 1);
    let cases = [
        reply(Cmd::Echo, &e),
        reply(Cmd::SetCase, &c),
        reply(Cmd::CaseNtf, &c),
        reply(Cmd::GetCase, &c),
        reply(Cmd::Stats, &stats_attrs()),
    ];
    for full in &cases {
        for n in 0..=full.len() {
            let p = &full[..n];
            let _ = EchoReply::from_nlmsg(p);
            let _ = CaseReply::from_nlmsg(p);
            let _ = CaseEvent::from_nlmsg(p);
            let _ = ModeReply::from_nlmsg(p);
            let _ = Stats::from_nlmsg(p);
            let _ = EchoReply::from_genl(p);
            let _ = Stats::from_attrs(p);
            let _ = genl_proto::ctrl::FamilyInfo::from_nlmsg(p);
            let _ = netlink::messages(p).count();
            // Same prefix with nlmsg_len claiming exactly n bytes.
            if n >= 4 {
                let mut q = p.to_vec();
                q[..4].copy_from_slice(&(n as u32).to_ne_bytes());
                let _ = EchoReply::from_nlmsg(&q);
                let _ = Stats::from_nlmsg(&q);
                let _ = CaseReply::from_nlmsg(&q);
            }
        }
        // Full message decodes with its own decoder.
        assert!(netlink::messages(full).all(|m| m.is_ok()));
    }
    assert!(EchoReply::from_nlmsg(&cases[0]).is_ok());
    assert!(Stats::from_nlmsg(&cases[4]).is_ok());
}

#[test]
fn error_message_is_reported_as_error_reply() {
    let mut b = Vec::new();
    let s = netlink::begin(&mut b, NLMSG_ERROR, genl_proto::consts::NLM_F_CAPPED, 3);
    b.extend_from_slice(&(-1i32).to_ne_bytes());
    b.extend_from_slice(&[0; 16]);
    netlink::finish(&mut b, s).unwrap();
    assert_eq!(EchoReply::from_nlmsg(&b), Err(DecodeError::ErrorReply(1)));
}

#[test]
fn extack_offset_names_the_attribute() {
    let mut out = Vec::new();
    Request::SetCase(Mode::Upper)
        .encode(FAMILY, 1, &mut out)
        .unwrap();
    assert_eq!(attr_at_offset(&out, 20).as_deref(), Some("mode"));
    assert_eq!(attr_at_offset(&out, 24).as_deref(), Some("mode"));
    assert_eq!(attr_at_offset(&out, 4), None);
    assert_eq!(attr_at_offset(&out, 400), None);
    out.clear();
    Request::Echo(b"abc").encode(FAMILY, 1, &mut out).unwrap();
    assert_eq!(attr_at_offset(&out, 20).as_deref(), Some("msg"));
}

#[cfg(feature = "serde")]
#[test]
fn json_shapes_are_locked() {
    let j = |v: &dyn erased::Ser| v.json();
    assert_eq!(
        j(&EchoReply {
            msg: b"HELLO".to_vec(),
            mode: Mode::Upper
        }),
        r#"{"msg":"HELLO","mode":"upper"}"#
    );
    assert_eq!(
        j(&EchoReply {
            msg: b"a\xffb".to_vec(),
            mode: Mode::None
        }),
        "{\"msg\":\"a\u{fffd}b\",\"mode\":\"none\",\"msg_hex\":\"61ff62\"}"
    );
    assert_eq!(
        j(&CaseReply {
            mode: Mode::Upper,
            previous: Mode::None
        }),
        r#"{"mode":"upper","previous":"none"}"#
    );
    assert_eq!(j(&ModeReply { mode: Mode::Lower }), r#"{"mode":"lower"}"#);
    assert_eq!(
        j(&Stats {
            mode: Mode::Upper,
            echo_requests: 1,
            echo_bytes: 2,
            chars_converted: 3,
            mode_changes: 4,
            rejected: u64::MAX
        }),
        r#"{"mode":"upper","echo_requests":1,"echo_bytes":2,"chars_converted":3,"mode_changes":4,"rejected":18446744073709551615}"#
    );
    assert_eq!(
        j(&CaseEvent {
            mode: Mode::Upper,
            previous: Mode::None
        }),
        r#"{"event":"mode","mode":"upper","previous":"none"}"#
    );
}

#[cfg(feature = "serde")]
mod erased {
    pub trait Ser {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Ser for T {
        fn json(&self) -> String {
            serde_json::to_string(self).unwrap()
        }
    }
}

/// The worked example of docs/protocol.md: ECHO "hi" to family 0x20, seq 1,
/// and its reply in mode upper.
#[cfg(target_endian = "little")]
#[test]
fn protocol_doc_worked_example() {
    let mut out = Vec::new();
    Request::Echo(b"hi").encode(0x20, 1, &mut out).unwrap();
    #[rustfmt::skip]
    let want: &[u8] = &[
        0x1c, 0, 0, 0, 0x20, 0, 0x01, 0, 0x01, 0, 0, 0, 0, 0, 0, 0,
        0x01, 0x01, 0, 0,
        0x07, 0, 0x02, 0, 0x68, 0x69, 0, 0,
    ];
    assert_eq!(out, want);
    #[rustfmt::skip]
    let reply: &[u8] = &[
        0x24, 0, 0, 0, 0x20, 0, 0, 0, 0x01, 0, 0, 0, 0x39, 0x30, 0, 0,
        0x01, 0x01, 0, 0,
        0x07, 0, 0x02, 0, 0x48, 0x49, 0, 0,
        0x08, 0, 0x03, 0, 0x01, 0, 0, 0,
    ];
    assert_eq!(
        EchoReply::from_nlmsg(reply).unwrap(),
        EchoReply {
            msg: b"HI".to_vec(),
            mode: Mode::Upper
        }
    );
}
