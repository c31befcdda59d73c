// The QEMU arguments the test API adds to a machine's own: the agent's
// virtio port, a QMP socket, the serial console on the run script's stdio
// with a log file, no display, and -snapshot unless the test keeps its disks.
// The warm target saves its test-API state with the same arguments, so that
// a restore finds the devices it saved.
import { join } from 'node:path';
import { AGENT_PORT, SERIAL_BUS } from '../contract/host-guest';
import { qemuEscape } from '../quote/qemu';

export interface TestApiArgOptions {
  graphics: boolean;
  persistent: boolean;
  consoleLog: string;
}

/** The saved boot's console beside a warm state: a restored boot's console starts with it. */
export const warmConsoleFile = (stateFile: string) => `${stateFile}.console`;

/** The API's sockets in a run's scratch directory; a warm state's key sees them only as <scratch>/api/... */
export function apiSockets(dir: string): { agentSocket: string; qmpSocket: string } {
  return { agentSocket: join(dir, 'api', 'agent.sock'), qmpSocket: join(dir, 'api', 'qmp.sock') };
}

export function testApiArgs(
  o: TestApiArgOptions,
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
