import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PLUGIN_ROOT, digestOf, pluginDigest } from './plugin-digest';

describe('plugin digest', () => {
  it('changes with any code file, and not with specs or with where the package lies', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nxqv-digest-'));
    try {
      const copy = join(dir, 'a');
      cpSync(PLUGIN_ROOT, copy, {
        recursive: true,
        filter: (p) => !p.includes('node_modules') && !p.endsWith('/test'),
      });
      const original = digestOf(copy);
      assert.equal(original, pluginDigest(), 'the same files elsewhere give the same digest');
      writeFileSync(join(copy, 'src/config/extra.spec.ts'), 'a test');
      assert.equal(digestOf(copy), original, 'specs do not run in a build');
      writeFileSync(join(copy, 'src/guest/stage1.ts'), '// changed\n', { flag: 'a' });
      assert.notEqual(digestOf(copy), original);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
