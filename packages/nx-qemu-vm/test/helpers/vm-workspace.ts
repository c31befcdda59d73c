// A temporary workspace whose machines are built through the real Nx CLI and
// booted for real (TCG) through their generated scripts.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createTempWorkspace, type TempWorkspace } from './temp-workspace';

export interface GuestRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface VmWorkspace extends TempWorkspace {
  /** Builds the scripts and initrds of all machines; throws with Nx's output on failure. */
  buildAll(): void;
  execScript(machine: string): string;
  /** Runs exec-<machine>-vm and waits for it. */
  exec(machine: string, command: string, env?: Record<string, string>): GuestRun;
  /** Starts exec-<machine>-vm and resolves when it ends, so the test can act meanwhile. */
  execAsync(machine: string, command: string, env?: Record<string, string>): Promise<GuestRun>;
  consoleLog(machine: string): string;
}

// TCG everywhere: our machines' KVM is broken, and the probe is tested elsewhere.
const BOOT_ENV = { VM_ACCEL: 'tcg', VM_EXEC_TIMEOUT: '240' };

/**
 * NXQV_WARM=1 runs the suites warm: every machine that can (warmStart's rule)
 * gets warmStart, and buildAll saves its state, so that exec restores it.
 */
const WARM = process.env.NXQV_WARM === '1';
const canStartWarm = (m: Record<string, unknown>) =>
  (m.arch ?? 'x86_64-linux') === 'x86_64-linux' &&
  !m.useBootLoader &&
  !m.useEFIBoot &&
  (m.initrd ?? null) === null;

export const warmed = (given: Record<string, object>): Record<string, object> =>
  WARM
    ? Object.fromEntries(
        Object.entries(given).map(([name, m]) => [
          name,
          canStartWarm(m as Record<string, unknown>) ? { warmStart: true, ...m } : m,
        ]),
      )
    : given;

export function createVmWorkspace(given: Record<string, object>): VmWorkspace {
  const machines = warmed(given);
  const ws = createTempWorkspace({ machines }, 'nx-qemu-vm-e2e-') as VmWorkspace;
  // A test that rewrites the config keeps its machines warm too.
  const writeConfig = ws.writeConfig.bind(ws);
  ws.writeConfig = (config) => {
    const c = config as { machines?: Record<string, object> };
    writeConfig(c.machines ? { ...c, machines: warmed(c.machines) } : config);
  };
  const env = (extra: Record<string, string>) => ({
    ...process.env,
    ...BOOT_ENV,
    HOME: ws.root,
    ...extra,
  });
  ws.buildAll = () => {
    const res = ws.nx([
      'run-many',
      '-t',
      'build',
      'initrd',
      '--projects',
      Object.keys(machines).join(','),
    ]);
    if (res.status !== 0) throw new Error(`nx run-many failed:\n${res.output}`);
    // A machine whose state cannot be saved (a fault a test injects) boots cold.
    if (WARM)
      ws.nx(['run-many', '-t', 'warm', 'test-warm', '--projects', Object.keys(machines).join(',')]);
  };
  ws.execScript = (machine) => join(ws.root, 'dist/vm', machine, 'bin', `exec-${machine}-vm`);
  ws.exec = (machine, command, extra = {}) => {
    const res = spawnSync(ws.execScript(machine), [command], {
      encoding: 'utf8',
      timeout: 300_000,
      env: env(extra),
    });
    return { status: res.status, stdout: res.stdout, stderr: res.stderr };
  };
  ws.execAsync = (machine, command, extra = {}) =>
    new Promise((resolve) => {
      const child = spawn(ws.execScript(machine), [command], {
        env: env(extra),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGTERM'), 300_000);
      child.on('close', (status) => {
        clearTimeout(timer);
        resolve({ status, stdout, stderr });
      });
    });
  ws.consoleLog = (machine) =>
    spawnSync('cat', [join(ws.root, '.vm', machine, 'last-exec-console.log')], { encoding: 'utf8' })
      .stdout;
  return ws;
}
