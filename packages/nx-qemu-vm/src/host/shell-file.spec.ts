import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { shellFile } from './shell-file';

const SRC = join(__dirname, '..');
const shellFiles = (readdirSync(SRC, { recursive: true }) as string[]).filter((f) =>
  f.endsWith('.sh'),
);

describe('the static shell programs', () => {
  it('pass shellcheck as they are, as sh', (t) => {
    assert.ok(shellFiles.length >= 6, shellFiles.join(' '));
    const res = spawnSync('shellcheck', ['-s', 'sh', '-f', 'gcc', ...shellFiles], {
      cwd: SRC,
      encoding: 'utf8',
    });
    if (res.error) return t.skip('shellcheck is not installed (apt-get install shellcheck)');
    assert.equal(res.status, 0, res.stdout + res.stderr);
  });

  it('leave their file-wide shellcheck directives behind when they follow a header', () => {
    for (const file of shellFiles) {
      const text = shellFile(file);
      assert.doesNotMatch(text, /^# shellcheck (shell=sh|disable=SC2154)$/m, file);
      assert.ok(text.length > 200, file);
    }
  });
});
