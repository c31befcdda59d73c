// The problems a config is refused with, for specs of validation and resolution.
import assert from 'node:assert/strict';
import { validateConfig } from '../../src/config/validate';
import { resolveConfig } from '../../src/config/resolve';
import { ConfigError, type ConfigIssue } from '../../src/config/errors';
import { fakeHost } from './fake-host';

/** A workspace-vm.json with one machine. */
export const oneMachine = (m: object, name = 'vm') => ({ machines: { [name]: m } });

/** Every problem of a config that must be refused (by validation or resolution on a fake host). */
export function issuesOf(raw: unknown): ConfigIssue[] {
  try {
    resolveConfig(validateConfig(raw), fakeHost());
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.issues;
  }
  assert.fail('expected the config to be rejected');
}
