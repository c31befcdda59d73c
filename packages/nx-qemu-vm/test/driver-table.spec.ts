// The package README's table from NixOS's test driver to this API: every
// method it names on our side exists, so the table cannot promise a method
// that was renamed or never written.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Machine } from '../src/test-driver/machine';
import * as testing from '../src/test-driver';

const README = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');

it("names only methods the API has, in the table from NixOS's driver", () => {
  const section = README.split("\n### From NixOS's test driver, method by method\n")[1]?.split(
    '\n### ',
  )[0];
  assert.ok(section, 'the README has the table');
  const rows = section.split('\n').filter((l) => l.startsWith('| `'));
  assert.ok(rows.length > 30, `a row per driver method (${rows.length})`);
  const named = new Set<string>();
  for (const row of rows) {
    const ours = row.split(' | ')[1] ?? '';
    for (const m of ours.matchAll(/`(?:vms\.|machine\.)?([a-zA-Z]+)\(/g)) named.add(m[1]);
  }
  const machineMethods = new Set(Object.getOwnPropertyNames(Machine.prototype));
  const exported = new Set(Object.keys(testing));
  const missing = [...named].filter((n) => !machineMethods.has(n) && !exported.has(n));
  assert.deepEqual(missing, []);
  assert.ok(named.size > 30, `names checked: ${[...named].join(', ')}`);
});
