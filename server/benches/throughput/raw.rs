//! The baseline: a PTY read and written directly.

use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use portable_pty::{CommandBuilder, MasterPty, PtySize, native_pty_system};

use crate::{COLS, COOKED_ECHO, COOKED_SYNC, ECHO, PROBE, PRODUCER, READY_DEADLINE, ROWS, SYNC};

pub(crate) struct Throughput {
    pub(crate) bytes: u64,
    pub(crate) elapsed: Duration,
}

impl Throughput {
    pub(crate) fn mb_per_s(&self) -> f64 {
        self.bytes as f64 / self.elapsed.as_secs_f64() / 1e6
    }
}

pub(crate) fn pty_size() -> PtySize {
    PtySize {
        rows: ROWS,
        cols: COLS,
        pixel_width: 0,
        pixel_height: 0,
    }
}

/// A PTY running `sh -c script`, with the slave closed on our side.
pub(crate) struct RawPty {
    /// Kept open for the reader and writer.
    pub(crate) _master: Box<dyn MasterPty + Send>,
    pub(crate) child: Box<dyn portable_pty::Child + Send + Sync>,
    pub(crate) reader: Box<dyn Read + Send>,
    pub(crate) writer: Box<dyn Write + Send>,
}

impl RawPty {
    pub(crate) fn spawn(script: &str, dir: &Path) -> anyhow::Result<Self> {
        let pair = native_pty_system().openpty(pty_size())?;
        let mut cmd = CommandBuilder::new("sh");
        cmd.args(["-c", script]);
        cmd.cwd(dir);
        let child = pair.slave.spawn_command(cmd)?;
        // Otherwise the master never sees EOF.
        drop(pair.slave);
        let reader = pair.master.try_clone_reader()?;
        let writer = pair.master.take_writer()?;
        Ok(Self {
            _master: pair.master,
            child,
            reader,
            writer,
        })
    }

    pub(crate) fn write(&mut self, data: &[u8]) -> anyhow::Result<()> {
        self.writer.write_all(data)?;
        self.writer.flush()?;
        Ok(())
    }

    /// Bytes read into `buf`; 0 at EOF (EIO once the slave is closed).
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> anyhow::Result<usize> {
        loop {
            match self.reader.read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if e.raw_os_error() == Some(nix::libc::EIO) => return Ok(0),
                Err(e) => return Err(e).context("reading the PTY"),
            }
        }
    }
}

impl Drop for RawPty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn raw_throughput(dir: &Path) -> anyhow::Result<Throughput> {
    let mut pty = RawPty::spawn(PRODUCER, dir)?;
    let mut buf = vec![0u8; 64 << 10];
    let start = Instant::now();
    pty.write(b"\n")?;
    let mut bytes = 0u64;
    loop {
        let n = pty.read(&mut buf)?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
    }
    let elapsed = start.elapsed();
    let status = pty.child.wait()?;
    if !status.success() {
        bail!("raw producer failed: {status:?}");
    }
    Ok(Throughput { bytes, elapsed })
}

/// Echo on a bare PTY.
pub(crate) struct RawEcho {
    pub(crate) pty: RawPty,
    pub(crate) buf: Vec<u8>,
    pub(crate) next: u8,
}

impl RawEcho {
    pub(crate) fn start(dir: &Path) -> anyhow::Result<Self> {
        let mut echo = Self {
            pty: RawPty::spawn(ECHO, dir)?,
            buf: vec![0u8; 4096],
            next: 0,
        };
        // Every probe is answered at once (`^A` from the cooked line
        // discipline, or the byte itself from cat), so reading never hangs.
        let mut seen = Vec::new();
        let deadline = Instant::now() + READY_DEADLINE;
        loop {
            echo.pty.write(&[PROBE])?;
            let n = echo.read()?;
            seen.extend_from_slice(&echo.buf[..n]);
            if seen.contains(&PROBE) {
                break;
            }
            if Instant::now() > deadline {
                bail!("raw echo: `stty raw` never took effect");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        echo.pty.write(&[SYNC])?;
        loop {
            let n = echo.read()?;
            if echo.buf[..n].contains(&SYNC) {
                return Ok(echo);
            }
        }
    }

    /// The cooked echo (`COOKED_ECHO`): the line discipline echoes from
    /// the start, so one printable byte back says it is ready.
    pub(crate) fn start_cooked(dir: &Path) -> anyhow::Result<Self> {
        let mut echo = Self {
            pty: RawPty::spawn(COOKED_ECHO, dir)?,
            buf: vec![0u8; 4096],
            next: 0,
        };
        echo.pty.write(&[COOKED_SYNC])?;
        loop {
            let n = echo.read()?;
            if echo.buf[..n].contains(&COOKED_SYNC) {
                return Ok(echo);
            }
        }
    }

    pub(crate) fn read(&mut self) -> anyhow::Result<usize> {
        let n = self.pty.read(&mut self.buf)?;
        if n == 0 {
            bail!("raw echo: EOF");
        }
        Ok(n)
    }

    pub(crate) fn run(
        &mut self,
        iterations: usize,
        latencies: &mut Vec<Duration>,
    ) -> anyhow::Result<()> {
        for _ in 0..iterations {
            let byte = b'a' + self.next;
            self.next = (self.next + 1) % 26;
            let start = Instant::now();
            self.pty.write(&[byte])?;
            loop {
                let n = self.read()?;
                if self.buf[..n].contains(&byte) {
                    break;
                }
            }
            latencies.push(start.elapsed());
        }
        Ok(())
    }
}
