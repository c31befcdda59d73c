import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readJson, readNxJson, writeJson } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import workspaceSchema from '../../../workspace-vm.schema.json';
import { validateConfig } from '../../config/validate';
import { initGenerator } from '../init/generator';
import { PLUGIN_NAME, SCHEMA_REF } from '../init/setup';
import { snapshot } from '../../../test/helpers/tree-snapshot';
import { machineGenerator } from './generator';
import generatorSchema from './schema.json';

async function initialisedTree() {
  const tree = createTreeWithEmptyWorkspace({ formatter: 'none' });
  await initGenerator(tree, {});
  return tree;
}

/** Runs the generator expecting a refusal: returns the message and checks that no file changed. */
async function refusal(
  tree: Awaited<ReturnType<typeof initialisedTree>>,
  options: Parameters<typeof machineGenerator>[1],
): Promise<string> {
  const before = snapshot(tree);
  const err = await machineGenerator(tree, options).then(
    () => assert.fail('expected the generator to refuse'),
    (e: Error) => e,
  );
  assert.deepEqual(snapshot(tree), before, 'nothing written');
  return err.message;
}

describe('machine generator', () => {
  it('adds a machine that validates, next to the existing ones', async () => {
    const tree = await initialisedTree();
    await machineGenerator(tree, {
      name: 'web',
      memorySize: 2048,
      cores: 2,
      forwardPorts: '8080:80,2222:22',
      options: '{"accel":"tcg"}',
    });
    const config = readJson(tree, 'workspace-vm.json');
    assert.deepEqual(config, {
      $schema: SCHEMA_REF,
      machines: {
        vm: { graphics: false },
        web: {
          accel: 'tcg',
          memorySize: 2048,
          cores: 2,
          forwardPorts: [
            { host: { port: 8080 }, guest: { port: 80 } },
            { host: { port: 2222 }, guest: { port: 22 } },
          ],
        },
      },
    });
    const valid = validateConfig(config);
    assert.equal(
      valid.machines.web.forwardPorts[1].host.address,
      '',
      'defaults fill in as for a hand-written entry',
    );
  });

  it('sets up a fresh workspace with just the new machine', async () => {
    const tree = createTreeWithEmptyWorkspace({ formatter: 'none' });
    await machineGenerator(tree, {
      name: 'db',
      diskSize: 4096,
      graphics: false,
      useBootLoader: true,
      useEFIBoot: true,
    });
    assert.deepEqual(readNxJson(tree)!.plugins, [PLUGIN_NAME]);
    assert.deepEqual(readJson(tree, 'workspace-vm.json'), {
      $schema: SCHEMA_REF,
      machines: { db: { diskSize: 4096, graphics: false, useBootLoader: true, useEFIBoot: true } },
    });
  });

  it('rejects an invalid option with the path, the value and the rule, writing nothing', async () => {
    const tree = await initialisedTree();
    const message = await refusal(tree, { name: 'web', memorySize: 0 });
    assert.match(message, /^machine "web" was not added; nothing was written\./);
    assert.match(
      message,
      /machine "web": machines\.web\.memorySize = 0: must be >= 1 \(allowed: 1 to 1001472\)\./,
    );
  });

  it('reports every problem, including those in --options and --forwardPorts', async () => {
    const tree = await initialisedTree();
    const message = await refusal(tree, {
      name: 'web',
      forwardPorts: '70000:80',
      options: '{"memSize":1024}',
    });
    assert.match(message, /machines\.web\.forwardPorts\[0\]\.host\.port = 70000: must be <= 65535/);
    assert.match(
      message,
      /machines\.web\.memSize = 1024: unknown option "memSize"\. Did you mean "memorySize"\?/,
    );
  });

  it('rejects a name the schema does not allow', async () => {
    const tree = await initialisedTree();
    assert.match(
      await refusal(tree, { name: 'Web' }),
      /invalid machine name "Web": must match \^\[a-z0-9\]/,
    );
  });

  it('refuses a machine that exists and says how to change it instead', async () => {
    const tree = await initialisedTree();
    assert.match(
      await refusal(tree, { name: 'vm', memorySize: 1024 }),
      /machine "vm" already exists in workspace-vm\.json\. To change it, edit machines\.vm there/,
    );
  });

  it('refuses a name another project already has', async () => {
    const tree = await initialisedTree();
    writeJson(tree, 'apps/web/project.json', { name: 'web', root: 'apps/web' });
    assert.match(
      await refusal(tree, { name: 'web' }),
      /a project named "web" already exists \(apps\/web\)/,
    );
  });

  it('refuses unreadable --forwardPorts and --options before touching anything', async () => {
    const tree = await initialisedTree();
    assert.match(
      await refusal(tree, { name: 'web', forwardPorts: '8080' }),
      /--forwardPorts: "8080" is not/,
    );
    assert.match(
      await refusal(tree, { name: 'web', options: 'tcg' }),
      /--options is not valid JSON/,
    );
  });

  it('quotes the same defaults in its option descriptions as workspace-vm.schema.json', () => {
    const machine = workspaceSchema.definitions.machine.properties as Record<
      string,
      { default?: unknown }
    >;
    let checked = 0;
    for (const [key, prop] of Object.entries(
      generatorSchema.properties as Record<string, { description: string }>,
    )) {
      const quoted = /\(default (\w+)\)/.exec(prop.description)?.[1];
      if (quoted === undefined) continue;
      assert.equal(quoted, String(machine[key].default), `${key}'s description`);
      checked++;
    }
    assert.equal(checked, 6);
  });
});
