import { describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { logger, readJson, readNxJson, updateNxJson, writeJson } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { validateConfig } from '../../config/validate';
import { REPO_ROOT } from '../../../test/helpers/temp-workspace';
import { snapshot } from '../../../test/helpers/tree-snapshot';
import { DEFAULT_MACHINES, initGenerator } from './generator';
import { PLUGIN_NAME, SCHEMA_REF } from './setup';
import { affectedLegacyWarning } from '../../plugin/affected-legacy';

// 'none': assert exactly what the generator wrote, not what a formatter made of it.
const emptyTree = () => createTreeWithEmptyWorkspace({ formatter: 'none' });

describe('init generator', () => {
  it('keeps machine disks and outputs out of git (and Nx hashing), once', async () => {
    const tree = emptyTree();
    tree.write('.gitignore', 'node_modules\ndist/vm');
    await initGenerator(tree, {});
    await initGenerator(tree, {});
    assert.equal(
      tree.read('.gitignore', 'utf-8'),
      'node_modules\ndist/vm\n# nx-qemu-vm: machine disks and build outputs\n.vm/\n',
    );
  });

  it('registers the plugin and writes a valid workspace-vm.json with a headless vm', async () => {
    const tree = emptyTree();
    const before = readNxJson(tree)!;
    await initGenerator(tree, {});
    const after = readNxJson(tree)!;
    assert.deepEqual(after.plugins, [PLUGIN_NAME]);
    assert.deepEqual(
      { ...after, plugins: undefined },
      { ...before, plugins: undefined, neverConnectToCloud: true },
      'nothing else in nx.json changes',
    );
    const config = readJson(tree, 'workspace-vm.json');
    assert.deepEqual(config, { $schema: SCHEMA_REF, machines: { vm: { graphics: false } } });
    assert.deepEqual(Object.keys(validateConfig(config).machines), ['vm']);
    assert.equal(DEFAULT_MACHINES.vm.graphics, false);
  });

  it('points $schema where the package installs the schema, as this repository does', () => {
    const own = JSON.parse(readFileSync(join(REPO_ROOT, 'workspace-vm.json'), 'utf8'));
    assert.equal(own.$schema, SCHEMA_REF);
    assert.ok(
      existsSync(join(REPO_ROOT, SCHEMA_REF)),
      `${SCHEMA_REF} resolves from the workspace root`,
    );
    const pkg = JSON.parse(
      readFileSync(join(REPO_ROOT, 'packages/nx-qemu-vm/package.json'), 'utf8'),
    );
    assert.equal(pkg.name, PLUGIN_NAME);
    assert.ok(pkg.files.includes('workspace-vm.schema.json'), 'the schema is published');
  });

  it('leaves a decision about Nx Cloud alone, and can be told to leave it alone', async () => {
    for (const decided of [{ nxCloudId: 'abc' }, { neverConnectToCloud: false }]) {
      const tree = emptyTree();
      updateNxJson(tree, { ...readNxJson(tree), ...decided });
      await initGenerator(tree, {});
      assert.equal(readNxJson(tree)!.neverConnectToCloud, decided.neverConnectToCloud);
    }
    const tree = emptyTree();
    await initGenerator(tree, { keepCloudAdvice: true });
    assert.equal(readNxJson(tree)!.neverConnectToCloud, undefined);
  });

  it('is idempotent: a second run leaves every file as the first left it', async () => {
    const tree = emptyTree();
    await initGenerator(tree, {});
    const first = snapshot(tree);
    await initGenerator(tree, {});
    assert.deepEqual(snapshot(tree), first);
    assert.equal(readNxJson(tree)!.plugins!.length, 1);
  });

  it('keeps an existing plugin entry in object form and adds no second one', async () => {
    const tree = emptyTree();
    const entry = { plugin: PLUGIN_NAME, options: { targetPrefix: 'vm-' }, exclude: ['legacy/**'] };
    updateNxJson(tree, { ...readNxJson(tree), plugins: ['@nx/js/typescript', entry] });
    const nxJsonBefore = tree.read('nx.json', 'utf8');
    await initGenerator(tree, { keepCloudAdvice: true });
    assert.equal(tree.read('nx.json', 'utf8'), nxJsonBefore);
  });

  it('appends to other plugins, keeping their order', async () => {
    const tree = emptyTree();
    updateNxJson(tree, {
      ...readNxJson(tree),
      plugins: ['@nx/js/typescript', { plugin: '@nx/eslint/plugin' }],
    });
    await initGenerator(tree, {});
    assert.deepEqual(readNxJson(tree)!.plugins, [
      '@nx/js/typescript',
      { plugin: '@nx/eslint/plugin' },
      PLUGIN_NAME,
    ]);
  });

  it('never overwrites an existing workspace-vm.json', async () => {
    const tree = emptyTree();
    writeJson(tree, 'workspace-vm.json', { machines: { db: { memorySize: 2048 }, web: {} } });
    const before = tree.read('workspace-vm.json', 'utf8');
    await initGenerator(tree, {});
    assert.equal(tree.read('workspace-vm.json', 'utf8'), before);
    assert.deepEqual(readNxJson(tree)!.plugins, [PLUGIN_NAME]);
  });

  it('warns about affected.legacy in nx.json, and leaves it as it is', async () => {
    const warned = async (affected: object | undefined) => {
      const tree = emptyTree();
      if (affected) updateNxJson(tree, { ...readNxJson(tree), affected });
      const warn = mock.method(logger, 'warn', () => undefined);
      try {
        await (
          await initGenerator(tree, {})
        )();
        return {
          said: warn.mock.calls.map((c) => String(c.arguments[0])),
          nxJson: readNxJson(tree)!,
        };
      } finally {
        warn.mock.restore();
      }
    };
    const on = await warned({ legacy: true });
    assert.deepEqual(on.said, [affectedLegacyWarning({ affected: { legacy: true } })]);
    assert.match(on.said[0], /workspace-vm\.json/);
    assert.deepEqual(on.nxJson.affected, { legacy: true }, "nx.json is the user's to change");
    assert.deepEqual((await warned({ legacy: false })).said, []);
    assert.deepEqual((await warned(undefined)).said, []);
  });

  it('creates nx.json when the workspace has none', async () => {
    const tree = emptyTree();
    tree.delete('nx.json');
    await initGenerator(tree, {});
    assert.deepEqual(readNxJson(tree), { plugins: [PLUGIN_NAME], neverConnectToCloud: true });
  });
});
