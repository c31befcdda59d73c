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

export function formatIssue(issue: ConfigIssue): string {
  const where = issue.machine === undefined ? '' : `machine "${issue.machine}": `;
  const shown = issue.value === undefined ? '' : ` = ${JSON.stringify(issue.value)}`;
  return `${where}${issue.path}${shown}: ${issue.message}`;
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
