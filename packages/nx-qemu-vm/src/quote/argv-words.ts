// The QEMU command line is data until the very end. Some of it is only known
// when the run script runs (the workspace root, TMPDIR, QEMU_NET_OPTS, ...),
// so an argument is a list of parts: literal text and references to shell
// variables of the run script. Renderers turn this into sh or into a readable
// listing for golden files.
import { qemuEscape } from './qemu';
import { type OptionWord, evaluateOptionWord, parseOptionWords } from './option-words';

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
  /** One argument written by the user (qemu.options): literal text and $NAME expansions. */
  | { readonly word: OptionWord }
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
      if ('word' in item) return item.word.map(displayWordPart).join('');
      return '"$@"';
    })
    .join('\n');
}

function displayPart(p: Part): string {
  if (typeof p === 'string') return p;
  if ('var' in p) return p.qemu ? `\${${p.var}/,/,,}` : `\${${p.var}}`;
  return `\${${p.ifSet}:+${p.prefix}$${p.ifSet}}`;
}

function displayWordPart(p: OptionWord[number]): string {
  if ('text' in p) return p.text;
  if (!p.op) return `\${${p.param}}`;
  return `\${${p.param}${p.op}${(p.word ?? []).map(displayWordPart).join('')}}`;
}

/** The user's entries (qemu.options, networkingOptions): one argument per word. */
export function userWords(entries: readonly string[]): ArgvItem[] {
  return entries.flatMap((entry) => parseOptionWords(entry).map((word) => ({ word })));
}

export interface ArgvValues {
  /** The run script's variables (ws, TMPDIR, disk_image, ...), before comma escaping. */
  vars: Readonly<Record<string, string>>;
  /** The environment the script runs in (QEMU_OPTS, QEMU_NET_OPTS, ...). */
  env: Readonly<Record<string, string>>;
  /** The script's own arguments. */
  args: readonly string[];
}

/**
 * The arguments QEMU receives, given the script's variables and environment:
 * what the rendered script must produce. Tests run the script against a stub
 * QEMU and compare.
 */
export function evaluateArgv(items: readonly ArgvItem[], v: ArgvValues): string[] {
  const part = (p: Part): string => {
    if (typeof p === 'string') return p;
    if ('var' in p) {
      const value = v.vars[p.var];
      if (value === undefined) throw new Error(`no value for the variable ${p.var}`);
      return p.qemu ? qemuEscape(value) : value;
    }
    const value = v.env[p.ifSet] ?? '';
    return value ? `${p.prefix}${value}` : '';
  };
  return items.flatMap((item) => {
    if ('arg' in item) return [item.arg.map(part).join('')];
    if ('word' in item) return [evaluateOptionWord(item.word, v.env)];
    if ('split' in item) return (v.env[item.split] ?? '').split(/[ \t\n]+/).filter(Boolean);
    return [...v.args];
  });
}
