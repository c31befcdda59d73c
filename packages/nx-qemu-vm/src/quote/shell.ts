// POSIX sh quoting. Every value that reaches a generated shell script goes
// through here or is refused before it gets there.

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** One shell word that means exactly `s`: plain when obviously safe, otherwise single-quoted. */
export function shQuote(s: string): string {
  if (s !== '' && SAFE.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
