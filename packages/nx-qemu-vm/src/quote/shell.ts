// POSIX sh quoting. Every value that reaches a generated shell script goes
// through here or is refused before it gets there.

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** One shell word that means exactly `s`: plain when obviously safe, otherwise single-quoted. */
export function shQuote(s: string): string {
  if (s !== '' && SAFE.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A value of a generated script's header: text, a whole number, or a flag (1 or 0). */
export type ShValue = string | number | boolean;

const SH_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The header of a generated script: one `name=value` line per value, every
 * value quoted. The static program that follows reads them as variables.
 */
export function shAssignments(values: Readonly<Record<string, ShValue>>): string {
  return Object.entries(values)
    .map(([name, value]) => {
      if (!SH_NAME.test(name))
        throw new Error(`not a shell variable name: ${JSON.stringify(name)}`);
      if (typeof value === 'number' && !Number.isSafeInteger(value))
        throw new Error(`${name}: ${value} is not a whole number`);
      const text = typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
      return `${name}=${shQuote(text)}\n`;
    })
    .join('');
}

/** One call of a shell function of the static program, every argument quoted. */
export function shCall(fn: string, ...args: readonly string[]): string {
  if (!SH_NAME.test(fn)) throw new Error(`not a shell function name: ${JSON.stringify(fn)}`);
  return [fn, ...args.map(shQuote)].join(' ');
}

/** A shell function whose body is the given lines (calls made with shCall). */
export function shFunction(name: string, lines: readonly string[]): string {
  if (!SH_NAME.test(name)) throw new Error(`not a shell function name: ${JSON.stringify(name)}`);
  return `${name}() {\n${lines.map((l) => `  ${l}\n`).join('')}  :\n}\n`;
}
