// Boots one machine for the test API through its own run script, so a test
// boots exactly what `nx run <m>:start` boots, locks and all. The script gets
// a private scratch directory (TMPDIR with USE_TMPDIR=1) that also holds the
// API's sockets, and these QEMU arguments on top of the machine's: the
// agent's virtio port, a QMP socket, the serial console on the script's stdio
// with a log file, -display none for graphics machines and -snapshot unless
// the test asks for persistent disks. setpriv hands the script SIGTERM when
// this process dies, however it dies, and the script then stops QEMU.
// With a warm state (warmStart), the script restores it instead of booting:
// the same arguments, VM_WARM=restore, and the state saved for the test API.
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { SERIAL_BUS } from '../qemu/argv';
import { qemuEscape } from '../quote/qemu';
import { AGENT_PORT } from './agent-protocol';

export interface LaunchOptions {
  runScript: string;
  graphics: boolean;
  persistent: boolean;
  consoleLog: string;
  /** The first three numbers of the vlans' multicast group: machines of one start share it. */
  vlanNet: string;
  /** The warm state to restore (dist/vm/<m>/warm/test-state), or undefined to boot cold. */
  warmState?: string;
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

/** The saved boot's console beside a warm state: a restored boot's console starts with it. */
export const warmConsoleFile = (stateFile: string) => `${stateFile}.console`;

/** The API's sockets in a run's scratch directory; a warm state's key sees them only as <scratch>/api/... */
export function apiSockets(dir: string): { agentSocket: string; qmpSocket: string } {
  return { agentSocket: join(dir, 'api', 'agent.sock'), qmpSocket: join(dir, 'api', 'qmp.sock') };
}

export function qemuArgs(
  o: Pick<LaunchOptions, 'graphics' | 'persistent' | 'consoleLog'>,
  agentSocket: string,
  qmpSocket: string,
): string[] {
  return [
    '-chardev',
    `socket,id=nxvm-agent,path=${qemuEscape(agentSocket)},server=on,wait=off`,
    '-device',
    `virtserialport,bus=${SERIAL_BUS}.0,chardev=nxvm-agent,name=${AGENT_PORT}`,
    '-qmp',
    `unix:${qemuEscape(qmpSocket)},server=on,wait=off`,
    '-chardev',
    // Appended to: a warm start writes the saved boot's console there first.
    `stdio,id=nxvm-console,signal=off,logfile=${qemuEscape(o.consoleLog)},logappend=on`,
    '-serial',
    'chardev:nxvm-console',
    ...(o.graphics ? ['-display', 'none'] : []),
    ...(o.persistent ? [] : ['-snapshot']),
  ];
}

export function launch(o: LaunchOptions): Launched {
  const dir = mkdtempSync(join(scratchParent(), 'nx-qemu-vm-test-'));
  mkdirSync(join(dir, 'api'), { mode: 0o700 });
  const { agentSocket, qmpSocket } = apiSockets(dir);
  const child = spawn(
    'setpriv',
    ['--pdeathsig', 'TERM', '--', o.runScript, ...qemuArgs(o, agentSocket, qmpSocket)],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: {
        ...process.env,
        TMPDIR: dir,
        USE_TMPDIR: '1',
        VM_VLAN_NET: o.vlanNet,
        // A throwaway overlay needs no clean power-off: a signal stops QEMU at once.
        VM_STOP_TIMEOUT: o.persistent ? (process.env.VM_STOP_TIMEOUT ?? '10') : '0',
        ...(o.warmState ? { VM_WARM: 'restore', VM_WARM_FILE: o.warmState } : { VM_WARM: '' }),
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
