// A config problem, located precisely enough that the user can fix it without
// reading our source: the machine, the JSON path, the value and what is allowed.
export interface ConfigIssue {
  /** Machine name, or undefined for problems with the file itself. */
  machine?: string;
  /** Path from the file root, e.g. `machines.vm.forwardPorts[0].host.port`. */
  path: string;
  value?: unknown;
  message: string;
}

/**
 * A problem with one machine's option, its path relative to the machine:
 * what the checks and the resolution steps return, before machineIssues
 * places it under `machines.<name>`.
 */
export interface OptionProblem {
  path: (string | number)[];
  value: unknown;
  message: string;
}

/** Reports one problem of a machine's option; see OptionProblem. */
export type AddProblem = (path: (string | number)[], value: unknown, message: string) => void;

/** An empty list of problems, and the function that adds one to it. */
export function problemList(): { problems: OptionProblem[]; add: AddProblem } {
  const problems: OptionProblem[] = [];
  return { problems, add: (path, value, message) => void problems.push({ path, value, message }) };
}

/** The problems of machine `name`, as issues of the file. */
export function machineIssues(name: string, problems: readonly OptionProblem[]): ConfigIssue[] {
  return problems.map(({ path, value, message }) => ({
    machine: name,
    path: jsonPath(['machines', name, ...path]),
    value,
    message,
  }));
}

/** How much of a long value, key or word a message shows: enough to recognise it. */
export const SHOWN_CHARS = 80;
/** The most a message may say, for the values with blanks that no word limit catches. */
const MESSAGE_CHARS = 600;

/** A long text as its first characters and its length, so one value cannot flood the terminal. */
export function shorten(text: string, limit = SHOWN_CHARS): string {
  return text.length <= limit ? text : `${text.slice(0, limit)}… (${text.length} characters)`;
}

/** JSON of a value, shortened; a value JSON cannot show (too deep, a cycle, a BigInt) is said to be one. */
export function shownValue(value: unknown): string {
  try {
    return shorten(JSON.stringify(value) ?? String(value));
  } catch {
    return '(a value nested too deeply, or with a cycle, to show)';
  }
}

/** Messages quote the values they speak of: every long word, and the message as a whole, is cut. */
const shortMessage = (message: string) =>
  shorten(
    message.replace(new RegExp(`\\S{${SHOWN_CHARS + 1},}`, 'g'), (word) => shorten(word)),
    MESSAGE_CHARS,
  );

export function formatIssue(issue: ConfigIssue): string {
  const where = issue.machine === undefined ? '' : `machine "${shorten(issue.machine)}": `;
  const shown = issue.value === undefined ? '' : ` = ${shownValue(issue.value)}`;
  return `${where}${shorten(issue.path, 3 * SHOWN_CHARS)}${shown}: ${shortMessage(issue.message)}`;
}

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly issues: ConfigIssue[],
  ) {
    super(
      `${file} has ${issues.length} problem${issues.length === 1 ? '' : 's'}:\n` +
        issues.map((i) => `  - ${formatIssue(i)}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

/** Turns JSON-pointer segments into `a.b[0].c`, quoting keys that are not identifiers. */
export function jsonPath(segments: readonly (string | number)[]): string {
  let out = '';
  for (const seg of segments) {
    if (typeof seg === 'number' || /^\d+$/.test(seg)) out += `[${seg}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out || '(root)';
}
