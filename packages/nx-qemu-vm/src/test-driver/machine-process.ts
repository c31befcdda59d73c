// One booted machine's process and channels, under the test API's Machine:
// the run script (launch.ts) with QEMU behind it, the agent's channel, QMP
// and the serial console. It knows whether the machine runs, and stops it
// three ways: a clean power-off, a crash, or at once through the run script.
// Once stopped, it can boot again: each boot is a new run of the script.
import {
  appendFileSync,
  closeSync,
  constants,
  existsSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { acceleratorSaid } from '../qemu/accel-line';
import { SERVICE_FAILED, SERVICE_REPORT_END, STAGE1_FAILED } from '../contract/host-guest';
import { AgentChannel } from './agent-channel';
import { ConsoleText } from './console-text';
import { MachineError, MachineNotRunningError, MachineWentDownError, TimeoutError } from './errors';
import { keepAlive } from './keep-alive';
import { type LaunchOptions, type Launched, connectWhenReady, launch } from './launch';
import { QmpClient } from '../qemu/qmp';
import { warmConsoleFile } from '../qemu/test-api-args';

export class MachineProcess {
  /** This boot's serial console; a cold boot after a failed restore starts a new one. */
  console = new ConsoleText();
  private launched: Launched | undefined;
  private runScriptOutput = '';
  private agent: AgentChannel | undefined;
  private qmpClient: QmpClient | undefined;
  private exited: Promise<void> = Promise.resolve();
  /**
   * Set when a warm state did not restore: QEMU stopped while loading it,
   * before the guest said anything, or the run script found that a ready
   * state does not fit the run.
   */
  private restoreFailed = false;
  /** This run resumed a ready state: its agent was up before the save, and says hello only when asked. */
  private resumedReady = false;
  private warmMode: NonNullable<LaunchOptions['warm']>['mode'] | undefined;
  /**
   * Set when the guest went down by itself (its agent said so) and kept until
   * the next boot's agent answers (a reboot) or QEMU ends (a power-off): the
   * boot id it went down from.
   */
  private wentDownFrom: string | undefined;
  /** Why the machine is not running, once it is not. */
  stoppedBecause: string | undefined = 'it was not started: machine.start() boots it';
  /** The agent of this boot answered, and the machine has not stopped since. */
  get up(): boolean {
    return !this.stoppedBecause && !this.wentDownFrom && !!this.agent?.hello;
  }

  /** What the run script said about its accelerator (the text after "accelerator: "). */
  get accelerator(): string | undefined {
    return acceleratorSaid(this.runScriptOutput, basename(this.options.runScript));
  }

  constructor(
    readonly name: string,
    readonly consoleLog: string,
    private readonly options: LaunchOptions,
  ) {}

  /** A new run of the script, with this run's console, channels and state. */
  private start(options: LaunchOptions): void {
    this.console = new ConsoleText();
    this.runScriptOutput = '';
    this.restoreFailed = false;
    this.resumedReady = false;
    this.stoppedBecause = undefined;
    this.wentDownFrom = undefined;
    this.agent = undefined;
    this.qmpClient = undefined;
    const warm = options.warm?.mode === 'ready-save' ? undefined : options.warm;
    // The saved boot's console, up to the moment it was saved: the console of a
    // restored boot reads as a cold boot's does, then says it was resumed.
    if (warm && existsSync(warmConsoleFile(warm.state))) {
      const saved = readFileSync(warmConsoleFile(warm.state));
      appendFileSync(this.consoleLog, saved);
      this.console.push(saved);
    }
    const launched = launch(options);
    this.launched = launched;
    this.warmMode = options.warm?.mode;
    const { child, dir } = launched;
    let guestSpoke = false;
    child.stdout.on('data', (chunk: Buffer) => {
      guestSpoke = true;
      this.console.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      this.runScriptOutput = (this.runScriptOutput + chunk.toString()).slice(-65536);
    });
    this.exited = new Promise((resolveExit) => {
      child.once('close', (code, signal) => {
        // The run script marks when QEMU started restoring (run-vm-main.sh),
        // or that a ready state does not fit (run-vm-warm.sh); a machine we
        // were not asked to stop, that ended there, never ran.
        this.restoreFailed =
          !!warm &&
          !this.stoppedBecause &&
          code !== 0 &&
          !guestSpoke &&
          (existsSync(join(dir, 'warm-restoring')) || existsSync(join(dir, 'warm-unfit')));
        const exit = `its run script exited with ${signal ? `signal ${signal}` : `status ${code}`}`;
        this.stoppedBecause ??= this.wentDownFrom
          ? `the guest powered off (${exit})`
          : `QEMU stopped (${exit})`;
        this.agent?.end(new MachineError(this.name, this.stoppedBecause, this.consoleLog));
        this.qmpClient?.close();
        rmSync(dir, { recursive: true, force: true });
        resolveExit();
      });
    });
  }

  /**
   * Starts a run and resolves once the guest's agent answers; on failure,
   * stops the machine and says why. A boot after the first boots cold: a
   * warm state holds memory of a fresh boot, which a disk kept since may not match.
   */
  async boot(timeoutSeconds: number, options = this.options): Promise<void> {
    if (!this.stoppedBecause) throw new MachineError(this.name, 'start: the machine is running');
    // A stopped run's process may still be on its way out: one run at a time.
    if (!(await this.waitForExit(30)))
      throw new MachineError(this.name, 'start: its previous run has not ended', this.consoleLog);
    this.start(this.launched ? { ...options, warm: undefined } : options);
    try {
      await keepAlive(() => this.withTimeout(this.connect(), timeoutSeconds, 'booting'));
    } catch (err) {
      // QEMU's end may reach the sockets first (a reset agent connection).
      if (options.warm && (await this.waitForExit(5)) && this.restoreFailed)
        return this.bootColdInstead(timeoutSeconds);
      await this.stopNow();
      // The whole report of a failed service; the first line of anything else.
      const why =
        err instanceof Error
          ? err.message.includes(SERVICE_FAILED)
            ? err.message.split('\nconsole log:')[0]
            : err.message.split('\n')[0]
          : String(err);
      throw new MachineError(
        this.name,
        `did not come up: ${why.replace(`machine "${this.name}": `, '')}` +
          `\n--- console (last lines) ---\n${this.console.tail()}` +
          (this.runScriptOutput.trim()
            ? `\n--- run script ---\n${this.runScriptOutput.trim()}`
            : ''),
        this.consoleLog,
      );
    }
  }

  /** Once, as exec-vm.sh does: nothing of this run was touched, so a cold boot may follow. */
  private async bootColdInstead(timeoutSeconds: number): Promise<void> {
    const qemuSaid = this.runScriptOutput.trim().split('\n').pop() ?? '';
    const line = `nx-qemu-vm: machine "${this.name}": the ${this.options.warm?.mode === 'ready-restore' ? 'ready' : 'warm'} state ${this.options.warm?.state} did not restore (${qemuSaid || this.stoppedBecause}); booting cold.\n`;
    process.stderr.write(line);
    appendFileSync(this.consoleLog, line);
    return this.boot(timeoutSeconds, { ...this.options, warm: undefined });
  }

  private async connect(): Promise<void> {
    const gaveUp = () =>
      this.stoppedBecause ? new MachineError(this.name, this.stoppedBecause) : undefined;
    const launched = this.launched!;
    const agentSocket = await connectWhenReady(launched.agentSocket, gaveUp);
    agentSocket.unref();
    this.agent = new AgentChannel(agentSocket, () => this.guestWentDown());
    const qmpSocket = await connectWhenReady(launched.qmpSocket, gaveUp);
    qmpSocket.unref();
    this.qmpClient = await QmpClient.over(qmpSocket, 30_000);
    // The run script marked the restore before QEMU made the socket: a
    // resumed agent answers once asked, whichever boot it is.
    if (this.warmMode === 'ready-restore' && existsSync(join(launched.dir, 'warm-restoring'))) {
      this.resumedReady = true;
      await this.continueAfterLoad(this.qmpClient);
      await this.agent.resync();
      return;
    }
    // Stage 1 failing ends in an emergency shell, and a service that fails to
    // start in stage 2's report: say so at once rather than at the timeout.
    let stopWatching = () => undefined as unknown;
    const stage1Failed = new Promise<never>((_, reject) => {
      stopWatching = this.console.onText(() => {
        if (this.console.includes(STAGE1_FAILED))
          reject(new MachineError(this.name, 'stage 1 failed (see the console below)'));
        const report = this.console.block(SERVICE_FAILED, SERVICE_REPORT_END);
        if (report)
          reject(
            new MachineError(this.name, `a service failed to start:\n${report}`, this.consoleLog),
          );
      });
    });
    try {
      await Promise.race([this.agent.waitForHello(), stage1Failed]);
    } finally {
      stopWatching();
    }
  }

  /** Once QEMU has loaded a ready state, which was saved stopped: runs the machine. */
  private async continueAfterLoad(qmp: QmpClient): Promise<void> {
    for (;;) {
      const { status } = (await qmp.execute('query-status', undefined, 30_000)) as {
        status: string;
      };
      if (status === 'running') return;
      if (status !== 'inmigrate') {
        await qmp.execute('cont', undefined, 30_000);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** This run resumed a ready state (its shares, clock and random generator need the restore's steps). */
  get resumedReadyState(): boolean {
    return this.resumedReady;
  }

  /** The agent said the guest goes down, unasked: commands running now cannot finish. */
  private guestWentDown(): Error {
    this.wentDownFrom ??= this.agent?.hello?.bootId ?? '';
    return new MachineWentDownError(this.name, undefined, this.consoleLog);
  }

  /**
   * The agent's channel for `what`, once the machine is up: after a power-off
   * or reboot started inside the guest, waits for the new boot's agent, or
   * rejects once QEMU has ended.
   */
  async upChannel(what: string, timeoutSeconds: number): Promise<AgentChannel> {
    const from = this.wentDownFrom;
    if (from !== undefined && this.agent && !this.stoppedBecause) {
      try {
        await this.withTimeout(
          this.agent.waitForHello(from),
          timeoutSeconds,
          `${what}: waiting for the guest, which went down, to boot again`,
        );
      } catch (err) {
        if (!this.stoppedBecause) throw err;
      }
      if (this.wentDownFrom === from) this.wentDownFrom = undefined;
    }
    return this.channel(what);
  }

  /** `work`, unless `seconds` pass or the machine stops first. */
  async withTimeout<T>(work: Promise<T>, seconds: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new TimeoutError(this.name, what, seconds, '', this.consoleLog)),
        seconds * 1000,
      );
    });
    const stopped = this.exited.then(() => {
      throw new MachineError(this.name, `${what}: ${this.stoppedBecause}`, this.consoleLog);
    });
    try {
      return await Promise.race([work, timeout, stopped]);
    } finally {
      clearTimeout(timer);
    }
  }

  private notRunning(what: string): MachineNotRunningError {
    return new MachineNotRunningError(
      this.name,
      `cannot ${what}: the machine is not running (${this.stoppedBecause ?? 'not booted'})`,
      this.consoleLog,
    );
  }

  /** The agent's channel, for `what`; throws when the machine does not run. */
  channel(what: string): AgentChannel {
    if (this.stoppedBecause || !this.agent) throw this.notRunning(what);
    return this.agent;
  }

  qmp(what: string): QmpClient {
    if (this.stoppedBecause || !this.qmpClient) throw this.notRunning(what);
    return this.qmpClient;
  }

  /** This run's scratch directory, which names the run: a snapshot belongs to the run that took it. */
  get runDir(): string | undefined {
    return this.stoppedBecause ? undefined : this.launched?.dir;
  }

  /** After QEMU loaded a saved state: the agent of that state, whichever boot it is. */
  async resync(timeoutSeconds: number): Promise<void> {
    const agent = this.channel('resume from a snapshot');
    this.wentDownFrom = undefined;
    await this.withTimeout(agent.resync(), timeoutSeconds, 'waiting for the agent after a restore');
  }

  /** The run's control directory, which also holds qemu-ga's socket (qga.sock). */
  get controlDir(): string {
    if (!this.launched) throw this.notRunning('find its sockets');
    return join(this.launched.dir, 'control');
  }

  /** The QMP connection while the machine runs, for best-effort work such as artifacts. */
  get runningQmp(): QmpClient | undefined {
    return this.stoppedBecause ? undefined : this.qmpClient;
  }

  /** Types on the serial console, which is the run script's stdin. */
  async writeConsole(text: string): Promise<void> {
    if (this.stoppedBecause) throw this.notRunning('send characters');
    const stdin = this.launched!.child.stdin;
    await new Promise<void>((res, rej) => stdin.write(text, (err) => (err ? rej(err) : res())));
  }

  /** Asks stage 2 through the control FIFO; false when nothing reads it any more. */
  private control(request: 'poweroff' | 'reboot'): boolean {
    try {
      const fd = openSync(this.launched!.controlFifo, constants.O_WRONLY | constants.O_NONBLOCK);
      try {
        writeSync(fd, `${request}\n`);
      } finally {
        closeSync(fd);
      }
      return true;
    } catch {
      return false;
    }
  }

  async shutdown(timeoutSeconds: number): Promise<void> {
    if (this.stoppedBecause) return;
    this.stoppedBecause = 'it was shut down';
    this.agent?.interrupt(
      new MachineError(this.name, 'the machine is shutting down', this.consoleLog),
    );
    if (!this.control('poweroff')) this.launched!.child.kill('SIGTERM');
    if (!(await this.waitForExit(timeoutSeconds))) await this.crash();
  }

  async crash(): Promise<void> {
    if (!this.launched) return;
    this.stoppedBecause ??= 'it was crashed';
    await this.qmpClient?.quit(5000).catch(() => undefined);
    if (!(await this.waitForExit(10))) {
      this.launched.child.kill('SIGKILL');
      await this.waitForExit(10);
    }
  }

  /** Until QEMU ends by itself (the guest powered off), or `seconds` pass. */
  async waitForShutdown(seconds: number): Promise<void> {
    if (!(await this.waitForExit(seconds)))
      throw new TimeoutError(this.name, 'waitForShutdown()', seconds, '', this.consoleLog);
  }

  /** Asks for a clean reboot; resolves once the agent of the new boot answers. */
  async reboot(timeoutSeconds: number): Promise<void> {
    const agent = this.channel('reboot');
    const before = agent.hello?.bootId;
    agent.interrupt(new MachineError(this.name, 'the machine is rebooting', this.consoleLog));
    if (!this.control('reboot'))
      throw new MachineError(this.name, 'reboot: the control channel is gone', this.consoleLog);
    await this.withTimeout(agent.waitForHello(before), timeoutSeconds, 'reboot');
    this.wentDownFrom = undefined;
  }

  /** Stops at once through the run script, which removes its scratch files. */
  async stopNow(): Promise<void> {
    if (!this.launched) return;
    this.stoppedBecause ??= 'it was stopped';
    this.launched.child.kill('SIGTERM');
    if (!(await this.waitForExit(20))) {
      this.launched.child.kill('SIGKILL');
      await this.waitForExit(10);
    }
  }

  private async waitForExit(seconds: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((r) => (timer = setTimeout(() => r(false), seconds * 1000)));
    try {
      return await Promise.race([this.exited.then(() => true), late]);
    } finally {
      clearTimeout(timer);
    }
  }
}
