// The static parts of the programs we generate are real shell files beside
// their renderers, which shellcheck reads as they are; the build ships them in
// the package at the same relative place.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const cache = new Map<string, string>();

/**
 * The text of a shell file of the package, given its path from src/, ready to
 * follow a generated header: the file-wide shellcheck directives, which only
 * make sense at the top of the file on its own, are left out.
 */
export function shellFile(pathFromSrc: string): string {
  let text = cache.get(pathFromSrc);
  if (text === undefined) {
    text = readFileSync(join(__dirname, '..', pathFromSrc), 'utf8')
      .split('\n')
      .filter((line) => !/^# shellcheck (shell=sh|disable=SC2154)$/.test(line))
      .join('\n');
    cache.set(pathFromSrc, text);
  }
  return text;
}
