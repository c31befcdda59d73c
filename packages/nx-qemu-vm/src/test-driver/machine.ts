// One running machine of the test API: what a test does with it. Commands go
// through the guest agent, devices through QMP, typing through the serial
// console (machine-process.ts holds the process and those channels). Every
// failure names the machine, what was asked, and the console log, and keeps
// artifacts under dist/vm/<m>/test-artifacts. The file is the machine's
// whole public API, one method each, hence its length.
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { renderFailurePage } from './failure-page';
import { StringDecoder } from 'node:string_decoder';
import { CommandRefusedError, type Shell } from './agent-protocol';
import { type BufferCommands, type TextCommands, joinOutputs, splitCommands } from './command-list';
import { type RunInGuest, copyFromGuest, copyToGuest } from './copy';
import {
  CommandError,
  MachineError,
  MachineWentDownError,
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
  unixSocketOpenCommand,
} from './guest-commands';
import { keepAlive } from './keep-alive';
import { keyForChar } from './keys';
import type { LaunchOptions } from './launch';
import { MachineProcess } from './machine-process';
import { type Verdict, serviceVerdict } from './readiness';
import {
  humanMonitorCommand,
  ocrImage,
  recognizeText,
  screendumpPpm,
  switchTtyCommand,
  ttyTextCommand,
  withScratchDir,
} from './screen';
import { type ActiveState, systemctlWords } from './systemd';
import * as calls from './systemd-calls';
import type { SystemdGuest, UserOption } from './systemd-calls';
import { addForward, screendump, sendKeyCombination, setLinks } from './qmp-actions';
import type { Transcript } from './transcript';
import type { ShareMount } from './snapshot-commands';
import { type InstallSwap, swapInstallsIfChanged } from './ready-installs';
import type { GuestArch } from '../config/defaults';
import {
  type MachineSnapshot,
  type SnapshotAccess,
  deleteSnapshot,
  restoreSnapshots,
  resumeReadyState,
  takeSnapshots,
} from './snapshots';
import type {
  CommandOptions,
  ExecuteBufferOptions,
  ExecuteResult,
  ExecuteTextOptions,
  WaitOptions,
} from './types';

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
  /** The set's transcript: every command and wait of its machines. */
  transcript: Transcript;
  /** The shell of the test's commands that name none. */
  shell: Shell;
  /** Seconds start() gives a boot by default (startMachines' timeout). */
  bootTimeout: number;
  /** The 9p shares stage 1 mounts, which a snapshot unmounts for the save. */
  shares: ShareMount[];
  arch: GuestArch;
  /** Why this machine cannot be saved in a snapshot, if it cannot. */
  snapshotRefusal: string | undefined;
  /** A ready state's install images, swapped after its restore when they changed. */
  installSwap?: InstallSwap;
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
/** sleep() takes up to a day: a test that waits longer waits for something else. */
const MAX_SLEEP = 86_400;
const status = (r: ExecuteResult<string | Buffer>) => `status ${r.status}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const stamp = (at: Date) => at.toISOString().replace(/[:.]/g, '-');

export class Machine {
  readonly name: string;
  readonly consoleLog: string;
  private readonly proc: MachineProcess;
  private artifactsKept = 0;
  /** The screenshots this test took, for its failure page. */
  private readonly screenshotsTaken: string[] = [];
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
    await m.bootProcess(timeoutSeconds);
    return m;
  }

  /** One boot, or the restore of a ready state and the steps that follow it. */
  private async bootProcess(timeoutSeconds: number): Promise<void> {
    await this.proc.boot(timeoutSeconds);
    if (!this.proc.resumedReadyState) return;
    const access = this.snapshotAccess('resume its ready state');
    try {
      await resumeReadyState(access);
    } catch (err) {
      await this.proc.stopNow();
      throw err;
    }
    if (!this.spec.installSwap) return;
    try {
      await swapInstallsIfChanged(access, this.spec.installSwap);
    } catch (err) {
      // What held an image, or would not mount, is the saved state's: a cold boot has neither.
      const line = `nx-qemu-vm: machine "${this.name}": ${(err as Error).message.split('\n').join(' ')}; booting cold.\n`;
      process.stderr.write(line);
      await this.proc.stopNow();
      appendFileSync(this.consoleLog, line);
      await this.proc.boot(timeoutSeconds);
    }
  }

  /**
   * Boots the machine (one of startMachines(names, { start: false }), or one
   * that was shut down or crashed), on its disks as they were left; resolves
   * once its agent answers. A machine that is up stays as it is. A ready
   * state (warmStart "ready") is restored by the first start only: it has
   * disks of its own, and a machine started again boots cold on the machine's.
   */
  async start(options: WaitOptions = {}): Promise<void> {
    if (this.isUp()) return;
    this.starting ??= keepAlive(() =>
      this.bootProcess(options.timeout ?? this.spec.bootTimeout),
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
      err.artifacts = await this.captureArtifacts(err.name, err.message);
      err.message += `\nartifacts: ${err.artifacts}\nfailure page: ${join(err.artifacts, 'index.html')}`;
    }
    throw err;
  }

  execute(command: string, options: ExecuteBufferOptions): Promise<ExecuteResult<Buffer>>;
  execute(command: string, options?: ExecuteTextOptions): Promise<ExecuteResult<string>>;
  execute(
    command: string,
    options: ExecuteTextOptions | ExecuteBufferOptions = {},
  ): Promise<ExecuteResult<string | Buffer>> {
    return this.step(
      `execute(${JSON.stringify(command)})`,
      () => this.run(command, { ...options, shell: this.shellOf(options) }),
      status,
    );
  }

  /** The test's commands run in the shell it chose; ours (waits, copies) always in sh. */
  private shellOf(options: CommandOptions): Shell {
    return options.shell ?? this.spec.shell;
  }

  /** A step of the test: its line in the transcript, then the artifacts when it failed. */
  private step<T>(what: string, work: () => Promise<T>, outcome?: (r: T) => string): Promise<T> {
    return keepAlive(() =>
      this.spec.transcript.step(this.name, what, work, outcome).catch((err) => this.failed(err)),
    );
  }

  private async run(
    command: string,
    options: ExecuteTextOptions | ExecuteBufferOptions,
    stdinStream?: AsyncIterable<Buffer>,
  ): Promise<ExecuteResult<string | Buffer>> {
    const seconds = options.timeout ?? DEFAULT_TIMEOUT;
    const channel = await this.proc.upChannel('execute a command', seconds);
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
    const shell = options.shell ?? 'sh';
    const running = channel.run(command, {
      shell,
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
      if (err instanceof MachineWentDownError)
        throw new MachineWentDownError(this.name, command, this.consoleLog);
      if (err instanceof CommandRefusedError)
        throw new MachineError(
          this.name,
          `cannot run ${JSON.stringify(command)} with shell '${shell}': ${err.message}`,
          this.consoleLog,
        );
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

  /** Runs the commands in order until one fails; their stdout, one after the other. */
  succeed(...commands: BufferCommands): Promise<Buffer>;
  succeed(...commands: TextCommands): Promise<string>;
  succeed(
    ...args: (string | ExecuteTextOptions | ExecuteBufferOptions)[]
  ): Promise<string | Buffer> {
    return this.each('succeed', args, 'success');
  }

  /** Runs each command, which must succeed (or fail); their stdout (or stderr) joined. */
  private async each(
    method: 'succeed' | 'fail',
    args: (string | ExecuteTextOptions | ExecuteBufferOptions)[],
    wanted: 'success' | 'failure',
  ): Promise<string | Buffer> {
    const { commands, options } = splitCommands(method, args);
    const outputs = [];
    for (const command of commands) {
      const what = `${method}(${JSON.stringify(command)})`;
      const r = await this.step(
        what,
        () => this.run(command, { ...options, shell: this.shellOf(options) }),
        status,
      );
      if ((r.status === 0) !== (wanted === 'success'))
        return this.commandFailed(command, r, wanted);
      outputs.push(wanted === 'success' ? r.stdout : r.stderr);
    }
    return joinOutputs(outputs);
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

  /** Runs the commands in order, each of which must fail; their stderr, one after the other. */
  fail(...commands: BufferCommands): Promise<Buffer>;
  fail(...commands: TextCommands): Promise<string>;
  fail(...args: (string | ExecuteTextOptions | ExecuteBufferOptions)[]): Promise<string | Buffer> {
    return this.each('fail', args, 'failure');
  }

  /** Waits `seconds` in the guest's own time, as NixOS's test driver does (a `sleep` in the guest). */
  async sleep(seconds: number): Promise<void> {
    if (!(seconds >= 0 && seconds <= MAX_SLEEP))
      throw new RangeError(`sleep(${seconds}): seconds from 0 to ${MAX_SLEEP}`);
    const text = Number.isInteger(seconds) ? String(seconds) : seconds.toFixed(3);
    await this.succeed(`sleep ${text}`, { timeout: seconds + 60 });
  }

  /** Runs `command` every second until its status is 0 (or not 0); returns the last stdout. */
  private async retry(
    command: string,
    want: 'success' | 'failure',
    what: string,
    options: CommandOptions,
  ) {
    const seconds = options.timeout ?? DEFAULT_WAIT_TIMEOUT;
    const deadline = Date.now() + seconds * 1000;
    let tries = 0;
    const outcome = () => `ok after ${tries} ${tries === 1 ? 'try' : 'tries'}`;
    return this.step(
      what,
      async () => {
        let last = undefined as ExecuteResult<string> | undefined;
        while (Date.now() < deadline) {
          const left = Math.max(1, Math.ceil((deadline - Date.now()) / 1000));
          tries++;
          try {
            last = (await this.run(command, {
              timeout: left,
              shell: options.shell,
            })) as ExecuteResult<string>;
          } catch (err) {
            // A reboot inside the guest ends a try; the next waits for the new boot.
            if (err instanceof MachineWentDownError) continue;
            if (!(err instanceof TimeoutError)) throw err;
            break;
          }
          if ((last.status === 0) === (want === 'success')) return last.stdout;
          await sleep(Math.min(1000, Math.max(0, deadline - Date.now())));
        }
        const detail = last
          ? `; the last try ended with status ${last.status}${outputSections(last.stdout, last.stderr)}`
          : '';
        throw new TimeoutError(this.name, what, seconds, detail, this.consoleLog);
      },
      outcome,
    );
  }

  waitUntilSucceeds(command: string, options: CommandOptions = {}): Promise<string> {
    const what = `waitUntilSucceeds(${JSON.stringify(command)})`;
    return this.retry(command, 'success', what, { ...options, shell: this.shellOf(options) });
  }

  waitUntilFails(command: string, options: CommandOptions = {}): Promise<string> {
    const what = `waitUntilFails(${JSON.stringify(command)})`;
    return this.retry(command, 'failure', what, { ...options, shell: this.shellOf(options) });
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

  /** Resolves once something listens on the UNIX-domain socket `path` in the guest (a stream socket, unless `datagram`). */
  async waitForOpenUnixSocket(
    path: string,
    options: WaitOptions & { datagram?: boolean } = {},
  ): Promise<void> {
    await this.retry(
      unixSocketOpenCommand(path, options.datagram ?? false),
      'success',
      `waitForOpenUnixSocket(${JSON.stringify(path)})`,
      options,
    );
  }

  /** The serial console's whole text since the machine booted (its console log). */
  getConsoleLog(): string {
    return existsSync(this.consoleLog) ? readFileSync(this.consoleLog, 'utf8') : '';
  }

  /** The first QMP event from now on that `filter` accepts, e.g. `(e) => e.event === 'SHUTDOWN'`. */
  waitForQmpEvent(
    filter: (event: Record<string, unknown>) => boolean,
    options: WaitOptions = {},
  ): Promise<Record<string, unknown>> {
    const seconds = options.timeout ?? DEFAULT_WAIT_TIMEOUT;
    return keepAlive(() =>
      this.proc.qmp('wait for a QMP event').waitForEvent(filter, seconds * 1000),
    ).catch((err: Error) =>
      this.failed(
        /^timed out/.test(err.message)
          ? new TimeoutError(this.name, 'waitForQmpEvent', seconds, '', this.consoleLog)
          : this.wrap(err, 'waitForQmpEvent'),
      ),
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
    return this.step(what, async () => {
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
    return this.step(what, async () => {
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
    this.screenshotsTaken.push(path);
    return path;
  }

  async sendKeys(...combinations: string[]): Promise<void> {
    const qmp = this.proc.qmp('send keys');
    await keepAlive(async () => {
      for (const c of combinations) await sendKeyCombination(qmp, c);
    });
  }

  /**
   * Types `text` on the serial console (default), on the keyboard as key
   * presses, or on virtual console `n` (`to: 'tty'`), which it brings to the
   * screen first.
   */
  async sendChars(
    text: string,
    options: { to?: 'console' | 'keyboard' } | { to: 'tty'; n: number } = {},
  ): Promise<void> {
    if (options.to === 'tty') {
      this.requireDisplay('sendChars to a tty');
      await this.succeed(switchTtyCommand(options.n), { timeout: 60, shell: 'sh' });
    }
    if (options.to === 'keyboard' || options.to === 'tty')
      return this.sendKeys(...[...text].map(keyForChar));
    await keepAlive(() => this.proc.writeConsole(text));
  }

  /** The text on virtual console `n` (tty1 is 1), a line per row of the screen. */
  async getTtyText(n: number): Promise<string> {
    this.requireDisplay('getTtyText');
    return this.succeed(ttyTextCommand(n), { timeout: 60, shell: 'sh' });
  }

  /** Resolves with the console's text once `pattern` matches it. */
  waitUntilTtyMatches(n: number, pattern: RegExp, options: WaitOptions = {}): Promise<string> {
    this.requireDisplay('waitUntilTtyMatches');
    return this.pollText(`waitUntilTtyMatches(${n}, ${String(pattern)})`, pattern, options, () =>
      this.succeed(ttyTextCommand(n), { timeout: 60, shell: 'sh' }),
    );
  }

  /** The screen's text, read by OCR (tesseract, a host package: apt-get install tesseract-ocr). */
  async getScreenText(): Promise<string> {
    this.requireDisplay('getScreenText');
    return keepAlive(() =>
      withScratchDir(async (dir) => {
        await screendumpPpm(this.proc.qmp('read the screen'), join(dir, 'screen.ppm'));
        writeFileSync(join(dir, 'screen.pgm'), ocrImage(readFileSync(join(dir, 'screen.ppm'))));
        return recognizeText(join(dir, 'screen.pgm'));
      }),
    ).catch((err: Error) => this.failed(this.wrap(err, 'getScreenText')));
  }

  /** Resolves with the screen's text once `pattern` matches it (OCR, as getScreenText). */
  waitForText(pattern: RegExp, options: WaitOptions = {}): Promise<string> {
    this.requireDisplay('waitForText');
    return this.pollText(`waitForText(${String(pattern)})`, pattern, options, () =>
      this.getScreenText(),
    );
  }

  /** A command for QEMU's human monitor (HMP), e.g. "info status"; resolves with its output. */
  sendMonitorCommand(command: string): Promise<string> {
    return keepAlive(() =>
      humanMonitorCommand(this.proc.qmp('send a monitor command'), command),
    ).catch((err: Error) =>
      this.failed(this.wrap(err, `sendMonitorCommand(${JSON.stringify(command)})`)),
    );
  }

  /** A QMP command with its arguments; resolves with QEMU's "return" value. */
  qmp(command: string, args?: Record<string, unknown>): Promise<unknown> {
    return keepAlive(() => this.proc.qmp(`QMP ${command}`).execute(command, args, 60_000)).catch(
      (err: Error) => this.failed(this.wrap(err, `qmp(${JSON.stringify(command)})`)),
    );
  }

  private requireDisplay(method: string): void {
    if (!this.spec.graphics)
      throw new MachineError(
        this.name,
        `${method}: the machine has no display, so no screen and no virtual consoles (set "graphics": true)`,
        this.consoleLog,
      );
  }

  /** Reads a text every second until `pattern` matches it; a timeout shows the last text read. */
  private pollText(
    what: string,
    pattern: RegExp,
    options: WaitOptions,
    read: () => Promise<string>,
  ): Promise<string> {
    const seconds = options.timeout ?? DEFAULT_WAIT_TIMEOUT;
    const deadline = Date.now() + seconds * 1000;
    return keepAlive(async () => {
      let last = '';
      while (Date.now() < deadline) {
        last = await read();
        if (pattern.test(last)) return last;
        await sleep(Math.min(1000, Math.max(0, deadline - Date.now())));
      }
      return this.failed(
        new TimeoutError(
          this.name,
          what,
          seconds,
          `\n--- the last text read ---\n${last}`,
          this.consoleLog,
        ),
      );
    });
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

  /**
   * Saves this machine's memory, devices and disks where it runs; restore()
   * brings them back. The machine's shares are unmounted for the save and
   * mounted again. See MachineSet.snapshot() for several machines together.
   */
  snapshot(): Promise<MachineSnapshot> {
    return this.step(
      'snapshot()',
      async () => (await takeSnapshots([this.snapshotAccess('take a snapshot')]))[0],
      (s) => `${s.name}, ${(s.bytes / 1048576).toFixed(0)} MiB`,
    );
  }

  /** Sets the machine back to a snapshot of this run: its commands running now are rejected. */
  restore(snapshot: MachineSnapshot): Promise<void> {
    return this.step(`restore(${snapshot.name})`, () =>
      restoreSnapshots([{ access: this.snapshotAccess('restore a snapshot'), snapshot }]),
    );
  }

  /** Frees what a snapshot holds in the machine's overlay; it cannot be restored after. */
  deleteSnapshot(snapshot: MachineSnapshot): Promise<void> {
    return this.step(`deleteSnapshot(${snapshot.name})`, () =>
      deleteSnapshot(this.snapshotAccess('delete a snapshot'), snapshot),
    );
  }

  /** @internal What snapshots.ts needs of the running machine; throws when it cannot be saved. */
  snapshotAccess(what: string): SnapshotAccess {
    if (this.spec.snapshotRefusal)
      throw new MachineError(
        this.name,
        `cannot ${what}: ${this.spec.snapshotRefusal}`,
        this.consoleLog,
      );
    const run = this.proc.runDir;
    const channel = this.proc.channel(what);
    return {
      name: this.name,
      consoleLog: this.consoleLog,
      arch: this.spec.arch,
      run: run!,
      qmp: this.proc.qmp(what),
      shares: this.spec.shares,
      running: channel.running,
      exec: (command, timeout) => this.run(command, { timeout }) as Promise<ExecuteResult<string>>,
      systemCalls: (calls, timeout) =>
        this.proc.withTimeout(
          channel.systemCalls(calls),
          timeout,
          `${what}: the agent's system calls`,
        ),
      interrupt: (err) => channel.interrupt(err),
      resync: () => this.proc.resync(this.spec.bootTimeout),
    };
  }

  /** Keeps the console log so far and, for graphics machines, a screenshot; returns the directory. */
  async captureArtifacts(label = 'capture', title = label): Promise<string> {
    const takenAt = new Date();
    const dir = join(
      this.spec.artifactsDir,
      `${stamp(takenAt)}-${label.replace(/[^A-Za-z0-9_-]+/g, '-')}`,
    );
    mkdirSync(dir, { recursive: true });
    if (existsSync(this.consoleLog)) copyFileSync(this.consoleLog, join(dir, 'console.log'));
    const transcript = this.spec.transcript.text();
    writeFileSync(join(dir, 'transcript.log'), transcript);
    const screenshots = this.screenshotsTaken.flatMap((file, i) => {
      const name = `screenshot-${i + 1}-${basename(file).replace(/[^A-Za-z0-9._-]+/g, '-')}`;
      try {
        copyFileSync(file, join(dir, name));
        return [{ file: name, caption: file }];
      } catch {
        return []; // the test moved or removed it
      }
    });
    const qmp = this.proc.runningQmp;
    if (this.spec.graphics && qmp)
      await screendump(qmp, join(dir, 'screen.png')).then(
        () =>
          screenshots.push({
            file: 'screen.png',
            caption: 'the screen when the artifacts were taken',
          }),
        () => undefined,
      );
    writeFileSync(
      join(dir, 'index.html'),
      renderFailurePage({
        machine: this.name,
        title,
        takenAt: takenAt.toISOString(),
        transcript,
        consoleLog: existsSync(this.consoleLog) ? readFileSync(this.consoleLog, 'utf8') : '',
        screenshots,
      }),
    );
    return dir;
  }
}
