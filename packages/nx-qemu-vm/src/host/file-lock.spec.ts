import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { withFileLock } from './file-lock';

describe('withFileLock', () => {
  it('runs holders of one lock one after the other, and frees it when each ends', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nxqv-lock-'));
    try {
      const lock = join(dir, 'sub/build.lock');
      const events: string[] = [];
      let waited = 0;
      let releaseFirst!: () => void;
      const firstHolds = new Promise<void>((resolve) => (releaseFirst = resolve));
      let firstIn!: () => void;
      const firstEntered = new Promise<void>((resolve) => (firstIn = resolve));
      const first = withFileLock(
        lock,
        () => undefined,
        async () => {
          events.push('first in');
          firstIn();
          await firstHolds;
          events.push('first out');
        },
      );
      await firstEntered;
      // Another process sees the lock taken while the first holds it.
      const probe = spawnSync('flock', ['--nonblock', lock, 'true']);
      assert.notEqual(probe.status, 0, 'the lock is held');
      const second = withFileLock(
        lock,
        () => waited++,
        () => {
          events.push('second in');
          return Promise.resolve('result');
        },
      );
      // The second waits until the first lets go: more than the notice's second.
      setTimeout(releaseFirst, 1500);
      assert.equal(await second, 'result');
      await first;
      assert.deepEqual(events, ['first in', 'first out', 'second in']);
      assert.equal(waited, 1, 'the waiting holder said so once');
      assert.equal(spawnSync('flock', ['--nonblock', lock, 'true']).status, 0, 'the lock is free');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('frees the lock when the work fails, and passes the failure on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nxqv-lock-'));
    try {
      const lock = join(dir, 'build.lock');
      await assert.rejects(
        withFileLock(
          lock,
          () => undefined,
          () => Promise.reject(new Error('the build failed')),
        ),
        /the build failed/,
      );
      assert.equal(spawnSync('flock', ['--nonblock', lock, 'true']).status, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
