// workspace-vm.json from disk to resolved machines.
import { readFileSync } from 'node:fs';
import { parseJson } from '@nx/devkit';
import { dirname } from 'node:path';
import { ConfigError, SHOWN_CHARS, shorten } from './errors';
import type { HostFacts } from '../host/host-facts';
import { readHostFacts } from '../host/host-facts';
import { type ResolvedMachine, resolveConfig } from './resolve';
import { type ValidConfig, validateConfig } from './validate';

export const CONFIG_FILE = 'workspace-vm.json';

export function parseConfigText(text: string, file = CONFIG_FILE): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ConfigError(file, [
      { path: '(file)', message: `is not valid JSON: ${whereJsonFails(text, err as Error)}` },
    ]);
  }
}

/**
 * What is wrong with a text JSON.parse refused, and where, as a person finds
 * it in an editor: line and column, and the text there. V8 gives a character
 * position at best, and sometimes quotes the whole text; Nx's own JSON
 * parser, run only on this path, finds the line and column.
 */
export function whereJsonFails(text: string, err: Error): string {
  const at = nxJsonError(text) ?? v8JsonError(text, err.message);
  if (!at) return shorten(err.message, 200);
  const source = text.split('\n')[at.line - 1] ?? '';
  const from = Math.max(0, at.column - SHOWN_CHARS / 2);
  const near = source.slice(from, from + SHOWN_CHARS).trim();
  return `${at.what} at line ${at.line}, column ${at.column}${near ? `, near: ${near}` : ''}`;
}

interface JsonErrorAt {
  what: string;
  line: number;
  column: number;
}

function nxJsonError(text: string): JsonErrorAt | undefined {
  try {
    parseJson(text, { disallowComments: true, expectComments: false, allowTrailingComma: false });
  } catch (err) {
    // e.g. "CommaExpected in JSON at 4:5", then a code frame we do not want.
    const m = /^(\w+) in JSON at (\d+):(\d+)/.exec((err as Error).message);
    // CommaExpected: "comma expected".
    if (m)
      return {
        what: m[1].replace(/(?<=[a-z])(?=[A-Z])/g, ' ').toLowerCase(),
        line: Number(m[2]),
        column: Number(m[3]),
      };
  }
  return undefined;
}

/** Where Nx's parser gave no answer (it accepted the text, or ran out of stack on deep nesting). */
function v8JsonError(text: string, message: string): JsonErrorAt | undefined {
  const position = /at position (\d+)/.exec(message)?.[1];
  const atEnd = /^Unexpected end/.test(message);
  if (position === undefined && !atEnd) return undefined;
  const before = text.slice(0, atEnd ? text.length : Number(position)).split('\n');
  return {
    what: message.replace(/ in JSON at position \d+.*/, ''),
    line: before.length,
    column: before[before.length - 1].length + 1,
  };
}

export function loadConfig(path: string): ValidConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, [
      { path: '(file)', message: `cannot be read: ${(err as Error).message}` },
    ]);
  }
  return validateConfig(parseConfigText(text, path), path);
}

export function loadResolved(
  path: string,
  host: HostFacts = readHostFacts(dirname(path)),
): Record<string, ResolvedMachine> {
  return resolveConfig(loadConfig(path), host);
}
