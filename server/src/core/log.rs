//! The output log: a ring of PTY output chunks indexed by absolute stream
//! offset. Bounded by bytes; the oldest chunks fall off the front, unless a
//! reader that must see every byte (a session's parser) still needs them.
//! Chunks are shared (`Bytes`), so the log, the parser and subscribers never
//! copy a read more than once.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::{Bytes, BytesMut};

#[derive(Debug, Clone)]
struct Chunk {
    offset: u64,
    data: Bytes,
    /// Time since the session started, for recordings.
    at: Duration,
}

#[derive(Debug)]
pub struct OutputLog {
    chunks: VecDeque<Chunk>,
    start: u64,
    end: u64,
    capacity: usize,
    /// Chunks that end after this offset stay, over capacity or not.
    keep_after: u64,
}

/// What a read at some offset found.
#[derive(Debug, PartialEq)]
pub enum Read {
    /// Bytes starting at the requested offset.
    Data(Bytes),
    /// Nothing new yet: the offset is the end of the log.
    AtEnd,
    /// The log no longer holds the offset; it starts at `start` now.
    Gone { start: u64 },
    /// The offset lies beyond the end of the stream.
    Future { end: u64 },
}

impl OutputLog {
    pub fn new(capacity: usize) -> Self {
        OutputLog {
            chunks: VecDeque::new(),
            start: 0,
            end: 0,
            capacity: capacity.max(1),
            keep_after: u64::MAX,
        }
    }

    /// Offset of the oldest byte still held.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// Offset one past the newest byte: the total bytes ever appended.
    pub fn end(&self) -> u64 {
        self.end
    }

    pub fn holds(&self, offset: u64) -> bool {
        (self.start..=self.end).contains(&offset)
    }

    /// Keeps every byte from `offset` on, whatever the capacity, until a
    /// later call moves the mark: the bytes a parser has not read yet. What
    /// is over capacity before the mark goes now.
    pub fn keep_after(&mut self, offset: u64) {
        self.keep_after = offset;
        self.trim();
    }

    /// Bytes held beyond the capacity because of [`Self::keep_after`].
    #[cfg(test)]
    fn kept_over_capacity(&self) -> usize {
        ((self.end - self.start) as usize).saturating_sub(self.capacity)
    }

    /// Drops everything and continues at `offset`: for a copy of a stream
    /// that resumed after a gap (a hub's view of a remote session).
    pub fn reset_to(&mut self, offset: u64) {
        self.chunks.clear();
        self.start = offset;
        self.end = offset;
    }

    pub fn append(&mut self, data: Bytes, at: Duration) {
        if data.is_empty() {
            return;
        }
        let len = data.len();
        self.chunks.push_back(Chunk {
            offset: self.end,
            data,
            at,
        });
        self.end += len as u64;
        self.trim();
    }

    fn trim(&mut self) {
        while (self.end - self.start) as usize > self.capacity && self.chunks.len() > 1 {
            let front = &self.chunks[0];
            if front.offset + front.data.len() as u64 > self.keep_after {
                break;
            }
            if let Some(old) = self.chunks.pop_front() {
                self.start += old.data.len() as u64;
            }
        }
    }

    /// Up to `max` bytes from `offset`, one chunk's slice without copying or
    /// several chunks coalesced into one buffer.
    pub fn read(&self, offset: u64, max: usize) -> Read {
        if offset < self.start {
            return Read::Gone { start: self.start };
        }
        if offset > self.end {
            return Read::Future { end: self.end };
        }
        if offset == self.end {
            return Read::AtEnd;
        }
        let idx = self.chunk_index(offset);
        let first = &self.chunks[idx];
        let skip = (offset - first.offset) as usize;
        let first_len = first.data.len() - skip;
        if first_len >= max || idx + 1 == self.chunks.len() {
            let take = first_len.min(max);
            return Read::Data(first.data.slice(skip..skip + take));
        }
        let want = ((self.end - offset) as usize).min(max);
        let mut out = BytesMut::with_capacity(want);
        out.extend_from_slice(&first.data[skip..]);
        for chunk in self.chunks.range(idx + 1..) {
            let room = want - out.len();
            if room == 0 {
                break;
            }
            out.extend_from_slice(&chunk.data[..chunk.data.len().min(room)]);
        }
        Read::Data(out.freeze())
    }

    /// Chunks covering `[from, to)`, trimmed to the range, with their times.
    /// `from` below the log's start is clamped to it.
    pub fn slices(&self, from: u64, to: u64) -> Vec<(u64, Bytes, Duration)> {
        let from = from.max(self.start);
        let to = to.min(self.end);
        if from >= to {
            return Vec::new();
        }
        let mut out = Vec::new();
        for chunk in self.chunks.range(self.chunk_index(from)..) {
            if chunk.offset >= to {
                break;
            }
            let lo = from.max(chunk.offset);
            let hi = to.min(chunk.offset + chunk.data.len() as u64);
            let data = chunk
                .data
                .slice((lo - chunk.offset) as usize..(hi - chunk.offset) as usize);
            out.push((lo, data, chunk.at));
        }
        out
    }

    /// Index of the chunk holding `offset` (which must be in `start..end`).
    fn chunk_index(&self, offset: u64) -> usize {
        self.chunks
            .partition_point(|c| c.offset + c.data.len() as u64 <= offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_of(chunks: &[&str], capacity: usize) -> OutputLog {
        let mut log = OutputLog::new(capacity);
        for c in chunks {
            log.append(Bytes::copy_from_slice(c.as_bytes()), Duration::ZERO);
        }
        log
    }

    #[test]
    fn reads_coalesce_chunks_from_any_offset() {
        let log = log_of(&["abc", "def", "gh"], 100);
        assert_eq!(
            log.read(0, 100),
            Read::Data(Bytes::from_static(b"abcdefgh"))
        );
        assert_eq!(log.read(2, 100), Read::Data(Bytes::from_static(b"cdefgh")));
        assert_eq!(log.read(2, 3), Read::Data(Bytes::from_static(b"cde")));
        assert_eq!(log.read(1, 1), Read::Data(Bytes::from_static(b"b")));
        assert_eq!(log.read(8, 100), Read::AtEnd);
        assert_eq!(log.read(9, 100), Read::Future { end: 8 });
    }

    #[test]
    fn old_chunks_fall_off_the_front() {
        let log = log_of(&["abc", "def", "gh"], 5);
        assert_eq!(log.start(), 3);
        assert_eq!(log.end(), 8);
        assert_eq!(log.read(1, 100), Read::Gone { start: 3 });
        assert_eq!(log.read(3, 100), Read::Data(Bytes::from_static(b"defgh")));
        assert!(log.holds(3) && log.holds(8) && !log.holds(2));
    }

    #[test]
    fn chunks_after_the_keep_mark_stay_over_capacity() {
        let mut log = OutputLog::new(5);
        log.keep_after(1);
        for c in ["abc", "def", "gh"] {
            log.append(Bytes::copy_from_slice(c.as_bytes()), Duration::ZERO);
        }
        // "abc" ends after the mark: everything stays.
        assert_eq!(log.start(), 0);
        assert_eq!(log.kept_over_capacity(), 3);
        assert_eq!(log.read(1, 2), Read::Data(Bytes::from_static(b"bc")));
        // Moving the mark lets what is over capacity go, and no more.
        log.keep_after(4);
        assert_eq!(log.start(), 3);
        assert_eq!(log.kept_over_capacity(), 0);
        log.keep_after(8);
        assert_eq!(log.start(), 3);
        log.append(Bytes::from_static(b"ij"), Duration::ZERO);
        assert_eq!(log.start(), 6);
    }

    #[test]
    fn a_chunk_bigger_than_the_capacity_is_still_held() {
        let log = log_of(&["abcdefgh"], 4);
        assert_eq!(log.start(), 0);
        assert_eq!(
            log.read(0, 100),
            Read::Data(Bytes::from_static(b"abcdefgh"))
        );
    }

    #[test]
    fn a_reset_log_continues_at_its_new_offset() {
        let mut log = log_of(&["abc"], 100);
        log.reset_to(10);
        assert_eq!(log.read(3, 100), Read::Gone { start: 10 });
        assert_eq!(log.read(10, 100), Read::AtEnd);
        log.append(Bytes::from_static(b"xy"), Duration::ZERO);
        assert_eq!(log.read(11, 100), Read::Data(Bytes::from_static(b"y")));
    }

    #[test]
    fn slices_are_trimmed_to_the_range() {
        let log = log_of(&["abc", "def", "gh"], 100);
        let got: Vec<_> = log
            .slices(1, 7)
            .into_iter()
            .map(|(o, d, _)| (o, d))
            .collect();
        assert_eq!(
            got,
            vec![
                (1, Bytes::from_static(b"bc")),
                (3, Bytes::from_static(b"def")),
                (6, Bytes::from_static(b"g"))
            ]
        );
    }
}
