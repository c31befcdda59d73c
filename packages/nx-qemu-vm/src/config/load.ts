// workspace-vm.json from disk to resolved machines.
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from './errors';
import type { HostFacts } from './host';
import { readHostFacts } from '../host/host-facts';
import { type ResolvedMachine, resolveConfig } from './resolve';
import { type ValidConfig, validateConfig } from './validate';

export const CONFIG_FILE = 'workspace-vm.json';

export function parseConfigText(text: string, file = CONFIG_FILE): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ConfigError(file, [
      { path: '(file)', message: `is not valid JSON: ${(err as Error).message}` },
    ]);
  }
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
