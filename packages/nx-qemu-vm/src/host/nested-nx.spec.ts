import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nestedEnv, prepareCommand } from './nested-nx';

describe('a nested Nx', () => {
  it('runs the targets of the machines, with its output shown', () => {
    assert.deepEqual(
      prepareCommand('/ws/node_modules/nx/dist/bin/nx.js', ['web', 'db'], ['build', 'root-disk']),
      [
        '/ws/node_modules/nx/dist/bin/nx.js',
        'run-many',
        '--targets',
        'build,root-disk',
        '--projects',
        'web,db',
        '--output-style=static',
      ],
    );
  });

  it("drops the outer task's Nx variables and keeps the user's", () => {
    const env = nestedEnv({
      NX_TASK_TARGET_PROJECT: 'vm',
      NX_FORKED_TASK_EXECUTOR: 'true',
      NX_TERMINAL_OUTPUT_PATH: '/x',
      NX_DAEMON: 'false',
      NX_SELF_HOSTED_REMOTE_CACHE_SERVER: 'http://c',
      PATH: '/bin',
    });
    assert.deepEqual(env, {
      NX_DAEMON: 'false',
      NX_SELF_HOSTED_REMOTE_CACHE_SERVER: 'http://c',
      PATH: '/bin',
    });
  });
});
