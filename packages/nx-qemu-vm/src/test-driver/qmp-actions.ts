// What the test API asks of QEMU itself, through QMP: screenshots, key
// presses, link state and port forwards added at run time.
import { closeSync, openSync, readSync, renameSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { checkPort } from './guest-commands';
import { type QKey, keyCombination } from './keys';
import type { QmpClient } from '../qemu/qmp';

const QMP_TIMEOUT_MS = 30_000;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** QEMU writes the PNG itself; it appears under `file` only once complete. */
export async function screendump(qmp: QmpClient, file: string): Promise<void> {
  const scratch = `${file}.tmp-${process.pid}`;
  try {
    await qmp.execute('screendump', { filename: scratch, format: 'png' }, QMP_TIMEOUT_MS);
    const head = Buffer.alloc(8);
    const fd = openSync(scratch, 'r');
    try {
      readSync(fd, head, 0, 8, 0);
    } finally {
      closeSync(fd);
    }
    if (!head.equals(PNG_SIGNATURE)) throw new Error(`QEMU's screendump is not a PNG file`);
    renameSync(scratch, file);
  } finally {
    rmSync(scratch, { force: true });
  }
}

export async function sendKeyCombination(
  qmp: QmpClient,
  combination: string,
  holdMs = 50,
): Promise<void> {
  const keys: QKey[] = keyCombination(combination);
  await qmp.execute('send-key', { keys, 'hold-time': holdMs }, QMP_TIMEOUT_MS);
  // send-key returns at once and releases the keys later: let them go before the next.
  await new Promise((resolve) => setTimeout(resolve, holdMs + 10));
}

export async function setLinks(qmp: QmpClient, netdevs: string[], up: boolean): Promise<void> {
  for (const name of netdevs) await qmp.execute('set_link', { name, up }, QMP_TIMEOUT_MS);
}

async function hmp(qmp: QmpClient, commandLine: string): Promise<string> {
  const out = await qmp.execute(
    'human-monitor-command',
    { 'command-line': commandLine },
    QMP_TIMEOUT_MS,
  );
  return typeof out === 'string' ? out.trim() : '';
}

/** A port on 127.0.0.1 that nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/** Forwards 127.0.0.1:hostPort to the guest's port on the user network; returns the host port. */
export async function addForward(
  qmp: QmpClient,
  netdev: string,
  guestPort: number,
  hostPort?: number,
): Promise<number> {
  checkPort(guestPort);
  if (hostPort !== undefined) checkPort(hostPort);
  // A free port can be taken between our check and QEMU's bind: try a few.
  for (let attempt = 0; ; attempt++) {
    const port = hostPort ?? (await freePort());
    const out = await hmp(qmp, `hostfwd_add ${netdev} tcp:127.0.0.1:${port}-:${guestPort}`);
    if (!out) return port;
    if (hostPort !== undefined || attempt >= 4)
      throw new Error(
        `QEMU could not forward 127.0.0.1:${port} to guest port ${guestPort}: ${out}`,
      );
  }
}
