// What a failing test prints: the machine, the command, its status, the tail
// of its output and where the console log (and any artifacts) are.

/** The last `lines` lines of a text, marked when some were left out. */
export function tail(text: string, lines = 20): string {
  const all = text.replace(/\n$/, '').split('\n');
  if (all.length <= lines) return all.join('\n');
  return [`[${all.length - lines} earlier lines left out]`, ...all.slice(-lines)].join('\n');
}

function section(title: string, text: string): string {
  return text.trim() ? `\n--- ${title} ---\n${tail(text)}` : `\n--- ${title}: (empty) ---`;
}

/** Any failure of the test API that concerns one machine. */
export class MachineError extends Error {
  /** Where the failure's screenshot and console log were kept, when they were. */
  artifacts?: string;

  constructor(
    readonly machine: string,
    message: string,
    readonly consoleLog?: string,
  ) {
    super(`machine "${machine}": ${message}${consoleLog ? `\nconsole log: ${consoleLog}` : ''}`);
    this.name = new.target.name;
  }
}

/** A call on a machine that was shut down, crashed, disposed or never booted. */
export class MachineNotRunningError extends MachineError {}

/**
 * The guest went down (a power-off or reboot started inside it, or ctrl-alt-delete)
 * while a command ran: the command's end is unknown. Calls made after it wait
 * for the next boot, or reject with MachineNotRunningError once QEMU has ended.
 */
export class MachineWentDownError extends MachineError {
  constructor(
    machine: string,
    readonly command: string | undefined,
    consoleLog: string | undefined,
  ) {
    super(
      machine,
      `the guest went down (a power-off or reboot inside it) while ${command === undefined ? 'a command' : JSON.stringify(command)} ran`,
      consoleLog,
    );
  }
}

/** succeed() saw a non-zero status, or fail() saw 0. */
export class CommandError extends MachineError {
  constructor(
    machine: string,
    readonly command: string,
    readonly status: number,
    readonly stdout: string | Buffer,
    readonly stderr: string | Buffer,
    readonly signal: string | undefined,
    consoleLog: string | undefined,
    expected: 'success' | 'failure',
  ) {
    super(
      machine,
      `command ${expected === 'success' ? `failed with status ${status}${signal ? ` (${signal})` : ''}` : 'succeeded but was expected to fail'}: ${command}` +
        section('stdout', stdout.toString()) +
        section('stderr', stderr.toString()),
      consoleLog,
    );
  }
}

/** A command or a wait ran out of time; a command is killed in the guest first. */
export class TimeoutError extends MachineError {
  constructor(
    machine: string,
    readonly what: string,
    readonly timeout: number,
    detail: string,
    consoleLog: string | undefined,
  ) {
    super(machine, `timed out after ${timeout} s: ${what}${detail}`, consoleLog);
  }
}

/** Failures of startMachines before any machine is handed out. */
export class StartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartError';
  }
}

export function outputSections(stdout: string | Buffer, stderr: string | Buffer): string {
  return section('stdout', stdout.toString()) + section('stderr', stderr.toString());
}

/** A unit that failed, is inactive with nothing to start it, is unknown, or is not in the state required. */
export class UnitError extends MachineError {
  constructor(
    machine: string,
    readonly unit: string,
    message: string,
    consoleLog: string | undefined,
  ) {
    super(machine, message, consoleLog);
  }
}

/** A call that needs systemd, on a machine whose init is the plugin's stage 2. */
export class NoSystemdError extends MachineError {}
