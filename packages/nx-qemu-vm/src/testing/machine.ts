// One running machine of the test API: what a test does with it. Commands go
// through the guest agent, devices through QMP, typing through the serial
// console (machine-process.ts holds the process and those channels). Every
// failure names the machine, what was asked, and the console log, and keeps
// artifacts under dist/vm/<m>/test-artifacts. The file is the machine's
// whole public API, one method each, hence its length.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { type RunInGuest, copyFromGuest, copyToGuest } from './copy';
import {
  CommandError,
  MachineError,
  MachineNotRunningError,
  TimeoutError,
  UnitError,
  outputSections,
} from './errors';
import {
  fileExistsCommand,
  portOpenCommand,
  serviceLogCommand,
  serviceStatusCommand,
} from './guest-commands';
import { keepAlive } from './keep-alive';
import { keyForChar } from './keys';
import type { LaunchOptions } from './launch';
import { MachineProcess } from './machine-process';
import { type Verdict, serviceVerdict } from './readiness';
import { type ActiveState, systemctlWords } from './systemd';
import * as calls from './systemd-calls';
import type { SystemdGuest, UserOption } from './systemd-calls';
import { addForward, screendump, sendKeyCombination, setLinks } from './qmp-actions';
import type { ExecuteBufferOptions, ExecuteResult, ExecuteTextOptions, WaitOptions } from './types';

export interface MachineSpec extends LaunchOptions {
  name: string;
  /** dist/vm/<m>/test-artifacts, absolute. */
  artifactsDir: string;
  vlanNetdevs: string[];
  /** The user network's netdev id, when the machine has the default user network. */
  userNetdev: string | undefined;
  /** qemu.guestAgent.enable: QEMU has a socket to qemu-ga in the guest. */
  guestAgent: boolean;
  /** The declared services, in start order. */
  services: string[];
  /** The machine's address on each of its vlans, in the order of its config. */
  addresses: { vlan: number; address: string }[];
  /** "init": "systemd": systemd is PID 1. */
  systemd: boolean;
  /** Seconds start() gives a boot by default (startMachines' timeout). */
  bootTimeout: number;
}

/** Seconds a command may run: as long as NixOS's driver allows (an apt-get install may take minutes). */
const DEFAULT_TIMEOUT = 900;
/**
 * Seconds a wait tries before it fails: long enough for a service to start
 * under TCG (a Node.js server takes 2 to 10 s there), short enough that the
 * wait's own message (the last try, the console) comes before a test
 * runner's limit would (see the package README, "Timeouts").
 */
const DEFAULT_WAIT_TIMEOUT = 120;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const stamp = () => new Date().toISOString().replace(/[:.]/g, '-');

export class Machine {
  readonly name: string;
  readonly consoleLog: string;
  private readonly proc: MachineProcess;
  private artifactsKept = 0;
  private starting: Promise<void> | undefined;

  private constructor(private readonly spec: MachineSpec) {
    this.name = spec.name;
    this.consoleLog = spec.consoleLog;
    this.proc = new MachineProcess(spec.name, spec.consoleLog, spec);
  }

  /**
   * The socket of QEMU's guest agent (qemu-ga) in this machine, for tools of
   * your own, when the machine enables it (qemu.guestAgent.enable).
   */
  get qemuGuestAgentSocket(): string | undefined {
    return this.spec.guestAgent ? join(this.proc.controlDir, 'qga.sock') : undefined;
  }

  /** @internal What the run script said about its accelerator, for startMachines' one line. */
  get acceleratorSaid(): string | undefined {
    return this.proc.accelerator;
  }

  /** A machine that start() boots. */
  static create(spec: MachineSpec): Machine {
    return new Machine(spec);
  }

  /** Boots a machine and resolves once its agent answers. */
  static async boot(spec: MachineSpec, timeoutSeconds: number): Promise<Machine> {
    const m = new Machine(spec);
    await m.proc.boot(timeoutSeconds);
    return m;
  }

  /**
   * Boots the machine (one of startMachines(names, { start: false }), or one
   * that was shut down or crashed), on its disks as they were left; resolves
   * once its agent answers. A machine that is up stays as it is.
   */
  async start(options: WaitOptions = {}): Promise<void> {
    if (this.isUp()) return;
    this.starting ??= keepAlive(() =>
      this.proc.boot(options.timeout ?? this.spec.bootTimeout),
    ).finally(() => (this.starting = undefined));
    await this.starting;
  }

  /** The machine runs and its agent answered. */
  isUp(): boolean {
    return this.proc.up;
  }

  /** Until the machine powers off by itself (e.g. \`poweroff\` in the guest); at once if it is not running. */
  async waitForShutdown(options: WaitOptions = {}): Promise<void> {
    await keepAlive(() => this.proc.waitForShutdown(options.timeout ?? DEFAULT_WAIT_TIMEOUT));
  }

  private async failed(err: unknown): Promise<never> {
    // Misuse after a stop is the test's own error: nothing of the machine to keep.
    const worthKeeping = err instanceof MachineError && !(err instanceof MachineNotRunningError);
    if (worthKeeping && !err.artifacts && this.artifactsKept < 10) {
      this.artifactsKept++;
      err.artifacts = await this.captureArtifacts(err.name);
      err.message += `\nartifacts: ${err.artifacts}`;
    }
    throw err;
  }

  execute(command: string, options: ExecuteBufferOptions): Promise<ExecuteResult<Buffer>>;
  execute(command: string, options?: ExecuteTextOptions): Promise<ExecuteResult<string>>;
  execute(
    command: string,
    options: ExecuteTextOptions | ExecuteBufferOptions = {},
  ): Promise<ExecuteResult<string | Buffer>> {
    return keepAlive(() => this.run(command, options).catch((err) => this.failed(err)));
  }

  private async run(
    command: string,
    options: ExecuteTextOptions | ExecuteBufferOptions,
    stdinStream?: AsyncIterable<Buffer>,
  ): Promise<ExecuteResult<string | Buffer>> {
    const channel = this.proc.channel('execute a command');
    const seconds = options.timeout ?? DEFAULT_TIMEOUT;
    const asText = options.encoding !== 'buffer';
    const seen = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
    const relay = (stream: 'stdout' | 'stderr', callback?: (chunk: never) => void) => {
      const decoder = new StringDecoder('utf8');
      return (chunk: Buffer) => {
        seen[stream].push(chunk);
        callback?.((asText ? decoder.write(chunk) : chunk) as never);
      };
    };
    const input = options.input === undefined ? stdinStream : Buffer.from(options.input);
    const running = channel.run(command, {
      stdin: input,
      onStdout: relay('stdout', options.onStdout),
      onStderr: relay('stderr', options.onStderr),
    });
    try {
      const r = await this.proc.withTimeout(
        running.result,
        seconds,
        `execute(${JSON.stringify(command)})`,
      );
      const convert = (b: Buffer) => (asText ? b.toString() : b);
      return {
        status: r.status,
        signal: r.signal,
        stdout: convert(r.stdout),
        stderr: convert(r.stderr),
      };
    } catch (err) {
      if (!(err instanceof TimeoutError)) throw err;
      running.kill(9);
      await Promise.race([running.result.catch(() => undefined), sleep(5000)]);
      throw new TimeoutError(
        this.name,
        `execute(${JSON.stringify(command)}); the command was killed`,
        seconds,
        outputSections(Buffer.concat(seen.stdout), Buffer.concat(seen.stderr)),
        this.consoleLog,
      );
    }
  }

  succeed(command: string, options: ExecuteBufferOptions): Promise<Buffer>;
  succeed(command: string, options?: ExecuteTextOptions): Promise<string>;
  async succeed(
    command: string,
    options: ExecuteTextOptions | ExecuteBufferOptions = {},
  ): Promise<string | Buffer> {
    const r = await this.execute(command, options as ExecuteTextOptions);
    if (r.status === 0) return r.stdout;
    return this.commandFailed(command, r, 'success');
  }

  /** Rejects with what a person needs: the command, its status and output, the console log. */
  private commandFailed(
    command: string,
    r: ExecuteResult<string | Buffer>,
    wanted: 'success' | 'failure',
  ): Promise<never> {
    return this.failed(
      new CommandError(
        this.name,
        command,
        r.status,
        r.stdout,
        r.stderr,
        r.signal,
        this.consoleLog,
        wanted,
      ),
    );
  }

  fail(command: string, options: ExecuteBufferOptions): Promise<Buffer>;
  fail(command: string, options?: ExecuteTextOptions): Promise<string>;
  async fail(
    command: string,
    options: ExecuteTextOptions | ExecuteBufferOptions = {},
  ): Promise<string | Buffer> {
    const r = await this.execute(command, options as ExecuteTextOptions);
    if (r.status !== 0) return r.stderr;
    return this.commandFailed(command, r, 'failure');
  }

  /** Runs `command` every second until its status is 0 (or not 0); returns the last stdout. */
  private async retry(
    command: string,
    want: 'success' | 'failure',
    what: string,
    options: WaitOptions,
  ) {
    const seconds = options.timeout ?? DEFAULT_WAIT_TIMEOUT;
    const deadline = Date.now() + seconds * 1000;
    return keepAlive(async () => {
      let last = undefined as ExecuteResult<string> | undefined;
      while (Date.now() < deadline) {
        const left = Math.max(1, Math.ceil((deadline - Date.now()) / 1000));
        try {
          last = (await this.run(command, { timeout: left })) as ExecuteResult<string>;
        } catch (err) {
          if (!(err instanceof TimeoutError)) return this.failed(err);
          break;
        }
        if ((last.status === 0) === (want === 'success')) return last.stdout;
        await sleep(Math.min(1000, Math.max(0, deadline - Date.now())));
      }
      const detail = last
        ? `; the last try ended with status ${last.status}${outputSections(last.stdout, last.stderr)}`
        : '';
      return this.failed(new TimeoutError(this.name, what, seconds, detail, this.consoleLog));
    });
  }

  waitUntilSucceeds(command: string, options: WaitOptions = {}): Promise<string> {
    return this.retry(command, 'success', `waitUntilSucceeds(${JSON.stringify(command)})`, options);
  }

  waitUntilFails(command: string, options: WaitOptions = {}): Promise<string> {
    return this.retry(command, 'failure', `waitUntilFails(${JSON.stringify(command)})`, options);
  }

  waitForOpenPort(port: number, options: WaitOptions & { address?: string } = {}): Promise<void> {
    return this.waitForPort(port, 'success', 'waitForOpenPort', options);
  }

  waitForClosedPort(port: number, options: WaitOptions & { address?: string } = {}): Promise<void> {
    return this.waitForPort(port, 'failure', 'waitForClosedPort', options);
  }

  private async waitForPort(
    port: number,
    outcome: 'success' | 'failure',
    method: string,
    options: WaitOptions & { address?: string },
  ): Promise<void> {
    const address = options.address ?? '127.0.0.1';
    await this.retry(
      portOpenCommand(port, address),
      outcome,
      `${method}(${port}) on ${address}`,
      options,
    );
  }

  async waitForFile(path: string, options: WaitOptions = {}): Promise<void> {
    await this.retry(
      fileExistsCommand(path),
      'success',
      `waitForFile(${JSON.stringify(path)})`,
      options,
    );
  }

  waitForConsoleText(pattern: RegExp, options: WaitOptions = {}): Promise<RegExpExecArray> {
    const seconds = options.timeout ?? DEFAULT_WAIT_TIMEOUT;
    const what = `waitForConsoleText(${String(pattern)})`;
    return keepAlive(async () => {
      const text = this.proc.console;
      this.proc.channel(what);
      let stop = () => undefined as unknown;
      const found = new Promise<RegExpExecArray>((resolveFound) => {
        const look = () => {
          const m = text.take(pattern);
          if (m) resolveFound(m);
          return m;
        };
        if (!look()) stop = text.onText(look);
      });
      try {
        return await this.proc.withTimeout(found, seconds, what);
      } catch (err) {
        if (err instanceof TimeoutError)
          err.message += `\n--- console (last lines) ---\n${text.tail()}`;
        return this.failed(err);
      } finally {
        stop();
      }
    });
  }

  /**
   * The machine's address on a vlan (by default its first), the one its
   * peers' /etc/hosts give its name.
   */
  address(vlan?: number): string {
    const all = this.spec.addresses;
    const found = vlan === undefined ? all[0] : all.find((a) => a.vlan === vlan);
    if (!found)
      throw new MachineError(
        this.name,
        all.length
          ? `address(${vlan}): the machine is not on vlan ${vlan}; its vlans: ${all.map((a) => a.vlan).join(', ')}`
          : 'address(): the machine is on no vlan (add "vlans": [1] to its config)',
      );
    return found.address;
  }

  /**
   * Waits until a declared service is ready (its \`ready\` check passed);
   * rejects at once, with its log, when it failed or exited.
   */
  waitForService(name: string, options: WaitOptions = {}): Promise<void> {
    const what = `waitForService(${JSON.stringify(name)})`;
    if (!this.spec.services.includes(name))
      return this.failed(
        new MachineError(
          this.name,
          `${what}: no such service; its services: ${this.spec.services.join(', ') || 'none (declare them under "services")'}`,
          this.consoleLog,
        ),
      );
    const report = { command: serviceLogCommand(name), title: 'its log (last lines)' };
    return this.pollGuest(what, options, serviceStatusCommand(name), serviceVerdict, report);
  }

  /** What the systemd calls (systemd-calls.ts) use of this machine. */
  private get systemdGuest(): SystemdGuest {
    return {
      ...this.spec,
      execute: (command, options) => this.execute(command, options),
      succeed: (command) => this.succeed(command),
      waitForService: (name, options) => this.waitForService(name, options),
      poll: (...args) => this.pollGuest(...args),
      failed: (err) => this.failed(err),
    };
  }

  /** systemctl in the guest ("init": "systemd"): `{ status, stdout }`. */
  systemctl(args: string | readonly string[], options: WaitOptions & UserOption = {}) {
    const what = `systemctl(${JSON.stringify(args)})`;
    return calls.systemctl(this.systemdGuest, what, systemctlWords(args), options);
  }

  /** `systemctl start UNIT`, as NixOS's start_job: `{ status, stdout }`. */
  startJob(unit: string, options: WaitOptions & UserOption = {}) {
    const what = `startJob(${JSON.stringify(unit)})`;
    return calls.systemctl(this.systemdGuest, what, ['start', '--', unit], options);
  }

  stopJob(unit: string, options: WaitOptions & UserOption = {}) {
    const what = `stopJob(${JSON.stringify(unit)})`;
    return calls.systemctl(this.systemdGuest, what, ['stop', '--', unit], options);
  }

  /**
   * Waits until a unit is active, as NixOS's wait_for_unit: rejects at once
   * with the unit's status and journal when it failed, is unknown, or is
   * inactive with no job pending. Without systemd: a declared service.
   */
  waitForUnit(unit: string, options: WaitOptions & UserOption = {}): Promise<void> {
    return calls.waitForUnit(this.systemdGuest, unit, options);
  }

  /** The unit's properties (`systemctl show`); without systemd, a declared service's state. */
  getUnitInfo(unit: string, options: UserOption = {}): Promise<Record<string, string>> {
    return calls.getUnitInfo(this.systemdGuest, unit, options);
  }

  /** Rejects unless the unit's ActiveState is `state`, as NixOS's require_unit_state. */
  requireUnitState(unit: string, state: ActiveState = 'active', options: UserOption = {}) {
    return calls.requireUnitState(this.systemdGuest, unit, state, options);
  }

  /**
   * Runs a guest command every half second until its verdict is done; a
   * failure or a timeout shows the report command's output.
   */
  private pollGuest(
    what: string,
    options: WaitOptions,
    command: string,
    verdict: (stdout: string) => Verdict,
    report: { command: string; title: string },
    unit?: string,
  ): Promise<void> {
    const seconds = options.timeout ?? DEFAULT_WAIT_TIMEOUT;
    const deadline = Date.now() + seconds * 1000;
    const reportText = async () => {
      const r = (await this.run(report.command, { timeout: 60 })) as ExecuteResult<string>;
      return outputSections(r.stdout, r.stderr).replace('--- stdout', `--- ${report.title}`);
    };
    return keepAlive(async () => {
      try {
        while (Date.now() < deadline) {
          const left = Math.max(1, Math.ceil((deadline - Date.now()) / 1000));
          const r = (await this.run(command, { timeout: left })) as ExecuteResult<string>;
          const v = verdict(r.stdout);
          if (v === 'done') return;
          if (v !== 'wait') {
            const message = `${what}: ${v.failed}${await reportText()}`;
            throw unit === undefined
              ? new MachineError(this.name, message, this.consoleLog)
              : new UnitError(this.name, unit, message, this.consoleLog);
          }
          await sleep(Math.min(500, Math.max(0, deadline - Date.now())));
        }
        throw new TimeoutError(this.name, what, seconds, await reportText(), this.consoleLog);
      } catch (err) {
        return this.failed(err);
      }
    });
  }

  copyToVm(hostPath: string, guestPath: string, options: WaitOptions = {}): Promise<void> {
    return keepAlive(() => copyToGuest(this.runForCopy(options), hostPath, guestPath)).catch(
      (err: Error) => this.failed(this.wrap(err, `copyToVm(${JSON.stringify(hostPath)})`)),
    );
  }

  copyFromVm(guestPath: string, hostDir: string, options: WaitOptions = {}): Promise<string> {
    return keepAlive(() => copyFromGuest(this.runForCopy(options), guestPath, hostDir)).catch(
      (err: Error) => this.failed(this.wrap(err, `copyFromVm(${JSON.stringify(guestPath)})`)),
    );
  }

  private runForCopy(options: WaitOptions): RunInGuest {
    return async (command, o) =>
      (await this.run(
        command,
        { timeout: options.timeout, encoding: 'buffer', onStdout: o.onStdout },
        o.stdin,
      )) as ExecuteResult<Buffer>;
  }

  private wrap(err: Error, what: string): MachineError {
    return err instanceof MachineError
      ? err
      : new MachineError(this.name, `${what}: ${err.message}`, this.consoleLog);
  }

  async screenshot(file: string): Promise<string> {
    if (!this.spec.graphics)
      throw new MachineError(
        this.name,
        'screenshot: the machine has no display (graphics: false)',
        this.consoleLog,
      );
    const path = resolve(file);
    await keepAlive(() => screendump(this.proc.qmp('take a screenshot'), path));
    return path;
  }

  async sendKeys(...combinations: string[]): Promise<void> {
    const qmp = this.proc.qmp('send keys');
    await keepAlive(async () => {
      for (const c of combinations) await sendKeyCombination(qmp, c);
    });
  }

  /** Types `text` on the serial console (default), or on the keyboard as key presses. */
  async sendChars(text: string, options: { to?: 'console' | 'keyboard' } = {}): Promise<void> {
    if (options.to === 'keyboard') return this.sendKeys(...[...text].map(keyForChar));
    await keepAlive(() => this.proc.writeConsole(text));
  }

  private async vlanLinks(up: boolean): Promise<void> {
    if (!this.spec.vlanNetdevs.length)
      throw new MachineError(
        this.name,
        `${up ? 'unblock' : 'block'}: the machine is on no vlan`,
        this.consoleLog,
      );
    const qmp = this.proc.qmp(up ? 'unblock' : 'block');
    await keepAlive(() => setLinks(qmp, this.spec.vlanNetdevs, up));
  }

  /** Takes the machine's vlan links down: it is cut off from the other machines. */
  async block(): Promise<void> {
    return this.vlanLinks(false);
  }

  async unblock(): Promise<void> {
    return this.vlanLinks(true);
  }

  /** Forwards 127.0.0.1:hostPort (a free one by default) to guestPort; returns the host port. */
  async forwardPort(guestPort: number, hostPort?: number): Promise<number> {
    const netdev = this.spec.userNetdev;
    if (!netdev)
      throw new MachineError(
        this.name,
        'forwardPort: the machine replaces the user network (qemu.networkingOptions)',
        this.consoleLog,
      );
    const qmp = this.proc.qmp('forward a port');
    return keepAlive(() => addForward(qmp, netdev, guestPort, hostPort));
  }

  /** A clean power-off: the guest syncs and stops; after `timeout` seconds (default 60), crash(). */
  async shutdown(options: { timeout?: number } = {}): Promise<void> {
    await keepAlive(() => this.proc.shutdown(options.timeout ?? 60));
  }

  /** Stops QEMU at once, like pulling the plug. */
  async crash(): Promise<void> {
    await keepAlive(() => this.proc.crash());
  }

  /** A clean reboot; resolves once the agent of the new boot answers. */
  async reboot(options: WaitOptions = {}): Promise<void> {
    await keepAlive(() => this.proc.reboot(options.timeout ?? DEFAULT_TIMEOUT)).catch((err) =>
      this.failed(err),
    );
  }

  /** Stops at once through the run script (which removes its scratch files); used by dispose. */
  async stopNow(): Promise<void> {
    await keepAlive(() => this.proc.stopNow());
  }

  /** Keeps the console log so far and, for graphics machines, a screenshot; returns the directory. */
  async captureArtifacts(label = 'capture'): Promise<string> {
    const dir = join(
      this.spec.artifactsDir,
      `${stamp()}-${label.replace(/[^A-Za-z0-9_-]+/g, '-')}`,
    );
    mkdirSync(dir, { recursive: true });
    if (existsSync(this.consoleLog)) copyFileSync(this.consoleLog, join(dir, 'console.log'));
    const qmp = this.proc.runningQmp;
    if (this.spec.graphics && qmp)
      await screendump(qmp, join(dir, 'screen.png')).catch(() => undefined);
    return dir;
  }
}
