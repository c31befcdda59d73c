// What createNodes makes of workspace-vm.json, broken or not. Throwing from
// createNodes takes down the whole project graph, so one bad value would fail
// `nx build api` too. Instead a problem becomes data: a machine with a
// problem still becomes a project, whose targets fail with the problems when
// run (plugin/broken-machine.ts); a file without a machines object gives no
// projects and a warning.
import { ConfigError } from '../config/errors';
import type { ValidMachine } from '../config/valid-machine';
import { type ValidConfig, validateConfig } from '../config/validate';

export type MachineEntry =
  | { name: string; position: number; machine: ValidMachine }
  /** `raw` is the machine as written; `error` lists every problem in the file. */
  | { name: string; position: number; raw: unknown; error: ConfigError };

export interface MachineEntries {
  entries: MachineEntry[];
  /** Something to tell the user whenever the file has a problem. */
  warning?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A project's root is `.vm/<name>` and its name is the key: a key that
 * could climb out of `.vm` or split a command line names no project. The
 * schema's pattern rejects these keys too, so the error names them.
 */
export function canNameProject(name: string): boolean {
  return /^[^\s/\\]+$/.test(name) && name !== '.' && name !== '..';
}

type Checked =
  { config: ValidConfig; error?: undefined } | { config?: undefined; error: ConfigError };

function check(raw: unknown, file: string): Checked {
  try {
    return { config: validateConfig(raw, file) };
  } catch (err) {
    // Anything else is a bug of ours, which must not pass for a user's mistake.
    if (err instanceof ConfigError) return { error: err };
    throw err;
  }
}

/**
 * Sorts the machines of a parsed workspace-vm.json into valid ones (with
 * every default filled in, as validateConfig returns them) and broken ones.
 * A machine is broken when the error names it, or when the error cannot be
 * pinned on a machine (an unknown top-level key, say): then every machine is.
 */
export function machineEntries(raw: unknown, file: string): MachineEntries {
  const machines = isObject(raw) ? raw.machines : undefined;
  if (!isObject(machines)) {
    const error =
      check(raw, file).error ??
      new ConfigError(file, [{ path: 'machines', message: 'must be an object of machines.' }]);
    return {
      entries: [],
      warning: `nx-qemu-vm: ${error.message}\nNo machine becomes a project until that is fixed.`,
    };
  }
  const whole = check(raw, file);
  const names = Object.keys(machines);
  if (whole.config)
    return {
      entries: names.map((name, i) => ({
        name,
        position: i + 1,
        machine: whole.config.machines[name],
      })),
    };
  const { error } = whole;
  const fileWide = error.issues.some((i) => i.machine === undefined || !names.includes(i.machine));
  const entries: MachineEntry[] = [];
  names.forEach((name, i) => {
    if (!canNameProject(name)) return;
    // A machine the error does not name is checked on its own, which checks
    // everything about it (the problems no machine owns made it fileWide).
    const alone =
      fileWide || error.issues.some((issue) => issue.machine === name)
        ? undefined
        : check({ machines: { [name]: machines[name] } }, file).config?.machines[name];
    entries.push(
      alone
        ? { name, position: i + 1, machine: alone }
        : { name, position: i + 1, raw: machines[name], error },
    );
  });
  const broken = entries.filter((e) => 'error' in e).map((e) => `"${e.name}"`);
  const unnamed = names.filter((n) => !canNameProject(n)).map((n) => JSON.stringify(n));
  return {
    entries,
    warning: [
      `nx-qemu-vm: ${error.message}`,
      broken.length
        ? `Until that is fixed, every target of ${broken.join(', ')} fails with this message.`
        : '',
      unnamed.length ? `Not projects, for their keys cannot name one: ${unnamed.join(', ')}.` : '',
      // Their executors load the whole file (executors/machine-executor.ts), so say it before a run does.
      entries.length > broken.length
        ? 'The other machines keep their targets, but those check the whole file when they run and stop there too.'
        : '',
    ]
      .filter(Boolean)
      .join('\n'),
  };
}
