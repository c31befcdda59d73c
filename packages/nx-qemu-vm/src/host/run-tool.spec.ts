import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ToolError, runTool, runToolBuffer } from './run-tool';

describe('runTool', () => {
  it('passes stdin through and returns stdout as text or bytes', async () => {
    assert.equal((await runTool('cat', [], { input: Buffer.from('héllo') })).stdout, 'héllo');
    const bin = Buffer.from([0, 255, 10, 13]);
    assert.ok((await runToolBuffer('cat', [], { input: bin })).stdout.equals(bin));
  });

  it('rejects on a non-zero exit with the command, status and stderr', async () => {
    await assert.rejects(runTool('sh', ['-c', 'echo broken >&2; exit 3']), (e: unknown) => {
      assert.ok(e instanceof ToolError);
      assert.equal(e.exitCode, 3);
      assert.match(e.message, /^sh -c .* exited with status 3: broken$/);
      return true;
    });
    const r = await runTool('sh', ['-c', 'exit 4'], { allowFailure: true });
    assert.equal(r.exitCode, 4);
  });

  it('names the Debian package when the tool is missing', async () => {
    await assert.rejects(
      runTool('no-such-tool-nxqv', [], { debianPackage: 'nx-tools' }),
      /cannot run no-such-tool-nxqv: .*apt-get install nx-tools/,
    );
  });

  it('survives a tool that exits without reading its input', async () => {
    const r = await runTool('true', [], { input: Buffer.alloc(4 << 20) });
    assert.equal(r.exitCode, 0);
  });
});
