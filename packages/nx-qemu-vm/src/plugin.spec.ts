// End to end through the real Nx CLI, in a throwaway copy of the workspace.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createTempWorkspace, type TempWorkspace } from './testing/temp-workspace';
import { loadResolved } from './config/load';
import { renderRunScript } from './qemu/run-script';

describe('nx-qemu-vm through Nx', () => {
  let ws: TempWorkspace;
  before(() => {
    ws = createTempWorkspace({ machines: { vm: { graphics: false }, web: { memorySize: 1024, forwardPorts: [{ host: { port: 8080 }, guest: { port: 80 } }] } } });
  });
  after(() => ws.remove());

  it('infers one project per machine, with a described, cached build target', () => {
    const res = ws.nx(['show', 'project', 'web', '--json']);
    assert.equal(res.status, 0, res.output);
    const project = JSON.parse(res.output.slice(res.output.indexOf('{')));
    const build = project.targets.build;
    assert.equal(build.cache, true);
    assert.deepEqual(build.outputs, ['{workspaceRoot}/dist/vm/web/bin']);
    assert.match(build.metadata.description, /run-web-vm/);
    assert.deepEqual(build.inputs[0], { json: '{workspaceRoot}/workspace-vm.json', fields: ['machines.web'] });
    assert.ok(build.inputs.some((i: { fileset?: string }) => i.fileset === '{workspaceRoot}/packages/nx-qemu-vm/src/**/*'), 'our own source is an input');
  });

  it('writes the run script, then serves it from the cache', () => {
    const first = ws.nx(['run', 'web:build']);
    assert.equal(first.status, 0, first.output);
    const script = join(ws.root, 'dist/vm/web/bin/run-web-vm');
    assert.equal(statSync(script).mode & 0o777, 0o755);
    const expected = renderRunScript(loadResolved(join(ws.root, 'workspace-vm.json')).web);
    assert.equal(readFileSync(script, 'utf8'), expected);
    const second = ws.nx(['run', 'web:build']);
    assert.equal(second.status, 0, second.output);
    assert.match(second.output, /local cache|existing outputs match the cache/);
  });

  it('rejects an invalid config with a precise message and writes nothing', () => {
    ws.writeConfig({ machines: { vm: { memorySize: 0 }, other: { forwardPorts: [{ host: { port: 70000 }, guest: { port: 1 } }] } } });
    try {
      const res = ws.nx(['run', 'vm:build']);
      assert.notEqual(res.status, 0);
      assert.match(res.output, /machine "vm": machines\.vm\.memorySize = 0: must be >= 1/);
      assert.match(res.output, /machine "other": machines\.other\.forwardPorts\[0\]\.host\.port = 70000: must be <= 65535/);
      assert.ok(!existsSync(join(ws.root, 'dist/vm/vm')), 'no output for a rejected config');
    } finally {
      ws.writeConfig({ machines: { vm: {} } });
    }
  });
});
