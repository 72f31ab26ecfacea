//! Where inputs come from: a seeded PRNG mixing random bytes, mutations of
//! a target's seed corpus, and its structure-aware generator. Nothing is
//! learnt from a run (no coverage feedback); the corpus stays the seeds.

use fastrand::Rng;

use crate::Target;

/// Mutated inputs are cut here: the parsers' own limits are far below,
/// and generators reach past them on purpose when it matters.
const MAX_LEN: usize = 64 << 10;
/// Bytes that often mean something to a parser.
const INTERESTING: &[u8] = &[
    0, 1, 0x7f, 0x80, 0xff, b'\n', b'\r', b'\t', b' ', b':', b'.', b'/', b'\\', b'=', b';', b'"',
    b'[', b']', b'%', b'@', b'#',
];
/// Varints and numbers at the edges of the limits and types.
const NUMBERS: &[u64] = &[
    0,
    1,
    2,
    59,
    60,
    127,
    128,
    255,
    500,
    501,
    999,
    1000,
    1001,
    65_535,
    65_536,
    1 << 20,
    (1 << 20) + 1,
    2_592_000,
    2_592_001,
    86_400_000,
    86_400_001,
    i32::MAX as u64,
    u32::MAX as u64,
    i64::MAX as u64,
    u64::MAX,
];

pub struct Inputs<'t> {
    rng: Rng,
    target: &'t Target,
    seeds: Vec<Vec<u8>>,
}

impl<'t> Inputs<'t> {
    pub fn new(target: &'t Target, seed: u64) -> Self {
        // Each target its own stream, so running one target alone gives
        // the same inputs as running it among all.
        let salt = target.name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        let mut seeds = (target.seeds)();
        if seeds.is_empty() {
            seeds.push(Vec::new());
        }
        Inputs {
            rng: Rng::with_seed(seed ^ salt),
            target,
            seeds,
        }
    }

    pub fn next(&mut self) -> Vec<u8> {
        match self.rng.u32(0..100) {
            0..5 => self.random_bytes(),
            5..25 => (self.target.generate)(&mut self.rng),
            25..35 => {
                let generated = (self.target.generate)(&mut self.rng);
                self.mutate(generated)
            }
            _ => {
                let seed = self.seeds[self.rng.usize(..self.seeds.len())].clone();
                self.mutate(seed)
            }
        }
    }

    fn random_bytes(&mut self) -> Vec<u8> {
        let len = match self.rng.u32(0..10) {
            0..6 => self.rng.usize(0..16),
            6..9 => self.rng.usize(0..256),
            _ => self.rng.usize(0..4096),
        };
        (0..len).map(|_| self.rng.u8(..)).collect()
    }

    /// One to eight stacked mutations, fewer more often.
    fn mutate(&mut self, mut data: Vec<u8>) -> Vec<u8> {
        let rounds = 1 + self.rng.u32(0..8).min(self.rng.u32(0..8));
        for _ in 0..rounds {
            self.mutate_once(&mut data);
        }
        data.truncate(MAX_LEN);
        data
    }

    fn mutate_once(&mut self, data: &mut Vec<u8>) {
        let rng = &mut self.rng;
        let at = |rng: &mut Rng, data: &Vec<u8>| rng.usize(0..=data.len());
        match rng.u32(0..13) {
            0 if !data.is_empty() => {
                let i = rng.usize(..data.len());
                data[i] ^= 1 << rng.u32(0..8);
            }
            1 if !data.is_empty() => {
                let i = rng.usize(..data.len());
                data[i] = rng.u8(..);
            }
            2 if !data.is_empty() => {
                let i = rng.usize(..data.len());
                data[i] = INTERESTING[rng.usize(..INTERESTING.len())];
            }
            3 => {
                let i = at(rng, data);
                let extra: Vec<u8> = (0..rng.usize(1..16)).map(|_| rng.u8(..)).collect();
                data.splice(i..i, extra);
            }
            4 if !data.is_empty() => {
                let start = rng.usize(..data.len());
                let end = rng.usize(start..=data.len().min(start + 32));
                data.drain(start..end);
            }
            5 if !data.is_empty() => {
                let start = rng.usize(..data.len());
                let end = rng.usize(start..=data.len());
                let chunk = data[start..end].to_vec();
                let i = at(rng, data);
                data.splice(i..i, chunk);
            }
            6 => {
                let other = &self.seeds[rng.usize(..self.seeds.len())];
                let keep = at(rng, data);
                let from = rng.usize(0..=other.len());
                data.truncate(keep);
                data.extend_from_slice(&other[from..]);
            }
            7 => {
                let keep = at(rng, data);
                data.truncate(keep);
            }
            8 | 9 if !self.target.dictionary.is_empty() => {
                let dict = self.target.dictionary;
                let token = dict[rng.usize(..dict.len())];
                let i = at(rng, data);
                if rng.bool() {
                    data.splice(i..i, token.iter().copied());
                } else {
                    let end = (i + token.len()).min(data.len());
                    data.splice(i..end, token.iter().copied());
                }
            }
            // Many copies of a token: quadratic loops and deep recursion
            // show only on long repetitive inputs.
            10 => {
                let dict = self.target.dictionary;
                let token: &[u8] = if dict.is_empty() {
                    &INTERESTING[rng.usize(..INTERESTING.len())..][..1]
                } else {
                    dict[rng.usize(..dict.len())]
                };
                let copies = if rng.u32(0..4) == 0 {
                    rng.usize(100..20_000)
                } else {
                    rng.usize(2..16)
                };
                let i = at(rng, data);
                let run: Vec<u8> = token.repeat(copies);
                data.splice(i..i, run);
            }
            11 => {
                let n = NUMBERS[rng.usize(..NUMBERS.len())];
                let i = at(rng, data);
                if rng.bool() {
                    data.splice(i..i, varint(n));
                } else {
                    data.splice(i..i, n.to_string().into_bytes());
                }
            }
            12 if !data.is_empty() => {
                let i = rng.usize(..data.len());
                data[i] = data[i].wrapping_add(rng.u8(1..8)).wrapping_sub(4);
            }
            _ => {}
        }
    }
}

/// `n` as a protobuf varint.
pub fn varint(mut n: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

/// A string for structure-aware generators: mostly from `alphabet`,
/// sometimes any character, sometimes long.
pub fn text(rng: &mut Rng, alphabet: &str) -> String {
    let chars: Vec<char> = alphabet.chars().collect();
    let len = match rng.u32(0..20) {
        0 => rng.usize(64..2000),
        1..4 => 0,
        _ => rng.usize(1..24),
    };
    (0..len)
        .map(|_| match rng.u32(0..20) {
            0 => rng.char(..),
            1 => char::from(rng.u8(0..0x80)),
            _ if chars.is_empty() => rng.alphanumeric(),
            _ => chars[rng.usize(..chars.len())],
        })
        .collect()
}

/// A number at an edge (often) or anywhere.
pub fn number(rng: &mut Rng) -> u64 {
    if rng.bool() {
        NUMBERS[rng.usize(..NUMBERS.len())]
    } else {
        rng.u64(..)
    }
}

/// One of `items`.
pub fn pick<'a, T: ?Sized>(rng: &mut Rng, items: &[&'a T]) -> &'a T {
    items[rng.usize(..items.len())]
}
