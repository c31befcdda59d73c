// End to end through the real Nx CLI, in a throwaway copy of the workspace.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTempWorkspace, type TempWorkspace } from '../helpers/temp-workspace';
import { loadResolved } from '../../src/config/load';
import { renderRunScript } from '../../src/qemu/run-script';
import { TARGET_FIELDS } from '../../src/plugin/target-inputs';
import { pluginDigest } from '../../src/plugin/plugin-digest';

describe('nx-qemu-vm through Nx', () => {
  let ws: TempWorkspace;
  before(() => {
    ws = createTempWorkspace({
      machines: {
        vm: { graphics: false },
        web: { memorySize: 1024, forwardPorts: [{ host: { port: 8080 }, guest: { port: 80 } }] },
        boot: { useBootLoader: true, useEFIBoot: true },
        data: { emptyDiskImages: [16] },
      },
    });
  });
  after(() => ws.remove());

  const showProject = (name: string) => {
    const res = ws.nx(['show', 'project', name, '--json']);
    assert.equal(res.status, 0, res.output);
    return JSON.parse(res.output.slice(res.output.indexOf('{')));
  };

  it('infers one project per machine, with every target described and grouped', () => {
    const web = showProject('web');
    assert.deepEqual(Object.keys(web.targets).sort(), [
      'build',
      'config',
      'empty-disks',
      'exec',
      'initrd',
      'prepare',
      'root-disk',
      'serve',
      'start',
    ]);
    for (const [name, target] of Object.entries<{ metadata: { description?: string } }>(
      web.targets,
    ))
      assert.ok((target.metadata.description ?? '').length > 20, `${name} has a description`);
    assert.deepEqual(web.metadata.targetGroups, {
      'Build (cached)': ['config', 'initrd', 'build'],
      'State (never cached)': ['root-disk', 'empty-disks'],
      Run: ['prepare', 'start', 'serve', 'exec'],
    });
    const boot = showProject('boot');
    assert.deepEqual(boot.metadata.targetGroups['Build (cached)'], [
      'config',
      'initrd',
      'build',
      'boot-disk',
    ]);
    assert.deepEqual(boot.metadata.targetGroups['State (never cached)'], [
      'root-disk',
      'empty-disks',
      'efi-vars',
    ]);
  });

  it('caches the pure steps and never the stateful ones, with dependsOn following the data', () => {
    const t = showProject('boot').targets;
    for (const name of ['config', 'initrd', 'build', 'boot-disk'])
      assert.equal(t[name].cache, true, name);
    for (const name of [
      'root-disk',
      'empty-disks',
      'efi-vars',
      'prepare',
      'start',
      'serve',
      'exec',
    ]) {
      assert.equal(t[name].cache, false, name);
      assert.equal(
        t[name].outputs?.length ?? 0,
        0,
        `${name} declares no outputs, so a cache restore cannot touch a disk`,
      );
    }
    assert.notEqual(
      t.start.continuous,
      true,
      'an interactive console cannot be a continuous task in Nx 24',
    );
    assert.deepEqual(t.initrd.dependsOn, ['config']);
    assert.deepEqual(t.build.dependsOn, ['config']);
    assert.deepEqual(t['boot-disk'].dependsOn, ['initrd']);
    assert.deepEqual(t['efi-vars'].dependsOn, ['boot-disk']);
    // A boot waits for the cached steps only: the run script makes the disks
    // and vars it lacks, so no never-cached task (a process each) runs per boot.
    assert.deepEqual([...t.exec.dependsOn].sort(), ['boot-disk', 'build', 'initrd']);
    assert.deepEqual(
      [...t.prepare.dependsOn].sort(),
      ['boot-disk', 'build', 'efi-vars', 'initrd', 'root-disk'],
      'prepare also makes the disks; no empty-disks task without empty disks',
    );
    assert.ok(showProject('data').targets.prepare.dependsOn.includes('empty-disks'));
    // start prepares the same targets through a nested Nx, so that it is the only task of its command.
    assert.deepEqual(t.start.options.prepare, t.exec.dependsOn);
    assert.equal(t.start.dependsOn, undefined);
    assert.equal(t.serve.continuous, true);
    assert.deepEqual(t.serve.readyWhen, { signal: true });
    assert.deepEqual(t.serve.dependsOn, t.exec.dependsOn);
    for (const target of t.exec.dependsOn)
      assert.ok(t.prepare.dependsOn.includes(target), `prepare builds ${target}, as a boot needs`);
  });

  it('hashes exactly the fields each step reads, our own source and the host files it copies', () => {
    const t = showProject('boot').targets;
    const fieldsOf = (name: string) =>
      t[name].inputs.find((i: { json?: string }) => i.json)?.fields;
    assert.deepEqual(fieldsOf('config'), ['machines.boot']);
    for (const name of ['initrd', 'build', 'boot-disk'] as const)
      assert.deepEqual(
        fieldsOf(name),
        TARGET_FIELDS[name].map((f) => `machines.boot.${f}`),
        name,
      );
    for (const name of ['config', 'initrd', 'build', 'boot-disk'])
      assert.ok(
        t[name].inputs.some(
          (i: { fileset?: string }) => i.fileset === '{workspaceRoot}/packages/nx-qemu-vm/src/**/*',
        ),
        `${name} hashes our source`,
      );
    // Nx hashes options, not executor code: the cached steps carry the digest of our files.
    const digest = pluginDigest();
    for (const name of ['config', 'initrd', 'build', 'boot-disk'])
      assert.equal(t[name].options.pluginDigest, digest, name);
    for (const name of ['root-disk', 'efi-vars', 'start', 'serve', 'exec'])
      assert.equal(t[name].options.pluginDigest, undefined, name);
    assert.ok(
      t['boot-disk'].inputs.some(
        (i: { dependentTasksOutputFiles?: string }) =>
          i.dependentTasksOutputFiles === '**/initrd.img',
      ),
    );
    assert.ok(
      t.initrd.inputs.some((i: { runtime?: string }) =>
        i.runtime?.includes('(sha256sum /boot/vmlinuz-*'),
      ),
    );
    assert.deepEqual(t.start.inputs, []);
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
    ws.writeConfig({
      machines: {
        vm: { memorySize: 0 },
        other: { forwardPorts: [{ host: { port: 70000 }, guest: { port: 1 } }] },
      },
    });
    try {
      const res = ws.nx(['run', 'vm:build']);
      assert.notEqual(res.status, 0);
      assert.match(res.output, /machine "vm": machines\.vm\.memorySize = 0: must be >= 1/);
      assert.match(
        res.output,
        /machine "other": machines\.other\.forwardPorts\[0\]\.host\.port = 70000: must be <= 65535/,
      );
      assert.ok(!existsSync(join(ws.root, 'dist/vm/vm')), 'no output for a rejected config');
    } finally {
      ws.writeConfig({ machines: { vm: {} } });
    }
  });

  it('keeps a broken workspace-vm.json from stopping unrelated work, and fails the broken machine with the problem', () => {
    const api = join(ws.root, 'apps/api');
    mkdirSync(api, { recursive: true });
    writeFileSync(
      join(api, 'project.json'),
      JSON.stringify({ name: 'api', targets: { build: { command: 'echo building api' } } }),
    );
    const problem = /machine "vm": machines\.vm\.memorySize = 0: must be >= 1/;
    ws.writeConfig({ machines: { vm: { memorySize: 0, useBootLoader: true }, ok: {} } });
    try {
      const projects = ws.nx(['show', 'projects']);
      assert.equal(projects.status, 0, projects.output);
      for (const name of ['api', 'vm', 'ok'])
        assert.match(projects.output, new RegExp(`^${name}$`, 'm'));
      assert.match(projects.output, problem, 'the graph still says what is wrong');
      const build = ws.nx(['run', 'api:build']);
      assert.equal(build.status, 0, build.output);
      assert.match(build.output, /building api/);
      // The broken machine keeps the targets it would have, each failing with the problem.
      for (const target of ['config', 'exec', 'boot-disk']) {
        const res = ws.nx([
          'run',
          `vm:${target}`,
          ...(target === 'exec' ? ['--command=true'] : []),
        ]);
        assert.notEqual(res.status, 0, res.output);
        assert.match(res.output, problem, target);
        assert.doesNotMatch(res.output, /Cannot find/i, target);
      }
      // (Not parsed: the warning follows the JSON in the output.)
      const ok = ws.nx(['show', 'project', 'ok', '--json']);
      assert.equal(ok.status, 0, ok.output);
      assert.match(
        ok.output,
        /"config":\{"executor":"nx-qemu-vm:config",/,
        'a valid machine keeps its targets',
      );
      // Not JSON at all: no machine projects, a warning, and the rest of the graph.
      writeFileSync(join(ws.root, 'workspace-vm.json'), '{ "machines": {');
      const unparsed = ws.nx(['show', 'projects']);
      assert.equal(unparsed.status, 0, unparsed.output);
      assert.match(unparsed.output, /^api$/m);
      assert.doesNotMatch(unparsed.output, /^(vm|ok)$/m);
      assert.match(
        unparsed.output,
        /workspace-vm\.json has 1 problem:\n {2}- \(file\): is not valid JSON: .* at line 1, column \d+/,
      );
    } finally {
      rmSync(join(ws.root, 'apps'), { recursive: true, force: true });
      ws.writeConfig({ machines: { vm: {} } });
    }
  });

  it('warns when nx.json turns legacy affected on, which hides machine changes from nx affected', () => {
    const nxJson = join(ws.root, 'nx.json');
    const original = readFileSync(nxJson, 'utf8');
    const warning =
      /nx\.json sets "affected": \{ "legacy": true \}[^]*remove "legacy" from "affected"/;
    try {
      writeFileSync(
        nxJson,
        JSON.stringify({ ...JSON.parse(original), affected: { legacy: true } }),
      );
      const on = ws.nx(['show', 'projects']);
      assert.equal(on.status, 0, on.output);
      assert.match(on.output, warning);
      assert.equal(on.output.match(/"legacy": true/g)?.length, 1, 'once per process');
      writeFileSync(
        nxJson,
        JSON.stringify({ ...JSON.parse(original), affected: { legacy: false } }),
      );
      const off = ws.nx(['show', 'projects']);
      assert.equal(off.status, 0, off.output);
      assert.doesNotMatch(off.output, /legacy/);
    } finally {
      writeFileSync(nxJson, original);
    }
  });
});
