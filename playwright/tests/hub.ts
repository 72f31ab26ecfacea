// The hub under test and helpers to start more spokes next to it.
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const HUB_PORT = Number(process.env.VTR_TEST_PORT ?? 4780);
export const HUB_URL = `http://127.0.0.1:${HUB_PORT}`;
export const HUB_NAME = 'local';
export const VTR = process.env.VTR_BIN ? path.resolve(process.env.VTR_BIN) : path.resolve(__dirname, '../../target/debug/vtr');

/** A private directory per run: sockets and state of the hub and spokes. */
export const RUN_DIR = process.env.VTR_TEST_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'vtr-pw-'));
process.env.VTR_TEST_DIR = RUN_DIR;

/** The token file of the hub named `name` (made by the hub on first start). */
export function tokenFileOf(name: string): string {
  return path.join(RUN_DIR, `${name}-state`, 'token');
}

/** The token file of this run's hub. */
export const HUB_TOKEN_FILE = tokenFileOf('hub');

/** What every vtr under test sees: this run's directory as its home,
 * config and state, and none of the developer's `VTR_*` settings. */
const HOME_VARS: Record<string, string> = {
  HOME: RUN_DIR,
  XDG_CONFIG_HOME: RUN_DIR,
  XDG_STATE_HOME: RUN_DIR,
  XDG_RUNTIME_DIR: RUN_DIR,
};

function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('VTR_')) env[key] = value;
  }
  return { ...env, ...HOME_VARS };
}

/** The hub's command line for Playwright's web server, through `env` so
 * that it starts as clean as `start` below. */
export function hubCommand(): string {
  const unset = Object.keys(process.env).filter((k) => k.startsWith('VTR_')).flatMap((k) => ['-u', k]);
  const set = Object.entries(HOME_VARS).map(([k, v]) => `${k}=${v}`);
  return ['env', ...unset, ...set, VTR, 'hub', '--name', HUB_NAME, '--listen', `127.0.0.1:${HUB_PORT}`,
    '--socket', path.join(RUN_DIR, 'hub.sock'), '--state-dir', path.join(RUN_DIR, 'hub-state')]
    .map((a) => `'${a}'`).join(' ');
}

/** A tunnelled spoke joining a hub (this run's, unless told) with that
 * hub's token, as its own process. */
export async function startSpoke(name: string, hub = HUB_URL, tokenFile = HUB_TOKEN_FILE): Promise<ChildProcess> {
  return start(name, ['spoke', '--hub', hub, '--name', name, '--token-file', tokenFile,
    '--socket', path.join(RUN_DIR, `${name}.sock`), '--state-dir', path.join(RUN_DIR, `${name}-spoke-state`)]);
}

/** One more hub, on its own port: for tests that stop and restart a hub. */
export async function startHub(name: string, port: number, extra: string[] = []): Promise<ChildProcess> {
  return start(name, ['hub', '--name', name, '--listen', `127.0.0.1:${port}`,
    '--socket', path.join(RUN_DIR, `${name}.sock`), '--state-dir', path.join(RUN_DIR, `${name}-state`),
    ...extra]);
}

/** Runs `vtr ARGS` to its end, as clean as the hub; its stdout. */
export function vtrSync(args: string[]): Buffer {
  return execFileSync(VTR, args, { env: cleanEnv() });
}

/** Starts `vtr ARGS` and waits for its READY line. */
async function start(name: string, args: string[]): Promise<ChildProcess> {
  const child = spawn(VTR, args, { env: cleanEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk) => {
      out += chunk;
      if (out.includes('READY')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`${name} exited with ${code} before READY`)));
  });
  return child;
}

/** Freezes a process (SIGSTOP): its connections stay open but go silent,
 * as across a network partition. `resume` lets it go on. */
export function pause(child: ChildProcess) {
  child.kill('SIGSTOP');
}

export function resume(child: ChildProcess) {
  child.kill('SIGCONT');
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}
