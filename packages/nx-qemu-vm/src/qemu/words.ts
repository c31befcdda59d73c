// The QEMU command line is data until the very end. Some of it is only known
// when the run script runs (the workspace root, TMPDIR, QEMU_NET_OPTS, ...),
// so an argument is a list of parts: literal text and references to shell
// variables of the run script. Renderers turn this into sh or into a readable
// listing for golden files.
import { qemuEscape } from '../quote/qemu';

/** A piece of one argument. */
export type Part =
  | string
  /** The value of a run-script variable; `qemu` doubles commas for QEMU's option parser. */
  | { readonly var: string; readonly qemu?: boolean }
  /** `${name:+<prefix>$name}`: the prefix and value, or nothing when the variable is empty. */
  | { readonly ifSet: string; readonly prefix: string };

export type ArgvItem =
  /** One argument, made of parts. */
  | { readonly arg: readonly Part[] }
  /** A variable expanded unquoted on purpose, so it may hold several arguments. */
  | { readonly split: string }
  /** Shell words supplied by the user (qemu.options); expanded by the shell as written. */
  | { readonly shell: string }
  /** The run script's own arguments, passed on to QEMU. */
  | { readonly passArgs: true };

export const arg = (...parts: Part[]): ArgvItem => ({ arg: parts });
export const args = (...literals: string[]): ArgvItem[] => literals.map((l) => arg(l));

/** A host path that a relative config value anchors at the workspace root (`$ws`). */
export function hostPath(path: string, inQemuOption: boolean): Part[] {
  if (path.startsWith('/')) return [inQemuOption ? qemuEscape(path) : path];
  const rel = path.replace(/^\.\/+/, '').replace(/\/+$/, '');
  return [{ var: 'ws', qemu: inQemuOption }, inQemuOption ? qemuEscape(`/${rel}`) : `/${rel}`];
}

/** Joins `key=value` pairs, keeping parts intact. Keys and literal values are escaped. */
export function optionList(
  entries: readonly (readonly [string, string | readonly Part[]])[],
): Part[] {
  const out: Part[] = [];
  entries.forEach(([key, value], i) => {
    out.push(`${i ? ',' : ''}${key}=`);
    if (typeof value === 'string') out.push(qemuEscape(value));
    else out.push(...value);
  });
  return mergeLiterals(out);
}

export function mergeLiterals(parts: readonly Part[]): Part[] {
  const out: Part[] = [];
  for (const p of parts) {
    const last = out[out.length - 1];
    if (typeof p === 'string' && typeof last === 'string') out[out.length - 1] = last + p;
    else if (p !== '') out.push(p);
  }
  return out;
}

/** A readable listing: one argument per line, variables as `${name}`. Used by golden files and `--dry-run`. */
export function renderArgvListing(items: readonly ArgvItem[]): string {
  return items
    .map((item) => {
      if ('arg' in item) return item.arg.map(displayPart).join('');
      if ('split' in item) return `$${item.split}`;
      if ('shell' in item) return `<shell> ${item.shell}`;
      return '"$@"';
    })
    .join('\n');
}

function displayPart(p: Part): string {
  if (typeof p === 'string') return p;
  if ('var' in p) return p.qemu ? `\${${p.var}/,/,,}` : `\${${p.var}}`;
  return `\${${p.ifSet}:+${p.prefix}$${p.ifSet}}`;
}
