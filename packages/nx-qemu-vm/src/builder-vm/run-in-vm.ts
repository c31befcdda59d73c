// NixOS's runInLinuxVM for a Debian host: boot the machine's kernel and
// initrd in builder mode, with the host's /usr as the system, run one script
// against the attached disks, and hand back its status and output.
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { InterruptedError, whenInterrupted } from '../host/interruption';
import type { ResolvedMachine } from '../config/resolve';
import { ARCH_PROFILES } from '../config/defaults';
import { qemuEscape } from '../quote/qemu';
import { KERNEL_FLAG_BUILDER } from '../contract/host-guest';

export interface BuilderDisk {
  file: string;
  format: 'raw' | 'qcow2';
}

/**
 * What the builder takes from the machine: its QEMU, console and store. Its
 * memory, disks and the rest do not matter, and neither does its accelerator,
 * which only changes how fast the same bytes are written.
 */
export interface BuilderMachine {
  qemu: Pick<ResolvedMachine['qemu'], 'binary' | 'machine' | 'cpu'>;
  arch: ResolvedMachine['arch'];
  storeSource: string;
}

export function builderMachine(r: ResolvedMachine): BuilderMachine {
  const { binary, machine, cpu } = r.qemu;
  return { qemu: { binary, machine, cpu }, arch: r.arch, storeSource: r.store.source };
}

export interface BuilderRun {
  machine: BuilderMachine;
  /** The machine's accel option; VM_ACCEL overrides it. */
  accel: ResolvedMachine['qemu']['accel'];
  /** Absolute paths of the kernel and the machine's generated initrd. */
  kernel: string;
  initrd: string;
  /** The build script; it runs as root with the host's /usr, in /tmp, and sees xchg as /xchg. */
  script: string;
  /** Files the script finds in /xchg: name -> host path to copy. */
  inputs?: Record<string, string>;
  /** Results the script leaves in /xchg: name -> host path to copy them to on success. */
  results?: Record<string, string>;
  /** Disks in order: the first is /dev/vda. */
  disks: BuilderDisk[];
  timeoutSeconds: number;
  /** Where the console log is kept. */
  consoleLog: string;
  /** Builders holding the same lock file never run at once. */
  lockFile: string;
  sourceDateEpoch: number;
}

export class BuilderError extends Error {}

const tail = (text: string, lines: number) =>
  text
    .split('\n')
    .slice(-lines)
    .map((l) => `  | ${l}`)
    .join('\n');

/** The builder's QEMU arguments (pure). */
export function builderArgv(run: BuilderRun, xchg: string): string[] {
  const r = run.machine;
  const accel = process.env.VM_ACCEL ?? (run.accel === 'kvm' ? 'kvm' : 'tcg');
  // The guest clock starts at SOURCE_DATE_EPOCH and runs on virtual time.
  const rtc = new Date(run.sourceDateEpoch * 1000).toISOString().slice(0, 19);
  const argv = [
    r.qemu.binary,
    '-machine',
    r.qemu.machine,
    '-accel',
    accel,
    '-cpu',
    r.qemu.cpu,
    '-m',
    '512',
    '-smp',
    '1',
    '-nodefaults',
    '-nographic',
    '-no-reboot',
    '-monitor',
    'none',
    '-serial',
    `file:${qemuEscape(run.consoleLog)}`,
    '-rtc',
    `base=${rtc},clock=vm`,
    '-device',
    'virtio-rng-pci',
    '-virtfs',
    `local,path=${qemuEscape(r.storeSource)},security_model=none,mount_tag=store,readonly=on`,
    '-virtfs',
    `local,path=${qemuEscape(xchg)},security_model=none,mount_tag=xchg`,
  ];
  run.disks.forEach((d, i) => {
    argv.push(
      '-drive',
      `id=disk${i},if=none,file=${qemuEscape(d.file)},format=${d.format},cache=unsafe`,
    );
    argv.push('-device', `virtio-blk-pci,drive=disk${i}`);
  });
  argv.push(
    '-kernel',
    run.kernel,
    '-initrd',
    run.initrd,
    '-append',
    `console=${ARCH_PROFILES[r.arch].serial},115200n8 panic=-1 ${KERNEL_FLAG_BUILDER}`,
  );
  return argv;
}

export async function runInBuilderVm(run: BuilderRun): Promise<{ builderLog: string }> {
  for (const [what, path] of [
    ['kernel', run.kernel],
    ['initrd', run.initrd],
  ])
    if (!existsSync(path)) throw new BuilderError(`builder ${what} ${path} is missing`);
  const xchg = mkdtempSync(join(tmpdir(), 'nx-qemu-vm-builder-'));
  try {
    writeFileSync(join(xchg, 'builder.sh'), run.script, { mode: 0o755 });
    for (const [name, source] of Object.entries(run.inputs ?? {}))
      copyFileSync(source, join(xchg, name));
    mkdirSync(dirname(run.consoleLog), { recursive: true });
    mkdirSync(dirname(run.lockFile), { recursive: true });
    const argv = builderArgv(run, xchg);
    // flock(1) serialises builders that share a lock; it waits, it does not fail.
    // The builder gets its own process group, so that a timeout or an
    // interruption stops flock and QEMU alike; setpriv makes each of them die
    // with its parent, should this process be killed outright.
    const child = execa(
      'setpriv',
      [
        '--pdeathsig',
        'KILL',
        '--',
        'flock',
        run.lockFile,
        'setpriv',
        '--pdeathsig',
        'KILL',
        '--',
        ...argv,
      ],
      { reject: false, stdin: 'ignore', all: true, detached: true },
    );
    const stopGroup = () => {
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // already gone
      }
    };
    let timedOut = false;
    let interrupted: string | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      stopGroup();
    }, run.timeoutSeconds * 1000);
    const stopListening = whenInterrupted((why) => {
      interrupted = why;
      stopGroup();
    });
    const result = await child.finally(() => {
      clearTimeout(timer);
      stopListening();
    });
    if (interrupted) throw new InterruptedError('the builder VM', interrupted);
    const console = existsSync(run.consoleLog) ? readFileSync(run.consoleLog, 'utf8') : '';
    const builderLog = existsSync(join(xchg, 'builder.log'))
      ? readFileSync(join(xchg, 'builder.log'), 'utf8')
      : '';
    if (timedOut)
      throw new BuilderError(
        `the builder VM did not finish within ${run.timeoutSeconds} s; last console lines (${run.consoleLog}):\n${tail(console, 25)}`,
      );
    if (result.exitCode !== 0)
      throw new BuilderError(
        `QEMU failed to run the builder VM (exit ${result.exitCode}):\n${tail(result.all ?? '', 15)}`,
      );
    const statusText = existsSync(join(xchg, 'status'))
      ? readFileSync(join(xchg, 'status'), 'utf8').trim()
      : '';
    if (statusText === '')
      throw new BuilderError(
        `the builder VM stopped before the build script finished; last console lines (${run.consoleLog}):\n${tail(console, 25)}`,
      );
    if (statusText !== '0')
      throw new BuilderError(
        `the build script failed with status ${statusText}; its last lines:\n${tail(builderLog.trimEnd(), 25)}`,
      );
    for (const [name, dest] of Object.entries(run.results ?? {})) {
      if (!existsSync(join(xchg, name)))
        throw new BuilderError(`the build script did not leave ${name} in /xchg`);
      copyFileSync(join(xchg, name), dest);
    }
    return { builderLog };
  } finally {
    rmSync(xchg, { recursive: true, force: true });
  }
}
