//! Throughput and latency of a spoke compared with a bare PTY.
//!
//! Run with `cargo bench --bench throughput` (release build). One run prints:
//!
//! 1. **Raw PTY rate**: a PTY opened directly with `portable_pty` runs a
//!    producer that writes 64 MiB (`yes ... | head -c 67108864`) once it has
//!    read a line; the clock runs from writing that line to EOF on the master.
//! 2. **Subscribe throughput**: a real `vtr spoke` process (the `vtr` binary
//!    of this package, on a Unix socket in a temporary directory) spawns the
//!    same producer; the bench subscribes from offset 0, sends the line with
//!    `SendText` and times until the `Exited` event, counting `Output` bytes.
//!    Any `RESYNC` snapshot (the subscriber fell behind the output log) or a
//!    gap in the offsets is reported. Raw and spoke runs alternate for a few
//!    rounds; the summary uses the medians.
//! 3. **Echo round trip**: `sh -c 'stty raw -echo; exec cat'`, one byte at a
//!    time, waiting for each to come back: on a bare PTY (blocking write and
//!    read) and through the spoke (`SendBytes` while a `Subscribe` stream
//!    waits for the byte). Raw and gRPC alternate in blocks; p50 and p99 are
//!    reported in microseconds. For reference, the latency of one unary
//!    `Info` RPC (the floor any gRPC round trip pays) is printed as well.
//!
//! The summary states whether the targets hold: subscribe throughput at
//! least 90% of the raw PTY rate, and echo p99 through gRPC at most 3x the
//! raw p99. 1 MB = 10^6 bytes.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use portable_pty::{CommandBuilder, MasterPty, PtySize, native_pty_system};
use vtr::transport::grpc::client::{Target, VtrClient, connect};
use vtr_shared::proto::{
    RemoveRequest, SendBytesRequest, SendTextRequest, SessionRequest, SnapshotReason, SpawnRequest,
    SubscribeEvent, SubscribeRequest, subscribe_event::Event,
};

/// Bytes the producer writes (before the terminal turns `\n` into `\r\n`).
const PRODUCER: &str =
    "read x; yes \"The quick brown fox jumps over the lazy dog 0123456789\" | head -c 67108864";
const ECHO: &str = "stty raw -echo; exec cat";
const COLS: u16 = 80;
const ROWS: u16 = 24;
/// Throughput rounds; each runs the raw PTY and then the spoke.
const ROUNDS: usize = 3;
/// Echo iterations per side, measured in alternating blocks.
const ECHO_ITERATIONS: usize = 2000;
const ECHO_BLOCK: usize = 250;
/// Unmeasured round trips before the measured ones, per side.
const ECHO_WARMUP: usize = 100;
const READY_DEADLINE: Duration = Duration::from_secs(10);
const GRPC_DEADLINE: Duration = Duration::from_secs(120);
/// The probe byte (Ctrl-A): echoed as `^A` while the terminal is cooked,
/// verbatim only by `cat` once `stty raw` took effect.
const PROBE: u8 = 0x01;
/// Sent once the probe came back; everything before its echo is stale.
const SYNC: u8 = 0x02;
const THROUGHPUT_TARGET: f64 = 0.90;
const ECHO_TARGET: f64 = 3.0;

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let dir = TempDir::new()?;
    let mut spoke = Spoke::start(dir.path())?;
    let mut client = connect(&Target::Unix(spoke.socket.clone()))
        .await
        .context("connecting to the spoke")?;
    println!("vtr throughput bench: spoke pid {}", spoke.child.id());

    // 1 and 2: throughput, alternating raw and spoke.
    let mut raw_rates = Vec::new();
    let mut grpc_rates = Vec::new();
    let mut resyncs = 0;
    let mut gaps = 0;
    for round in 1..=ROUNDS {
        let raw = tokio::task::block_in_place(|| raw_throughput(dir.path()))?;
        println!(
            "[round {round}] raw PTY rate: {} bytes in {:.3} s = {:.1} MB/s",
            raw.bytes,
            raw.elapsed.as_secs_f64(),
            raw.mb_per_s()
        );
        raw_rates.push(raw.mb_per_s());

        let cpu_before = cpu_seconds(spoke.child.id());
        let grpc = grpc_throughput(&mut client, &format!("tput{round}"), dir.path()).await?;
        let spoke_cpu = cpu_seconds(spoke.child.id())
            .zip(cpu_before)
            .map(|(a, b)| a - b);
        println!(
            "[round {round}] subscribe throughput: {} bytes in {:.3} s = {:.1} MB/s \
             ({} output events, mean {} bytes; exit {}; spoke CPU {})",
            grpc.bytes,
            grpc.elapsed.as_secs_f64(),
            grpc.mb_per_s(),
            grpc.events,
            grpc.bytes / grpc.events.max(1),
            grpc.exit,
            spoke_cpu.map_or_else(|| "unknown".to_owned(), |s| format!("{s:.2} s")),
        );
        if grpc.bytes != raw.bytes {
            println!(
                "[round {round}] note: the spoke delivered {} bytes, the raw PTY {}",
                grpc.bytes, raw.bytes
            );
        }
        if grpc.resyncs > 0 || grpc.gaps > 0 {
            println!(
                "[round {round}] PROBLEM: {} RESYNC snapshot(s), {} offset gap(s) \
                 ({} bytes skipped)",
                grpc.resyncs, grpc.gaps, grpc.skipped
            );
        }
        resyncs += grpc.resyncs;
        gaps += grpc.gaps;
        grpc_rates.push(grpc.mb_per_s());
    }
    let raw_rate = median(&mut raw_rates);
    let grpc_rate = median(&mut grpc_rates);
    let ratio = grpc_rate / raw_rate;
    println!("raw PTY rate (median of {ROUNDS}): {raw_rate:.1} MB/s");
    println!(
        "subscribe throughput (median of {ROUNDS}): {grpc_rate:.1} MB/s = {:.1}% of raw",
        ratio * 100.0
    );
    if resyncs == 0 && gaps == 0 {
        println!("subscribe resyncs: none (no RESYNC snapshot, no offset gap)");
    } else {
        println!("subscribe resyncs: PROBLEM: {resyncs} RESYNC snapshot(s), {gaps} offset gap(s)");
    }

    // 3: echo round trip, alternating blocks.
    let mut raw_echo = tokio::task::block_in_place(|| RawEcho::start(dir.path()))?;
    let mut grpc_echo = GrpcEcho::start(&mut client, "echo", dir.path()).await?;
    let mut raw_lat = Vec::with_capacity(ECHO_ITERATIONS);
    let mut grpc_lat = Vec::with_capacity(ECHO_ITERATIONS);
    tokio::task::block_in_place(|| raw_echo.run(ECHO_WARMUP, &mut Vec::new()))?;
    grpc_echo.run(ECHO_WARMUP, &mut Vec::new()).await?;
    while raw_lat.len() < ECHO_ITERATIONS {
        let n = ECHO_BLOCK.min(ECHO_ITERATIONS - raw_lat.len());
        tokio::task::block_in_place(|| raw_echo.run(n, &mut raw_lat))?;
        grpc_echo.run(n, &mut grpc_lat).await?;
    }
    drop(raw_echo);
    // Calibration: the floor a single unary RPC sets on any gRPC round trip.
    let mut rpc_lat = Vec::with_capacity(ECHO_ITERATIONS);
    for _ in 0..ECHO_ITERATIONS {
        let start = Instant::now();
        client
            .info(SessionRequest {
                session: "echo".to_owned(),
            })
            .await
            .context("Info")?;
        rpc_lat.push(start.elapsed());
    }
    grpc_echo.stop().await;
    let (rpc_p50, rpc_p99) = percentiles(&mut rpc_lat);
    let (raw_p50, raw_p99) = percentiles(&mut raw_lat);
    let (grpc_p50, grpc_p99) = percentiles(&mut grpc_lat);
    let echo_ratio = grpc_p99 / raw_p99;
    println!(
        "echo round trip raw PTY ({ECHO_ITERATIONS}): p50 {raw_p50:.0} us, p99 {raw_p99:.0} us"
    );
    println!(
        "echo round trip gRPC ({ECHO_ITERATIONS}): p50 {grpc_p50:.0} us, p99 {grpc_p99:.0} us"
    );
    println!("echo p99 ratio gRPC/raw: {echo_ratio:.2}x");
    println!(
        "for reference, one unary Info RPC ({ECHO_ITERATIONS}): p50 {rpc_p50:.0} us, \
         p99 {rpc_p99:.0} us"
    );

    spoke.stop();
    drop(dir);

    println!();
    println!("=== summary ===");
    println!(
        "subscribe throughput: {grpc_rate:.1} MB/s = {:.1}% of raw PTY ({raw_rate:.1} MB/s)   \
         target >= 90%: {}",
        ratio * 100.0,
        met(ratio >= THROUGHPUT_TARGET)
    );
    println!(
        "echo p50/p99 raw: {raw_p50:.0}/{raw_p99:.0} us; grpc: {grpc_p50:.0}/{grpc_p99:.0} us; \
         p99 ratio {echo_ratio:.2}   target <= 3x: {}",
        met(echo_ratio <= ECHO_TARGET)
    );
    if resyncs > 0 || gaps > 0 {
        println!("subscribe resyncs: {resyncs}, offset gaps: {gaps}");
    }
    Ok(())
}

fn met(ok: bool) -> &'static str {
    if ok { "MET" } else { "NOT MET" }
}

/// A directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> anyhow::Result<Self> {
        let stamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let path = std::env::temp_dir().join(format!("vtr-bench-{}-{stamp}", std::process::id()));
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A `vtr spoke` child process, killed on drop.
struct Spoke {
    child: Child,
    socket: PathBuf,
    stopped: bool,
}

impl Spoke {
    fn start(dir: &Path) -> anyhow::Result<Self> {
        let socket = dir.join("s.sock");
        let mut child = Command::new(env!("CARGO_BIN_EXE_vtr"))
            .arg("spoke")
            .arg("--socket")
            .arg(&socket)
            .args(["--name", "bench"])
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting `vtr spoke`")?;
        let stdout = child.stdout.take().context("spoke stdout")?;
        let mut spoke = Self {
            child,
            socket,
            stopped: false,
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            // Keep draining stdout after READY so the spoke never blocks on it.
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + READY_DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line.starts_with("READY ") => {
                    println!("spoke: {line}");
                    return Ok(spoke);
                }
                Ok(_) => {}
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    spoke.stop();
                    bail!("no READY line from the spoke within {READY_DEADLINE:?}");
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = spoke.child.wait().context("waiting for the spoke")?;
                    spoke.stopped = true;
                    bail!("the spoke exited before READY: {status}");
                }
            }
        }
    }

    fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        if let Err(e) = self.child.kill() {
            println!("killing the spoke: {e}");
        }
        let _ = self.child.wait();
    }
}

impl Drop for Spoke {
    fn drop(&mut self) {
        self.stop();
    }
}

/// User + system CPU seconds of a process (Linux `/proc`, 100 ticks/s).
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

struct Throughput {
    bytes: u64,
    elapsed: Duration,
}

impl Throughput {
    fn mb_per_s(&self) -> f64 {
        self.bytes as f64 / self.elapsed.as_secs_f64() / 1e6
    }
}

fn pty_size() -> PtySize {
    PtySize {
        rows: ROWS,
        cols: COLS,
        pixel_width: 0,
        pixel_height: 0,
    }
}

/// A PTY running `sh -c script`, with the slave closed on our side.
struct RawPty {
    /// Kept open for the reader and writer.
    _master: Box<dyn MasterPty + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    reader: Box<dyn Read + Send>,
    writer: Box<dyn Write + Send>,
}

impl RawPty {
    fn spawn(script: &str, dir: &Path) -> anyhow::Result<Self> {
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

    fn write(&mut self, data: &[u8]) -> anyhow::Result<()> {
        self.writer.write_all(data)?;
        self.writer.flush()?;
        Ok(())
    }

    /// Bytes read into `buf`; 0 at EOF (EIO once the slave is closed).
    fn read(&mut self, buf: &mut [u8]) -> anyhow::Result<usize> {
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

fn raw_throughput(dir: &Path) -> anyhow::Result<Throughput> {
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

struct GrpcThroughput {
    bytes: u64,
    elapsed: Duration,
    events: u64,
    resyncs: u64,
    gaps: u64,
    skipped: u64,
    exit: String,
}

impl GrpcThroughput {
    fn mb_per_s(&self) -> f64 {
        Throughput {
            bytes: self.bytes,
            elapsed: self.elapsed,
        }
        .mb_per_s()
    }
}

fn spawn_request(name: &str, script: &str, dir: &Path) -> SpawnRequest {
    SpawnRequest {
        name: name.to_owned(),
        command: "sh".to_owned(),
        args: vec!["-c".to_owned(), script.to_owned()],
        cwd: dir.display().to_string(),
        env: vec![],
        cols: u32::from(COLS),
        rows: u32::from(ROWS),
    }
}

async fn grpc_throughput(
    client: &mut VtrClient,
    name: &str,
    dir: &Path,
) -> anyhow::Result<GrpcThroughput> {
    client
        .spawn(spawn_request(name, PRODUCER, dir))
        .await
        .context("spawning the producer")?;
    let mut stream = client
        .subscribe(SubscribeRequest {
            session: name.to_owned(),
            from_offset: Some(0),
        })
        .await
        .context("subscribing")?
        .into_inner();
    let mut sender = client.clone();
    let start = Instant::now();
    let send = sender.send_text(SendTextRequest {
        session: name.to_owned(),
        text: "\n".to_owned(),
        submit: false,
    });
    let consume = async {
        let mut result = GrpcThroughput {
            bytes: 0,
            elapsed: Duration::ZERO,
            events: 0,
            resyncs: 0,
            gaps: 0,
            skipped: 0,
            exit: String::new(),
        };
        let mut next = 0u64;
        while let Some(event) = stream.message().await? {
            match event.event {
                Some(Event::Output(out)) => {
                    if out.offset != next {
                        result.gaps += 1;
                        result.skipped += out.offset.saturating_sub(next);
                    }
                    next = out.offset + out.data.len() as u64;
                    result.bytes += out.data.len() as u64;
                    result.events += 1;
                }
                Some(Event::Snapshot(snap)) => {
                    if snap.reason == SnapshotReason::Resync as i32 {
                        result.resyncs += 1;
                        result.skipped += snap.offset.saturating_sub(next);
                    }
                    next = snap.offset;
                }
                Some(Event::Exited(exited)) => {
                    result.elapsed = start.elapsed();
                    result.exit = match exited.exit_code {
                        Some(code) => format!("code {code}"),
                        None => format!("signal {}", exited.signal),
                    };
                    return Ok(result);
                }
                Some(Event::Resized(_) | Event::Idle(_)) | None => {}
            }
        }
        bail!("the subscribe stream ended without an Exited event")
    };
    let (sent, consumed) =
        tokio::time::timeout(GRPC_DEADLINE, async { tokio::join!(send, consume) })
            .await
            .context("the spoke throughput run timed out")?;
    sent.context("sending the start line")?;
    let result = consumed?;
    remove(client, name).await;
    Ok(result)
}

async fn remove(client: &mut VtrClient, name: &str) {
    let request = RemoveRequest {
        session: name.to_owned(),
        force: true,
    };
    if let Err(e) = client.remove(request).await {
        println!("removing session {name}: {e}");
    }
}

/// Echo on a bare PTY.
struct RawEcho {
    pty: RawPty,
    buf: Vec<u8>,
    next: u8,
}

impl RawEcho {
    fn start(dir: &Path) -> anyhow::Result<Self> {
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

    fn read(&mut self) -> anyhow::Result<usize> {
        let n = self.pty.read(&mut self.buf)?;
        if n == 0 {
            bail!("raw echo: EOF");
        }
        Ok(n)
    }

    fn run(&mut self, iterations: usize, latencies: &mut Vec<Duration>) -> anyhow::Result<()> {
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

/// Echo through the spoke: `SendBytes` in, `Subscribe` out.
struct GrpcEcho {
    client: VtrClient,
    stream: tonic::Streaming<SubscribeEvent>,
    name: String,
    next: u8,
}

impl GrpcEcho {
    async fn start(client: &mut VtrClient, name: &str, dir: &Path) -> anyhow::Result<Self> {
        client
            .spawn(spawn_request(name, ECHO, dir))
            .await
            .context("spawning the echo session")?;
        let stream = client
            .subscribe(SubscribeRequest {
                session: name.to_owned(),
                from_offset: None,
            })
            .await
            .context("subscribing to the echo session")?
            .into_inner();
        let mut echo = Self {
            client: client.clone(),
            stream,
            name: name.to_owned(),
            next: 0,
        };
        tokio::time::timeout(READY_DEADLINE, async {
            let mut seen = Vec::new();
            loop {
                echo.send(PROBE).await?;
                seen.extend_from_slice(&echo.output().await?);
                if seen.contains(&PROBE) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            echo.send(SYNC).await?;
            while !echo.output().await?.contains(&SYNC) {}
            anyhow::Ok(())
        })
        .await
        .context("gRPC echo: `stty raw` never took effect")??;
        Ok(echo)
    }

    async fn send(&mut self, byte: u8) -> anyhow::Result<()> {
        self.client
            .send_bytes(SendBytesRequest {
                session: self.name.clone(),
                data: bytes::Bytes::copy_from_slice(&[byte]),
            })
            .await
            .context("SendBytes")?;
        Ok(())
    }

    /// The data of the next `Output` event.
    async fn output(&mut self) -> anyhow::Result<bytes::Bytes> {
        next_output(&mut self.stream).await
    }

    async fn run(
        &mut self,
        iterations: usize,
        latencies: &mut Vec<Duration>,
    ) -> anyhow::Result<()> {
        for _ in 0..iterations {
            let byte = b'a' + self.next;
            self.next = (self.next + 1) % 26;
            let request = SendBytesRequest {
                session: self.name.clone(),
                data: bytes::Bytes::copy_from_slice(&[byte]),
            };
            let start = Instant::now();
            let send = self.client.send_bytes(request);
            let stream = &mut self.stream;
            let wait = async {
                while !next_output(stream).await?.contains(&byte) {}
                anyhow::Ok(start.elapsed())
            };
            let (sent, elapsed) =
                tokio::time::timeout(GRPC_DEADLINE, async { tokio::join!(send, wait) })
                    .await
                    .context("gRPC echo timed out")?;
            sent.context("SendBytes")?;
            latencies.push(elapsed?);
        }
        Ok(())
    }

    async fn stop(mut self) {
        let name = self.name.clone();
        remove(&mut self.client, &name).await;
    }
}

async fn next_output(
    stream: &mut tonic::Streaming<SubscribeEvent>,
) -> anyhow::Result<bytes::Bytes> {
    loop {
        let Some(event) = stream.message().await? else {
            bail!("the subscribe stream ended");
        };
        match event.event {
            Some(Event::Output(out)) => return Ok(out.data),
            Some(Event::Exited(_)) => bail!("the echo session exited"),
            _ => {}
        }
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// p50 and p99 (nearest rank) in microseconds.
fn percentiles(latencies: &mut [Duration]) -> (f64, f64) {
    latencies.sort();
    let rank = |p: usize| {
        let i = (latencies.len() * p).div_ceil(100).saturating_sub(1);
        latencies.get(i).map_or(f64::NAN, |d| d.as_secs_f64() * 1e6)
    };
    (rank(50), rank(99))
}
