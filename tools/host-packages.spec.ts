// One list of host packages: the README's table is the install script's,
// package for package and reason for reason.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..');

it("the README's host packages are exactly what install-host-deps.sh installs, with the same reasons", () => {
  const script = readFileSync(join(root, 'tools/install-host-deps.sh'), 'utf8');
  const list = script
    .split("<<'PACKAGES'")[1]
    .split('\n')
    .slice(1)
    .join('\n')
    .split('\nPACKAGES\n')[0];
  const installed = list
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const m = /^(\S+)\s+#\s*(.+)$/.exec(l);
      assert.ok(m, `every package says why: ${l}`);
      return [m[1], m[2].trim()];
    });
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.split('\n## Host packages\n')[1]?.split('\n## ')[0] ?? '';
  const documented = [...section.matchAll(/^\| `([^`]+)` +\| (.+?) +\|$/gm)].map((m) => [
    m[1],
    m[2],
  ]);
  assert.ok(installed.length > 20, 'the script lists its packages');
  assert.deepEqual(documented, installed);
});
