// Test API benchmark, side by side in one run, on one machine with both
// our agent and QEMU's guest agent (qemu-ga, from the host's /usr):
//   cold:  startMachines(['vm']) + succeed('true') + dispose   vs  exec-vm-vm true
//   round trip of one command:  succeed('true')               vs  qemu-ga guest-exec + guest-exec-status
//                               (alternately), and succeed('true') back to back
//   10 MiB out of the guest:    copyFromVm                    vs  qemu-ga guest-exec `cat` with captured output
// Usage: npm run bench:testing [-- runs]   (default 5 cold runs; 30 round trips; 5 copies)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { type Socket, connect } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMachines } from '../packages/nx-qemu-vm/src/test-driver';
import { createTempWorkspace } from '../packages/nx-qemu-vm/test/helpers/temp-workspace';
import { runMain } from './run-main';

const runs = Number(process.argv[2] ?? 5);
process.env.VM_ACCEL ??= 'tcg';
const MIB = 1024 * 1024;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs: number[], digits = 2) => xs.map((x) => x.toFixed(digits)).join(' ');
const now = () => Number(process.hrtime.bigint()) / 1e6; // ms

/** qemu-ga speaks QMP's JSON lines without a greeting: one reply per command. */
class GuestAgentClient {
  private buffer = '';
  private waiting: ((line: unknown) => void)[] = [];
  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl).trim();
        this.buffer = this.buffer.slice(nl + 1);
        if (line) this.waiting.shift()?.(JSON.parse(line));
      }
    });
  }
  static async connect(path: string): Promise<GuestAgentClient> {
    const socket = connect({ path });
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const client = new GuestAgentClient(socket);
    await client.call('guest-sync', { id: 4242 });
    return client;
  }
  call(command: string, args?: object): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      this.waiting.push((line) => {
        const reply = line as { error?: { desc: string }; return: Record<string, unknown> };
        if (reply.error) reject(new Error(`${command}: ${reply.error.desc}`));
        else resolve(reply.return);
      });
      this.socket.write(JSON.stringify({ execute: command, arguments: args }) + '\n');
    });
  }
  /** guest-exec, then guest-exec-status until the process ended: the way to run a command with qemu-ga. */
  async exec(command: string): Promise<{ exitcode: number; out: Buffer }> {
    const { pid } = await this.call('guest-exec', {
      path: '/bin/sh',
      arg: ['-c', command],
      'capture-output': true,
    });
    for (;;) {
      const s = await this.call('guest-exec-status', { pid });
      if (s.exited)
        return {
          exitcode: s.exitcode as number,
          out: Buffer.from((s['out-data'] as string | undefined) ?? '', 'base64'),
        };
    }
  }
  close() {
    this.socket.destroy();
  }
}

async function main() {
  const ws = createTempWorkspace(
    { machines: { vm: { graphics: false, qemu: { guestAgent: { enable: true } } } } },
    'nx-qemu-vm-bench-',
  );
  const scratch = mkdtempSync(join(tmpdir(), 'nx-qemu-vm-bench-out-'));
  try {
    const build = ws.nx(['run', 'vm:prepare']);
    if (build.status !== 0) throw new Error(build.output);
    const execScript = join(ws.root, 'dist/vm/vm/bin/exec-vm-vm');
    const exec = () => {
      const start = now();
      const res = spawnSync(execScript, ['true'], { env: process.env, stdio: 'ignore' });
      if (res.status !== 0) throw new Error(`exec-vm-vm true: status ${res.status}`);
      return (now() - start) / 1000;
    };
    const api = async () => {
      const start = now();
      const vms = await startMachines(['vm'], { workspaceRoot: ws.root });
      await vms.machines.vm.succeed('true');
      await vms.shutdown();
      return (now() - start) / 1000;
    };
    const apiNoBuild = async () => {
      const start = now();
      const vms = await startMachines(['vm'], { workspaceRoot: ws.root, build: false });
      await vms.machines.vm.succeed('true');
      await vms.shutdown();
      return (now() - start) / 1000;
    };
    exec(); // the first boot formats the root disk; not measured
    const cold = { exec: [] as number[], api: [] as number[], apiNoBuild: [] as number[] };
    for (let i = 0; i < runs; i++) {
      // Interleaved, so drift in the machine's load hits all alike.
      cold.exec.push(exec());
      cold.api.push(await api());
      cold.apiNoBuild.push(await apiNoBuild());
    }

    const vms = await startMachines(['vm'], { workspaceRoot: ws.root, build: false });
    const vm = vms.machines.vm;
    const qga = await GuestAgentClient.connect(vm.qemuGuestAgentSocket!);
    const trips = { agent: [] as number[], qga: [] as number[] };
    await vm.succeed('true');
    await qga.exec('true');
    for (let i = 0; i < runs * 6; i++) {
      let start = now();
      await vm.succeed('true');
      trips.agent.push(now() - start);
      start = now();
      const r = await qga.exec('true');
      if (r.exitcode !== 0) throw new Error('qemu-ga: true failed');
      trips.qga.push(now() - start);
    }

    // Back to back: the guest has no pause in which to prepare the next command.
    const backToBack: number[] = [];
    for (let i = 0; i < runs * 6; i++) {
      const start = now();
      await vm.succeed('true');
      backToBack.push(now() - start);
    }

    await vm.succeed('head -c 10485760 /dev/urandom > /tmp/blob');
    const copies = { copyFromVm: [] as number[], execute: [] as number[], qga: [] as number[] };
    for (let i = 0; i < runs; i++) {
      rmSync(join(scratch, 'blob'), { force: true });
      let start = now();
      await vm.copyFromVm('/tmp/blob', scratch);
      copies.copyFromVm.push(now() - start);
      if (statSync(join(scratch, 'blob')).size !== 10 * MIB) throw new Error('copy is short');
      start = now();
      const out = await vm.execute('cat /tmp/blob', { encoding: 'buffer' });
      copies.execute.push(now() - start);
      if (out.stdout.length !== 10 * MIB) throw new Error('execute output is short');
      start = now();
      const r = await qga.exec('cat /tmp/blob');
      copies.qga.push(now() - start);
      if (r.out.length !== 10 * MIB) throw new Error(`qemu-ga output is ${r.out.length} bytes`);
    }
    qga.close();
    await vms.shutdown();

    const rate = (ms: number) => (10 / (ms / 1000)).toFixed(1);
    const m = (xs: number[]) => median(xs);
    console.log(
      `test API benchmark: accel=${process.env.VM_ACCEL}, ${cpus().length} x ${cpus()[0]?.model}`,
    );
    console.log(`cold, ${runs} runs each (s):`);
    console.log(
      `  exec-vm-vm true                                   median ${m(cold.exec).toFixed(2)}   [${fmt(cold.exec)}]   1.00x`,
    );
    console.log(
      `  startMachines + succeed('true') + dispose        median ${m(cold.api).toFixed(2)}   [${fmt(cold.api)}]   ${(m(cold.api) / m(cold.exec)).toFixed(2)}x`,
    );
    console.log(
      `  the same with build: false (no Nx)               median ${m(cold.apiNoBuild).toFixed(2)}   [${fmt(cold.apiNoBuild)}]   ${(m(cold.apiNoBuild) / m(cold.exec)).toFixed(2)}x`,
    );
    console.log(`round trip of one command, ${trips.agent.length} each (ms):`);
    console.log(
      `  succeed('true')                                  median ${m(trips.agent).toFixed(1)}   min ${Math.min(...trips.agent).toFixed(1)}   (goal <= 40)`,
    );
    console.log(
      `  succeed('true') back to back                     median ${m(backToBack).toFixed(1)}   min ${Math.min(...backToBack).toFixed(1)}`,
    );
    console.log(
      `  qemu-ga guest-exec + guest-exec-status           median ${m(trips.qga).toFixed(1)}   min ${Math.min(...trips.qga).toFixed(1)}   ${(m(trips.qga) / m(trips.agent)).toFixed(2)}x ours`,
    );
    console.log(`10 MiB out of the guest, ${runs} each (ms, MiB/s):`);
    console.log(
      `  copyFromVm (tar over the agent)                  median ${m(copies.copyFromVm).toFixed(0)}   ${rate(m(copies.copyFromVm))} MiB/s   (goal >= 20)`,
    );
    console.log(
      `  execute('cat', { encoding: 'buffer' })           median ${m(copies.execute).toFixed(0)}   ${rate(m(copies.execute))} MiB/s`,
    );
    console.log(
      `  qemu-ga guest-exec cat, captured output          median ${m(copies.qga).toFixed(0)}   ${rate(m(copies.qga))} MiB/s   ${(m(copies.qga) / m(copies.copyFromVm)).toFixed(2)}x ours`,
    );
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    ws.remove();
  }
}

runMain(main);
