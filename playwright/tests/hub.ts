// The hub under test and helpers to start more spokes next to it.
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const HUB_PORT = Number(process.env.VTR_TEST_PORT ?? 4780);
export const HUB_URL = `http://127.0.0.1:${HUB_PORT}`;
export const HUB_NAME = 'local';
export const VTR = path.resolve(__dirname, '../../target/debug/vtr');

/** A private directory per run: sockets and state of the hub and spokes. */
export const RUN_DIR = process.env.VTR_TEST_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'vtr-pw-'));
process.env.VTR_TEST_DIR = RUN_DIR;

export function hubCommand(): string {
  return [VTR, 'hub', '--name', HUB_NAME, '--listen', `127.0.0.1:${HUB_PORT}`,
    '--socket', path.join(RUN_DIR, 'hub.sock')].map((a) => `'${a}'`).join(' ');
}

/** A tunnelled spoke joining the hub, as its own process. */
export async function startSpoke(name: string): Promise<ChildProcess> {
  const child = spawn(VTR, ['spoke', '--hub', HUB_URL, '--name', name,
    '--socket', path.join(RUN_DIR, `${name}.sock`)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk) => {
      out += chunk;
      if (out.includes('READY')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`spoke ${name} exited with ${code} before READY`)));
  });
  return child;
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}
