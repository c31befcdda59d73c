// The test API is required by test runners that load CommonJS only (Jest):
// nothing it imports may be an ES module, such as execa, which the build
// steps use through host/attached.ts and host/run-tool.ts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

describe('nx-qemu-vm/testing', () => {
  it('loads no ES module (execa), so that Jest can require it', () => {
    const res = spawnSync(
      process.execPath,
      [
        '-r',
        '@swc-node/register',
        '-e',
        "require('./index'); console.log(Object.keys(require.cache).filter((f) => /[\\\\/]execa[\\\\/]|host[\\\\/](attached|run-tool)\\./.test(f)).join('\\n'))",
      ],
      { cwd: __dirname, encoding: 'utf8' },
    );
    assert.equal(res.status, 0, res.stderr);
    assert.equal(res.stdout.trim(), '', 'loaded by the test API');
  });
});
