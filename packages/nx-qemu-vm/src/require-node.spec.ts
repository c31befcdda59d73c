import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { nodeProblem } from './require-node';

const PACKAGE = join(__dirname, '..');

describe('Node version check', () => {
  it('accepts a Node that loads ES modules with require(), and names the versions otherwise', () => {
    assert.equal(nodeProblem('20.19.0', true), undefined);
    assert.equal(
      nodeProblem('20.18.3', undefined),
      'nx-qemu-vm needs Node.js 20.19 or newer (in the 20 line), or 22.12 or newer; this is Node.js 20.18.3. Install a newer Node.js (22 LTS, say) and run the command again.',
    );
    assert.match(nodeProblem('22.11.0', false) ?? '', /this is Node\.js 22\.11\.0/);
    // Without the feature flag, the version decides.
    assert.equal(nodeProblem('20.20.2', undefined), undefined);
    assert.equal(nodeProblem('22.12.0', undefined), undefined);
    assert.equal(nodeProblem('24.1.0', undefined), undefined);
    assert.match(nodeProblem('22.11.0', undefined) ?? '', /this is Node\.js 22\.11\.0/);
    // Jest's copy of process says false on Node 20.20: the version wins.
    assert.equal(nodeProblem('20.20.2', false), undefined);
  });

  it('runs first in every entry point: the plugin, each executor and each generator', () => {
    const manifests = [
      ...Object.values<{ implementation: string }>(
        JSON.parse(readFileSync(join(PACKAGE, 'executors.json'), 'utf8')).executors,
      ).map((e) => e.implementation),
      ...Object.values<{ factory: string }>(
        JSON.parse(readFileSync(join(PACKAGE, 'generators.json'), 'utf8')).generators,
      ).map((g) => g.factory),
      './src/index',
    ];
    for (const entry of manifests) {
      const text = readFileSync(join(PACKAGE, `${entry}.ts`), 'utf8');
      const firstImport = /^import [^;]*?['"]([^'"]+)['"];/m.exec(text)?.[1];
      assert.match(
        firstImport ?? '',
        /(^|\/)require-node$/,
        `${entry}.ts imports require-node first`,
      );
    }
  });
});
