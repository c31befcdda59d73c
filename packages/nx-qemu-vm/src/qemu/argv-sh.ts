// POSIX sh rendering of argv parts. Literals are single-quoted unless they are
// plainly safe; variables are always double-quoted, so no value from the
// environment or the config is ever re-parsed by the shell.
import type { ArgvItem, Part } from '../quote/argv-words';
import { shQuote } from '../quote/shell';
import { renderOptionWord } from '../quote/option-words';

/** Name of the run-script variable that holds `name` with commas doubled. */
export const escapedVar = (name: string) => `${name}_q`;

function shPart(p: Part): string {
  if (typeof p === 'string') return shQuote(p);
  if ('var' in p) return `"$${p.qemu ? escapedVar(p.var) : p.var}"`;
  if (!/^[ ,]$/.test(p.prefix)) throw new Error(`unsupported prefix ${JSON.stringify(p.prefix)}`);
  return `"\${${p.ifSet}:+${p.prefix}$${p.ifSet}}"`;
}

export function shWord(parts: readonly Part[]): string {
  return parts.length ? parts.map(shPart).join('') : "''";
}

export function shArgvItem(item: ArgvItem): string {
  if ('arg' in item) return shWord(item.arg);
  if ('split' in item) return `\${${item.split}-}`;
  if ('word' in item) return renderOptionWord(item.word);
  return '"$@"';
}

/** Variables that some argument uses in comma-escaped form. */
export function escapedVarsUsed(items: readonly ArgvItem[]): string[] {
  const names = new Set<string>();
  for (const item of items)
    if ('arg' in item)
      for (const p of item.arg) if (typeof p !== 'string' && 'var' in p && p.qemu) names.add(p.var);
  return [...names].sort();
}

/** Shell words for the exec line, with each option and its value on one line. */
export function shArgvLines(items: readonly ArgvItem[]): string[] {
  const lines: string[] = [];
  let flagOpen = false;
  for (const item of items) {
    const word = shArgvItem(item);
    const literal =
      'arg' in item
        ? item.arg.length === 1 && typeof item.arg[0] === 'string'
          ? item.arg[0]
          : undefined
        : 'word' in item && item.word.length === 1 && 'text' in item.word[0]
          ? item.word[0].text
          : undefined;
    const isFlag = literal?.startsWith('-') ?? false;
    if (flagOpen && !isFlag && ('arg' in item || 'word' in item))
      lines[lines.length - 1] += ` ${word}`;
    else lines.push(word);
    flagOpen = isFlag;
  }
  return lines;
}
