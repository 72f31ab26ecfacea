//! Lets gRPC clients that name a Unix socket by its path talk to us.
//!
//! HTTP/2 wants an `:authority` of the form `host[:port]`. On a Unix socket
//! there is no host, and clients disagree on what to send: grpc-go, recent
//! grpcurl and Debian's grpcio 1.51 send `localhost`; grpc-core after 1.57
//! (Python's grpcio from PyPI) sends the socket path percent-encoded
//! (`%2Frun%2Fvtr.sock`); grpc-java, older grpcurl and others send the bare
//! path (`/run/vtr.sock`). The h2 crate rejects the last two while decoding
//! the request's headers, before any layer of ours sees the request, with a
//! stream reset (PROTOCOL_ERROR), and has no option to relax that (its
//! maintainers hold that such a value is not an authority, rightly).
//!
//! So on the Unix socket, and only there, the bytes the client sends pass
//! through `Mender` first: it decodes each header block (HPACK, with the
//! client's dynamic table), replaces an `:authority` that is not a valid
//! authority with `localhost`, and re-encodes the block as literals that
//! never touch h2's dynamic table. Every other frame passes unchanged. The
//! socket is owner-only, so the authority there names nothing to check; the
//! TCP ports keep h2's strict parsing and their `Host` allow-list.
//!
//! Imports no gRPC services: it wraps a byte stream.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::http::uri::Authority;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// What a client sends first on an HTTP/2 connection.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const FRAME_HEAD: usize = 9;
const HEADERS: u8 = 0x1;
const CONTINUATION: u8 = 0x9;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY: u8 = 0x20;
/// The frame size every HTTP/2 peer accepts (SETTINGS_MAX_FRAME_SIZE's
/// initial value, which our servers keep): re-encoded blocks are cut to it.
const MAX_FRAME: usize = 16 * 1024;
/// A header block larger than this, encoded or decoded (HPACK's size: name,
/// value and 32 per field), closes the connection: the server refuses far
/// smaller ones itself, so this only bounds what is held here.
const MAX_BLOCK: usize = 64 * 1024;
/// The dynamic table size a client may use: SETTINGS_HEADER_TABLE_SIZE's
/// initial value, which our servers do not change.
const TABLE_SIZE: usize = 4096;
/// What a path-like `:authority` becomes.
const LOCAL_AUTHORITY: &[u8] = b"localhost";

/// The client-to-server half of an HTTP/2 connection, header blocks
/// rewritten as the module says; fed bytes as they arrive, split anywhere.
pub struct Mender {
    state: State,
    /// Received bytes not yet passed on.
    pending: Vec<u8>,
    decoder: loona_hpack::Decoder<'static>,
    /// A header block waiting for its CONTINUATION frames.
    block: Option<Block>,
}

enum State {
    Preface,
    /// At a frame boundary, or `skip` bytes into a frame passed unchanged.
    Frames {
        skip: usize,
    },
    /// Not HTTP/2 with prior knowledge: everything passes unchanged.
    Raw,
}

struct Block {
    stream: u32,
    end_stream: bool,
    fragment: Vec<u8>,
}

impl Default for Mender {
    fn default() -> Self {
        let mut decoder = loona_hpack::Decoder::new();
        decoder.set_max_allowed_table_size(TABLE_SIZE);
        Mender {
            state: State::Preface,
            pending: Vec::new(),
            decoder,
            block: None,
        }
    }
}

impl Mender {
    /// Takes `input` and appends to `out` whatever can be passed on so
    /// far. An error means the client broke HTTP/2 framing or HPACK: the
    /// connection should close, as the server would close it.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
        self.pending.extend_from_slice(input);
        let mut at = 0;
        let result = loop {
            match self.step(at, out) {
                Ok(Some(next)) => at = next,
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        self.pending.drain(..at);
        result
    }

    /// One step from `pending[at..]`: the new position, or `None` when
    /// more input is needed.
    fn step(&mut self, at: usize, out: &mut Vec<u8>) -> io::Result<Option<usize>> {
        let rest = &self.pending[at..];
        if rest.is_empty() {
            return Ok(None);
        }
        match self.state {
            State::Raw => {
                out.extend_from_slice(rest);
                Ok(Some(self.pending.len()))
            }
            State::Preface => {
                let n = rest.len().min(PREFACE.len());
                if rest[..n] != PREFACE[..n] {
                    self.state = State::Raw;
                    return Ok(Some(at));
                }
                if n < PREFACE.len() {
                    return Ok(None);
                }
                out.extend_from_slice(PREFACE);
                self.state = State::Frames { skip: 0 };
                Ok(Some(at + n))
            }
            State::Frames { skip } if skip > 0 => {
                let n = rest.len().min(skip);
                out.extend_from_slice(&rest[..n]);
                self.state = State::Frames { skip: skip - n };
                Ok(Some(at + n))
            }
            State::Frames { .. } => {
                let Some(head) = rest.get(..FRAME_HEAD) else {
                    return Ok(None);
                };
                let len =
                    usize::from(head[0]) << 16 | usize::from(head[1]) << 8 | usize::from(head[2]);
                let (kind, flags) = (head[3], head[4]);
                let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
                if kind != HEADERS && kind != CONTINUATION {
                    if self.block.is_some() {
                        return Err(invalid("a frame inside a header block"));
                    }
                    out.extend_from_slice(head);
                    self.state = State::Frames { skip: len };
                    return Ok(Some(at + FRAME_HEAD));
                }
                if len > MAX_BLOCK {
                    return Err(invalid("header frame too large"));
                }
                let Some(payload) = rest.get(FRAME_HEAD..FRAME_HEAD + len) else {
                    return Ok(None);
                };
                let payload = payload.to_vec();
                self.header_frame(kind, flags, stream, &payload, out)?;
                Ok(Some(at + FRAME_HEAD + len))
            }
        }
    }

    fn header_frame(
        &mut self,
        kind: u8,
        flags: u8,
        stream: u32,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> io::Result<()> {
        let mut block = match (kind, self.block.take()) {
            (HEADERS, None) => Block {
                stream,
                end_stream: flags & END_STREAM != 0,
                fragment: fragment(flags, payload)?.to_vec(),
            },
            (CONTINUATION, Some(mut block)) if block.stream == stream => {
                if block.fragment.len() + payload.len() > MAX_BLOCK {
                    return Err(invalid("header block too large"));
                }
                block.fragment.extend_from_slice(payload);
                block
            }
            _ => return Err(invalid("a header block out of order")),
        };
        if flags & END_HEADERS == 0 {
            self.block = Some(block);
            return Ok(());
        }
        let fields = self.decode(&block.fragment)?;
        block.fragment.clear();
        for (name, value) in &fields {
            let value = if name == b":authority" && Authority::try_from(value.as_slice()).is_err() {
                tracing::debug!(
                    authority = %String::from_utf8_lossy(value),
                    "a Unix socket client's :authority is a path: taken as localhost"
                );
                LOCAL_AUTHORITY
            } else {
                value.as_slice()
            };
            literal(name, value, &mut block.fragment);
        }
        write_block(&block, out);
        Ok(())
    }

    /// The fields of a whole header block, bounded by `MAX_BLOCK`.
    fn decode(&mut self, fragment: &[u8]) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut fields = Vec::new();
        let mut size = 0usize;
        self.decoder
            .decode_with_cb(fragment, |name, value| {
                size += name.len() + value.len() + 32;
                if size <= MAX_BLOCK {
                    fields.push((name.into_owned(), value.into_owned()));
                }
            })
            .map_err(|e| invalid(&format!("header block: {e:?}")))?;
        if size > MAX_BLOCK {
            return Err(invalid("header list too large"));
        }
        Ok(fields)
    }
}

/// A HEADERS frame's header block fragment: without padding and priority.
fn fragment(flags: u8, payload: &[u8]) -> io::Result<&[u8]> {
    let mut payload = payload;
    let mut pad = 0;
    if flags & PADDED != 0 {
        let (&n, rest) = payload.split_first().ok_or_else(|| invalid("padding"))?;
        pad = usize::from(n);
        payload = rest;
    }
    if flags & PRIORITY != 0 {
        payload = payload.get(5..).ok_or_else(|| invalid("priority"))?;
    }
    payload
        .len()
        .checked_sub(pad)
        .map(|end| &payload[..end])
        .ok_or_else(|| invalid("padding"))
}

/// A literal field without indexing, new name, no Huffman coding: it
/// leaves the server's dynamic table empty, whatever the client's holds.
fn literal(name: &[u8], value: &[u8], out: &mut Vec<u8>) {
    out.push(0);
    for text in [name, value] {
        integer(text.len(), out);
        out.extend_from_slice(text);
    }
}

/// HPACK's integer with a 7-bit prefix (RFC 7541 §5.1), Huffman bit clear.
fn integer(mut n: usize, out: &mut Vec<u8>) {
    if n < 0x7f {
        out.push(n as u8);
        return;
    }
    out.push(0x7f);
    n -= 0x7f;
    while n >= 0x80 {
        out.push((n & 0x7f) as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// A HEADERS frame and as many CONTINUATION frames as the block needs.
fn write_block(block: &Block, out: &mut Vec<u8>) {
    let chunks: Vec<&[u8]> = if block.fragment.is_empty() {
        vec![&[]]
    } else {
        block.fragment.chunks(MAX_FRAME).collect()
    };
    let last = chunks.len() - 1;
    for (i, chunk) in chunks.into_iter().enumerate() {
        let (kind, mut flags) = if i == 0 {
            (HEADERS, if block.end_stream { END_STREAM } else { 0 })
        } else {
            (CONTINUATION, 0)
        };
        if i == last {
            flags |= END_HEADERS;
        }
        let len = u32::try_from(chunk.len()).expect("chunks are at most MAX_FRAME");
        out.extend_from_slice(&len.to_be_bytes()[1..]);
        out.extend_from_slice(&[kind, flags]);
        out.extend_from_slice(&block.stream.to_be_bytes());
        out.extend_from_slice(chunk);
    }
}

fn invalid(why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("HTTP/2 from a Unix socket client: {why}"),
    )
}

/// A connection whose incoming bytes pass through a `Mender`.
pub struct Mended<IO> {
    io: IO,
    mender: Mender,
    /// Mended bytes not yet read.
    out: Vec<u8>,
    read: usize,
    eof: bool,
}

impl<IO> Mended<IO> {
    pub fn new(io: IO) -> Self {
        Mended {
            io,
            mender: Mender::default(),
            out: Vec::new(),
            read: 0,
            eof: false,
        }
    }

    pub fn get_ref(&self) -> &IO {
        &self.io
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Mended<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if this.read < this.out.len() {
                let n = buf.remaining().min(this.out.len() - this.read);
                buf.put_slice(&this.out[this.read..this.read + n]);
                this.read += n;
                if this.read == this.out.len() {
                    this.out.clear();
                    this.read = 0;
                }
                return Poll::Ready(Ok(()));
            }
            if this.eof {
                return Poll::Ready(Ok(()));
            }
            let mut space = [0u8; 8192];
            let mut input = ReadBuf::new(&mut space);
            ready!(Pin::new(&mut this.io).poll_read(cx, &mut input))?;
            if input.filled().is_empty() {
                // A frame cut short stays unsent: the server sees the
                // connection end either way.
                this.eof = true;
                continue;
            }
            this.mender.feed(input.filled(), &mut this.out)?;
        }
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Mended<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let mut f = u32::try_from(payload.len()).expect("small").to_be_bytes()[1..].to_vec();
        f.extend_from_slice(&[kind, flags]);
        f.extend_from_slice(&stream.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    type Fields = Vec<(String, String)>;

    /// The header blocks of `bytes` (after the preface), decoded as the
    /// server would, with the stream and flags of each HEADERS frame.
    fn blocks(bytes: &[u8]) -> Vec<(u32, u8, Fields)> {
        assert_eq!(&bytes[..PREFACE.len()], PREFACE);
        let mut decoder = loona_hpack::Decoder::new();
        let mut at = PREFACE.len();
        let mut found = Vec::new();
        let mut block = Vec::new();
        let mut first = (0, 0);
        while at < bytes.len() {
            let len = usize::from(bytes[at]) << 16
                | usize::from(bytes[at + 1]) << 8
                | usize::from(bytes[at + 2]);
            let (kind, flags) = (bytes[at + 3], bytes[at + 4]);
            let stream = u32::from_be_bytes(bytes[at + 5..at + 9].try_into().expect("4 bytes"));
            let payload = &bytes[at + 9..at + 9 + len];
            if kind == HEADERS {
                first = (stream, flags);
            }
            if kind == HEADERS || kind == CONTINUATION {
                block.extend_from_slice(payload);
                if flags & END_HEADERS != 0 {
                    let fields = decoder
                        .decode(&block)
                        .expect("decodes")
                        .into_iter()
                        .map(|(n, v)| {
                            (
                                String::from_utf8(n).expect("utf-8"),
                                String::from_utf8(v).expect("utf-8"),
                            )
                        })
                        .collect();
                    found.push((first.0, first.1, fields));
                    block.clear();
                }
            }
            at += 9 + len;
        }
        found
    }

    fn request(authority: &str) -> Vec<(&'static [u8], Vec<u8>)> {
        vec![
            (b":method", b"POST".to_vec()),
            (b":scheme", b"http".to_vec()),
            (b":path", b"/grpc.health.v1.Health/Check".to_vec()),
            (b":authority", authority.as_bytes().to_vec()),
            (b"content-type", b"application/grpc".to_vec()),
            (b"te", b"trailers".to_vec()),
        ]
    }

    /// What a client sends: the preface, SETTINGS, then requests whose
    /// header blocks use the dynamic table (Huffman-coded, indexed), one
    /// padded and with priority, one cut into CONTINUATION frames, and DATA.
    fn client_bytes(authority: &str) -> Vec<u8> {
        let mut encoder = loona_hpack::Encoder::new();
        let mut bytes = PREFACE.to_vec();
        bytes.extend(frame(0x4, 0, 0, &[0, 4, 0, 0, 0xff, 0xff]));
        let fields = request(authority);
        let encode = |encoder: &mut loona_hpack::Encoder<'_>| {
            encoder.encode(fields.iter().map(|(n, v)| (&n[..], &v[..])))
        };
        let first = encode(&mut encoder);
        bytes.extend(frame(HEADERS, END_HEADERS, 1, &first));
        bytes.extend(frame(0x0, END_STREAM, 1, &[0, 0, 0, 0, 0]));
        // Padded, with priority: 2 bytes of padding.
        let second = encode(&mut encoder);
        let mut payload = vec![2, 0, 0, 0, 0, 16];
        payload.extend_from_slice(&second);
        payload.extend_from_slice(&[0, 0]);
        bytes.extend(frame(
            HEADERS,
            END_HEADERS | PADDED | PRIORITY | END_STREAM,
            3,
            &payload,
        ));
        let third = encode(&mut encoder);
        let (a, b) = third.split_at(third.len() / 2);
        bytes.extend(frame(HEADERS, 0, 5, a));
        bytes.extend(frame(CONTINUATION, END_HEADERS, 5, b));
        bytes.extend(frame(0x0, END_STREAM, 5, b"\0\0\0\0\0"));
        bytes
    }

    fn mend(bytes: &[u8], split: usize) -> Vec<u8> {
        let mut mender = Mender::default();
        let mut out = Vec::new();
        for piece in [&bytes[..split], &bytes[split..]] {
            mender.feed(piece, &mut out).expect("valid HTTP/2");
        }
        out
    }

    #[test]
    fn a_path_authority_becomes_localhost_split_at_every_byte() {
        for authority in [
            "/run/user/1000/vtr/hub.sock",
            "%2Frun%2Fuser%2F1000%2Fvtr%2Fhub.sock",
        ] {
            let bytes = client_bytes(authority);
            let expected: Vec<(String, String)> = request("localhost")
                .into_iter()
                .map(|(n, v)| {
                    (
                        String::from_utf8(n.to_vec()).expect("utf-8"),
                        String::from_utf8(v).expect("utf-8"),
                    )
                })
                .collect();
            for split in 0..=bytes.len() {
                let blocks = blocks(&mend(&bytes, split));
                assert_eq!(blocks.len(), 3, "split at {split}");
                let streams: Vec<(u32, u8)> = blocks.iter().map(|(s, f, _)| (*s, *f)).collect();
                assert_eq!(
                    streams,
                    [
                        (1, END_HEADERS),
                        (3, END_HEADERS | END_STREAM),
                        (5, END_HEADERS)
                    ],
                    "split at {split}"
                );
                for (_, _, fields) in blocks {
                    assert_eq!(fields, expected, "{authority} split at {split}");
                }
            }
        }
    }

    #[test]
    fn a_valid_authority_and_other_frames_pass_unchanged() {
        let bytes = client_bytes("localhost:4620");
        let out = mend(&bytes, 30);
        for (_, _, fields) in blocks(&out) {
            assert!(fields.contains(&(":authority".to_owned(), "localhost:4620".to_owned())));
        }
        // The SETTINGS and DATA frames are byte for byte the client's.
        let settings = frame(0x4, 0, 0, &[0, 4, 0, 0, 0xff, 0xff]);
        assert_eq!(
            &out[PREFACE.len()..PREFACE.len() + settings.len()],
            &settings[..]
        );
        assert!(out.ends_with(&frame(0x0, END_STREAM, 5, b"\0\0\0\0\0")));
    }

    fn hex(text: &str) -> Vec<u8> {
        let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
        digits
            .chunks(2)
            .map(|pair| {
                u8::from_str_radix(std::str::from_utf8(pair).expect("hex"), 16).expect("hex")
            })
            .collect()
    }

    /// RFC 7541 C.4.1 and C.4.2: Huffman-coded requests, the second
    /// naming its authority by the dynamic table entry the first made.
    #[test]
    fn huffman_and_the_dynamic_table_as_rfc_7541_encodes_them() {
        let mut bytes = PREFACE.to_vec();
        bytes.extend(frame(
            HEADERS,
            END_HEADERS,
            1,
            &hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"),
        ));
        bytes.extend(frame(
            HEADERS,
            END_HEADERS,
            3,
            &hex("8286 84be 5886 a8eb 1064 9cbf"),
        ));
        let blocks = blocks(&mend(&bytes, 40));
        let first = [
            (":method", "GET"),
            (":scheme", "http"),
            (":path", "/"),
            (":authority", "www.example.com"),
        ];
        let pairs = |fields: &[(&str, &str)]| -> Vec<(String, String)> {
            fields
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(blocks[0].2, pairs(&first));
        let mut second = first.to_vec();
        second.push(("cache-control", "no-cache"));
        assert_eq!(blocks[1].2, pairs(&second));
    }

    /// A path the client put in its dynamic table and then names by index.
    #[test]
    fn an_indexed_path_authority_becomes_localhost_too() {
        let mut first = vec![0x82, 0x86, 0x84, 0x40, 10];
        first.extend_from_slice(b":authority");
        first.push(11);
        first.extend_from_slice(b"/tmp/v.sock");
        let mut bytes = PREFACE.to_vec();
        bytes.extend(frame(HEADERS, END_HEADERS, 1, &first));
        bytes.extend(frame(HEADERS, END_HEADERS, 3, &[0x82, 0x86, 0x84, 0xbe]));
        for (_, _, fields) in blocks(&mend(&bytes, 7)) {
            assert_eq!(fields[3], (":authority".to_owned(), "localhost".to_owned()));
        }
    }

    #[test]
    fn not_http2_passes_unchanged() {
        let bytes = b"GET / HTTP/1.1\r\nHost: /tmp/x\r\n\r\n";
        assert_eq!(mend(bytes, 3), bytes);
    }

    #[test]
    fn an_expanding_header_block_is_refused() {
        // One large field in the dynamic table, then thousands of one-byte
        // references to it: small on the wire, huge decoded.
        let mut encoder = loona_hpack::Encoder::new();
        let big = vec![b'a'; 4000];
        let first = encoder.encode([(&b"x-big"[..], &big[..])]);
        let mut bytes = PREFACE.to_vec();
        bytes.extend(frame(HEADERS, END_HEADERS, 1, &first));
        bytes.extend(frame(HEADERS, END_HEADERS, 3, &vec![0xbe; 4000]));
        let mut out = Vec::new();
        let result = Mender::default().feed(&bytes, &mut out);
        assert_eq!(
            result.expect_err("refused").kind(),
            io::ErrorKind::InvalidData
        );
    }

    #[test]
    fn integers_use_the_continuation_bytes() {
        let mut out = Vec::new();
        integer(1337, &mut out);
        // RFC 7541 C.1.2 encodes 1337 with a 5-bit prefix; with 7 bits:
        // 127, then 1210 = 0b1001_0111010 -> 0xba 0x09.
        assert_eq!(out, [0x7f, 0xba, 0x09]);
        out.clear();
        integer(126, &mut out);
        assert_eq!(out, [126]);
    }
}
