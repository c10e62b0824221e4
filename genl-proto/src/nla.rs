//! Netlink attributes (`struct nlattr`): bounds-checked iteration, payload
//! readers and encoders.
//!
//! Nothing here trusts a length it has not checked against the buffer.

use crate::consts::{align, NLA_F_NESTED, NLA_HDRLEN, NLA_TYPE_MASK};
use crate::error::{DecodeError, EncodeError};

/// One attribute as found in a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawAttr<'a> {
    /// Attribute type with the `NLA_F_NESTED`/`NLA_F_NET_BYTEORDER` bits masked off.
    pub kind: u16,
    /// Whether `NLA_F_NESTED` was set.
    pub nested: bool,
    /// Offset of the attribute header within the container that was iterated.
    pub offset: usize,
    /// The payload (`nla_len - 4` bytes, no padding).
    pub payload: &'a [u8],
}

/// Iterator over the attributes in a buffer. After the first error it yields
/// nothing more.
#[derive(Debug, Clone)]
pub struct AttrIter<'a> {
    buf: &'a [u8],
    pos: usize,
    done: bool,
}

/// Iterates over the attributes packed in `buf`.
pub fn attrs(buf: &[u8]) -> AttrIter<'_> {
    AttrIter {
        buf,
        pos: 0,
        done: false,
    }
}

impl<'a> Iterator for AttrIter<'a> {
    type Item = Result<RawAttr<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        if rest.is_empty() {
            self.done = true;
            return None;
        }
        if rest.len() < NLA_HDRLEN {
            self.done = true;
            return Some(Err(DecodeError::TrailingBytes { count: rest.len() }));
        }
        let len = u16::from_ne_bytes([rest[0], rest[1]]);
        let ty = u16::from_ne_bytes([rest[2], rest[3]]);
        let ulen = usize::from(len);
        if ulen < NLA_HDRLEN || ulen > rest.len() {
            self.done = true;
            return Some(Err(DecodeError::BadAttrLen {
                offset: self.pos,
                len,
                avail: rest.len(),
            }));
        }
        let attr = RawAttr {
            kind: ty & NLA_TYPE_MASK,
            nested: ty & NLA_F_NESTED != 0,
            offset: self.pos,
            payload: &rest[NLA_HDRLEN..ulen],
        };
        // The last attribute may lack its padding; never step past the end.
        self.pos = (self.pos + align(ulen)).min(self.buf.len());
        Some(Ok(attr))
    }
}

/// Reads a `u8` payload (exactly 1 byte).
pub fn get_u8(name: &'static str, p: &[u8]) -> Result<u8, DecodeError> {
    match p {
        [b] => Ok(*b),
        _ => Err(size_err(name, p, "1")),
    }
}

/// Reads a `u16` payload (exactly 2 bytes, host byte order).
pub fn get_u16(name: &'static str, p: &[u8]) -> Result<u16, DecodeError> {
    <[u8; 2]>::try_from(p)
        .map(u16::from_ne_bytes)
        .map_err(|_| size_err(name, p, "2"))
}

/// Reads a `u32` payload (exactly 4 bytes, host byte order).
pub fn get_u32(name: &'static str, p: &[u8]) -> Result<u32, DecodeError> {
    <[u8; 4]>::try_from(p)
        .map(u32::from_ne_bytes)
        .map_err(|_| size_err(name, p, "4"))
}

/// Reads a `u64` payload (exactly 8 bytes, host byte order).
pub fn get_u64(name: &'static str, p: &[u8]) -> Result<u64, DecodeError> {
    <[u8; 8]>::try_from(p)
        .map(u64::from_ne_bytes)
        .map_err(|_| size_err(name, p, "8"))
}

/// Reads an `s64` payload (exactly 8 bytes, host byte order).
pub fn get_i64(name: &'static str, p: &[u8]) -> Result<i64, DecodeError> {
    <[u8; 8]>::try_from(p)
        .map(i64::from_ne_bytes)
        .map_err(|_| size_err(name, p, "8"))
}

/// Reads a NUL-terminated string payload and returns its bytes without
/// exactly that final NUL. An empty payload or one not ending in NUL is an error.
pub fn get_cstr_bytes<'a>(name: &'static str, p: &'a [u8]) -> Result<&'a [u8], DecodeError> {
    match p.split_last() {
        Some((0, body)) => Ok(body),
        _ => Err(DecodeError::NotNulTerminated(name)),
    }
}

/// Like [`get_cstr_bytes`], and the bytes must be UTF-8.
pub fn get_cstr<'a>(name: &'static str, p: &'a [u8]) -> Result<&'a str, DecodeError> {
    std::str::from_utf8(get_cstr_bytes(name, p)?).map_err(|_| DecodeError::NotUtf8(name))
}

fn size_err(name: &'static str, p: &[u8], expected: &'static str) -> DecodeError {
    DecodeError::AttrSize {
        attr: name,
        got: p.len(),
        expected,
    }
}

/// Appends one attribute (header, payload, zero padding) to `out`.
pub fn put(out: &mut Vec<u8>, kind: u16, payload: &[u8]) -> Result<(), EncodeError> {
    put_parts(out, kind, &[payload])
}

/// Appends one attribute whose payload is the concatenation of `parts`.
pub fn put_parts(out: &mut Vec<u8>, kind: u16, parts: &[&[u8]]) -> Result<(), EncodeError> {
    let plen: usize = parts.iter().map(|p| p.len()).sum();
    let len = u16::try_from(NLA_HDRLEN + plen).map_err(|_| EncodeError::TooLong {
        what: "attribute",
        len: NLA_HDRLEN + plen,
    })?;
    out.reserve(align(usize::from(len)));
    out.extend_from_slice(&len.to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    for p in parts {
        out.extend_from_slice(p);
    }
    pad(out);
    Ok(())
}

/// Appends a `u16` attribute.
pub fn put_u16(out: &mut Vec<u8>, kind: u16, v: u16) -> Result<(), EncodeError> {
    put(out, kind, &v.to_ne_bytes())
}

/// Appends a `u32` attribute.
pub fn put_u32(out: &mut Vec<u8>, kind: u16, v: u32) -> Result<(), EncodeError> {
    put(out, kind, &v.to_ne_bytes())
}

/// Appends a NUL-terminated string attribute (`s` must not contain NUL for
/// the receiver to see all of it).
pub fn put_cstr(out: &mut Vec<u8>, kind: u16, s: &[u8]) -> Result<(), EncodeError> {
    put_parts(out, kind, &[s, &[0]])
}

/// Pads `out` with zero bytes to the netlink alignment.
pub fn pad(out: &mut Vec<u8>) {
    let n = align(out.len()) - out.len();
    out.extend_from_slice(&[0u8; 3][..n]);
}

/// Finds the attribute whose header starts at `offset` within `buf`
/// (searching nested attributes too) and returns the path of attribute types
/// leading to it, outermost first. Used to name the attribute an extended
/// ACK's `NLMSGERR_ATTR_OFFS` points at. Returns an empty path if no
/// attribute starts there; offsets inside an attribute's payload return the
/// path to the innermost enclosing attribute.
pub fn path_at_offset(buf: &[u8], offset: usize) -> Vec<u16> {
    let mut path = Vec::new();
    let mut base = 0usize;
    let mut cur = buf;
    'outer: loop {
        for a in attrs(cur).flatten() {
            let start = base + a.offset;
            let end = start + NLA_HDRLEN + a.payload.len();
            if offset == start {
                path.push(a.kind);
                return path;
            }
            if offset > start && offset < end {
                path.push(a.kind);
                base = start + NLA_HDRLEN;
                cur = a.payload;
                continue 'outer;
            }
        }
        return path;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_pads_and_iter_reads_back() {
        let mut b = Vec::new();
        put_cstr(&mut b, 2, b"hi").unwrap();
        put_u32(&mut b, 3, 7).unwrap();
        assert_eq!(b.len(), 8 + 8);
        let v: Vec<_> = attrs(&b).collect::<Result<_, _>>().unwrap();
        assert_eq!(v[0].kind, 2);
        assert_eq!(v[0].payload, b"hi\0");
        assert_eq!(get_u32("x", v[1].payload).unwrap(), 7);
    }

    #[test]
    fn lying_lengths_are_errors() {
        // nla_len 200 in an 8-byte buffer.
        let b = [200u8, 0, 1, 0, 0, 0, 0, 0];
        let r: Vec<_> = attrs(&b).collect();
        assert!(matches!(r[..], [Err(DecodeError::BadAttrLen { .. })]));
        // nla_len 2 (< header).
        let b = [2u8, 0, 1, 0];
        assert!(matches!(
            attrs(&b).next(),
            Some(Err(DecodeError::BadAttrLen { .. }))
        ));
        // stray bytes.
        let b = [4u8, 0, 1, 0, 9, 9];
        let r: Vec<_> = attrs(&b).collect();
        assert!(r[0].is_ok());
        assert_eq!(r[1], Err(DecodeError::TrailingBytes { count: 2 }));
    }

    #[test]
    fn unpadded_last_attribute_is_accepted() {
        let b = [5u8, 0, 1, 0, 42];
        let r: Vec<_> = attrs(&b).collect::<Result<_, _>>().unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(get_u8("x", r[0].payload).unwrap(), 42);
    }

    #[test]
    fn cstr_rules() {
        assert_eq!(get_cstr_bytes("s", b"ab\0").unwrap(), b"ab");
        assert_eq!(get_cstr_bytes("s", b"\0").unwrap(), b"");
        assert_eq!(get_cstr_bytes("s", b"a\0\0").unwrap(), b"a\0");
        assert!(get_cstr_bytes("s", b"").is_err());
        assert!(get_cstr_bytes("s", b"ab").is_err());
        assert!(get_cstr("s", b"\xff\0").is_err());
    }

    #[test]
    fn path_lookup() {
        let mut inner = Vec::new();
        put_u32(&mut inner, 5, 1).unwrap();
        let mut b = Vec::new();
        put_u32(&mut b, 1, 1).unwrap();
        put(&mut b, 2 | NLA_F_NESTED, &inner).unwrap();
        assert_eq!(path_at_offset(&b, 0), vec![1]);
        assert_eq!(path_at_offset(&b, 8), vec![2]);
        assert_eq!(path_at_offset(&b, 12), vec![2, 5]);
        assert_eq!(path_at_offset(&b, 100), Vec::<u16>::new());
    }
}
