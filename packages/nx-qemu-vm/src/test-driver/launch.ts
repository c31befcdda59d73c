// Boots one machine for the test API through its own run script, so a test
// boots exactly what `nx run <m>:start` boots, locks and all. The script gets
// a private scratch directory (TMPDIR with USE_TMPDIR=1) that also holds the
// API's sockets, and the test API's QEMU arguments on top of the machine's
// (qemu/test-api-args.ts). setpriv hands the script SIGTERM when
// this process dies, however it dies, and the script then stops QEMU.
// With a warm state (warmStart), the script restores it instead of booting:
// the same arguments, VM_WARM=restore, and the state saved for the test API.
// A ready state (warmStart "ready") comes with its own disks (the run script
// finds them beside it), and the warm target saves one through here too.
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { type TestApiArgOptions, apiSockets, testApiArgs } from '../qemu/test-api-args';

export interface LaunchOptions extends TestApiArgOptions {
  runScript: string;
  /** The first three numbers of the vlans' multicast group: machines of one start share it. */
  vlanNet: string;
  /** The saved state to start from or to save (run-vm-warm.sh); none boots cold. */
  warm?: WarmRun;
}

export interface WarmRun {
  /**
   * restore: a state at the end of stage 1 (dist/vm/<m>/test-warm/test-state);
   * ready-restore: a ready one (test-warm/ready-state); ready-save: boot cold and
   * let the caller save the machine once ready.
   */
  mode: 'restore' | 'ready-restore' | 'ready-save';
  state: string;
}

/** The run script's environment for a warm run. */
function warmEnv(warm: WarmRun | undefined): Record<string, string> {
  if (!warm) return { VM_WARM: '' };
  const env: Record<string, string> = { VM_WARM: warm.mode, VM_WARM_FILE: warm.state };
  // The state holds the kernel command line and the user network as set up; a plain run must match them.
  if (warm.mode === 'ready-save')
    Object.assign(env, { QEMU_KERNEL_PARAMS: '', QEMU_OPTS: '', QEMU_NET_OPTS: '' });
  return env;
}

export interface Launched {
  child: ChildProcessByStdio<Writable, Readable, Readable>;
  /** The run's scratch directory (TMPDIR of the run script). */
  dir: string;
  agentSocket: string;
  qmpSocket: string;
  /** The FIFO through which stage 2 takes 'poweroff' and 'reboot'. */
  controlFifo: string;
}

/** Unix socket paths are limited to 107 bytes; a long TMPDIR falls back to /tmp. */
function scratchParent(): string {
  const base = tmpdir();
  return base.length <= 60 ? base : '/tmp';
}

export function launch(o: LaunchOptions): Launched {
  const dir = mkdtempSync(join(scratchParent(), 'nx-qemu-vm-test-'));
  mkdirSync(join(dir, 'api'), { mode: 0o700 });
  const { agentSocket, qmpSocket } = apiSockets(dir);
  const child = spawn(
    'setpriv',
    ['--pdeathsig', 'TERM', '--', o.runScript, ...testApiArgs(o, agentSocket, qmpSocket)],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: {
        ...process.env,
        TMPDIR: dir,
        USE_TMPDIR: '1',
        VM_VLAN_NET: o.vlanNet,
        // A throwaway overlay needs no clean power-off: a signal stops QEMU at once.
        VM_STOP_TIMEOUT: o.persistent ? (process.env.VM_STOP_TIMEOUT ?? '10') : '0',
        ...warmEnv(o.warm),
      },
    },
  );
  // Machines do not keep the test process alive: one that a test forgot to
  // stop dies with the process (see above). Calls in progress keep it alive.
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as Socket).unref();
  return { child, dir, agentSocket, qmpSocket, controlFifo: join(dir, 'control', 'control.in') };
}

/** Connects to a unix socket that QEMU creates when it starts; retries until then. */
export async function connectWhenReady(
  path: string,
  gaveUp: () => Error | undefined,
): Promise<Socket> {
  for (;;) {
    const why = gaveUp();
    if (why) throw why;
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const socket = connect({ path });
        socket.once('connect', () => {
          socket.off('error', reject);
          resolve(socket);
        });
        socket.once('error', reject);
      });
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
