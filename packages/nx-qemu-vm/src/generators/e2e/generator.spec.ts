import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { type Tree, readJson, readNxJson, updateNxJson, writeJson } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { REPO_ROOT } from '../../../test/helpers/temp-workspace';
import { snapshot } from '../../../test/helpers/tree-snapshot';
import { PLUGIN_NAME } from '../init/setup';
import { RUNNERS, RUNNER_NAMES } from './e2e-target';
import { e2eGenerator } from './generator';
import type { E2EGeneratorSchema } from './schema';

const MACHINES = {
  server: { vlans: [1], services: { web: { command: 'my-server' }, db: { command: 'my-db' } } },
  client: { vlans: [1] },
  'db-1': {},
};

/** A workspace with three machines; 'none': assert exactly what the generator wrote. */
function workspace(): Tree {
  const tree = createTreeWithEmptyWorkspace({ formatter: 'none' });
  writeJson(tree, 'workspace-vm.json', { machines: MACHINES });
  updateNxJson(tree, { ...readNxJson(tree), plugins: [PLUGIN_NAME] });
  return tree;
}

const run = (tree: Tree, options: Partial<E2EGeneratorSchema>) =>
  e2eGenerator(tree, { project: 'api-e2e', machines: ['server', 'client'], ...options });

/** Runs the generator expecting a refusal: returns the message and checks that no file changed. */
async function refusal(tree: Tree, options: Partial<E2EGeneratorSchema>): Promise<string> {
  const before = snapshot(tree);
  const err = await run(tree, options).then(
    () => assert.fail('expected the generator to refuse'),
    (e: Error) => e,
  );
  assert.deepEqual(snapshot(tree), before, 'nothing written');
  return err.message;
}

describe('e2e generator', () => {
  it('creates the project with a target that builds the machines first and sees their changes', async () => {
    const tree = workspace();
    tree.write('apps/.gitkeep', '');
    await run(tree, { runner: 'node' });
    const project = readJson(tree, 'apps/api-e2e/project.json');
    assert.equal(project.name, 'api-e2e');
    assert.equal(project.sourceRoot, 'apps/api-e2e/src');
    assert.deepEqual(project.targets, {
      e2e: {
        executor: 'nx:run-commands',
        options: { command: 'node --test', cwd: '{projectRoot}' },
        dependsOn: [{ projects: ['server', 'client'], target: 'prepare' }],
        inputs: ['default', { dependentTasksOutputFiles: '**/*', transitive: true }],
        outputs: [],
        cache: true,
      },
    });
  });

  it('uses the README test target: same dependsOn and inputs', () => {
    const readme = readFileSync(join(REPO_ROOT, 'packages/nx-qemu-vm/README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### A test target'));
    const example = JSON.parse(`{${/```json\n([\s\S]*?)\n```/.exec(section)![1]}}`).e2e;
    const tree = workspace();
    return run(tree, {}).then(() => {
      const target = readJson(tree, 'api-e2e/project.json').targets.e2e;
      assert.deepEqual(target.inputs, example.inputs);
      assert.deepEqual(target.dependsOn, example.dependsOn);
    });
  });

  it('writes a first test per runner that boots the machines, waits for their services and checks them', async () => {
    const expected = { node: 'mjs', vitest: 'ts', jest: 'cjs' };
    for (const runner of RUNNER_NAMES) {
      const tree = workspace();
      await run(tree, { runner, machines: ['server', 'db-1'], directory: 'e2e/api' });
      const test = tree.read(`e2e/api/src/machines.e2e.test.${expected[runner]}`, 'utf8')!;
      assert.match(test, /startMachines\(\['server', 'db-1'\]\)/, runner);
      assert.match(test, /const server = vms!?\.machines\.server;/, runner);
      assert.match(test, /const db1 = vms!?\.machines\['db-1'\];/, runner);
      assert.match(
        test,
        /await server\.waitForService\('web'\);\n\s+await server\.waitForService\('db'\);/,
      );
      assert.doesNotMatch(test, /db1\.waitForService/, 'db-1 has no services');
      assert.match(test, /succeed\('hostname'\)\)?[,.] ?(toBe\()?'db-1\\n'/, runner);
      assert.match(test, /shutdown\(\)/, runner);
      assert.match(
        test,
        /600_000/,
        `${runner}: a boot timeout well above the runner's 5 s default`,
      );
      // The runner's config, named so that Nx's Vite and Jest plugins infer no target from it.
      const config = RUNNERS[runner].command.split('--config ')[1];
      if (config) assert.ok(tree.exists(`e2e/api/${config}`), `${runner}: ${config}`);
    }
  });

  it('honours the plugin targetPrefix for the machines prepare targets', async () => {
    const tree = workspace();
    updateNxJson(tree, {
      ...readNxJson(tree),
      plugins: [{ plugin: PLUGIN_NAME, options: { targetPrefix: 'vm-' } }],
    });
    await run(tree, { machines: ['client'] });
    assert.deepEqual(readJson(tree, 'api-e2e/project.json').targets.e2e.dependsOn, [
      { projects: ['client'], target: 'vm-prepare' },
    ]);
  });

  it('is idempotent for every runner: a second run leaves every file as the first left it', async () => {
    for (const runner of RUNNER_NAMES) {
      const tree = workspace();
      const callback = await run(tree, { runner });
      const first = snapshot(tree);
      await run(tree, { runner });
      assert.deepEqual(snapshot(tree), first, runner);
      assert.equal(typeof callback, 'function');
    }
  });

  it('in an existing project, writes only the target and the machines as implicit dependencies, and keeps a test the user changed', async () => {
    const tree = workspace();
    const mine = {
      name: 'api-e2e',
      root: 'apps/api',
      tags: ['scope:api'],
      targets: { lint: { command: 'eslint .' }, e2e: { command: 'old' } },
    };
    writeJson(tree, 'apps/api/project.json', mine);
    tree.write('apps/api/src/machines.e2e.test.mjs', '// mine\n');
    await run(tree, { machines: ['client'] });
    const after = readJson(tree, 'apps/api/project.json');
    assert.deepEqual(
      { ...after, targets: { ...after.targets, e2e: undefined } },
      {
        ...mine,
        // Project-level affected (affected.legacy) follows graph edges only.
        implicitDependencies: ['client'],
        targets: { ...mine.targets, e2e: undefined },
      },
    );
    assert.deepEqual(after.targets.e2e.dependsOn, [{ projects: ['client'], target: 'prepare' }]);
    assert.equal(tree.read('apps/api/src/machines.e2e.test.mjs', 'utf8'), '// mine\n');

    await run(tree, { machines: ['client'], target: 'vm-test' });
    const both = readJson(tree, 'apps/api/project.json').targets;
    assert.deepEqual(Object.keys(both), ['lint', 'e2e', 'vm-test']);
  });

  it('in a project defined by its package.json, writes the target under "nx"', async () => {
    const tree = workspace();
    // Nx reads package.json projects within the workspace's npm workspaces.
    writeJson(tree, 'package.json', { name: 'ws', workspaces: ['packages/*'] });
    writeJson(tree, 'packages/api/package.json', { name: 'api-e2e', version: '1.0.0' });
    await run(tree, { runner: 'node' });
    const pkg = readJson(tree, 'packages/api/package.json');
    assert.equal(pkg.version, '1.0.0');
    assert.deepEqual(pkg.nx.targets.e2e.options, { command: 'node --test', cwd: '{projectRoot}' });
    assert.ok(!tree.exists('packages/api/project.json'));
  });

  it('adds the runner to devDependencies at the proven version, keeping one the workspace has', async () => {
    const proven = readFileSync(
      join(REPO_ROOT, 'packages/nx-qemu-vm/test/e2e/package.spec.ts'),
      'utf8',
    );
    for (const [name, version] of Object.entries({
      ...RUNNERS.vitest.devDependencies,
      ...RUNNERS.jest.devDependencies,
    }))
      assert.ok(
        proven.includes(`'${name}@${version.replace('~', '')}'`),
        `${name} ${version} as package.spec.ts`,
      );

    const tree = workspace();
    await run(tree, { runner: 'vitest' });
    const devDependencies = readJson(tree, 'package.json').devDependencies;
    assert.equal(devDependencies.vitest, RUNNERS.vitest.devDependencies.vitest);
    assert.equal(devDependencies.vite, RUNNERS.vitest.devDependencies.vite);

    const withJest = workspace();
    writeJson(withJest, 'package.json', { name: 'ws', devDependencies: { jest: '29.7.0' } });
    await run(withJest, { runner: 'jest' });
    assert.deepEqual(readJson(withJest, 'package.json').devDependencies, { jest: '29.7.0' });

    for (const options of [
      { runner: 'node' },
      { runner: 'jest', skipPackageJson: true },
    ] as const) {
      const tree = workspace();
      const before = tree.read('package.json', 'utf8');
      await run(tree, options);
      assert.equal(tree.read('package.json', 'utf8'), before, JSON.stringify(options));
    }
  });

  it('refuses unknown machines, naming them and the known ones, and writes nothing', async () => {
    const tree = workspace();
    assert.equal(
      await refusal(tree, { machines: ['server', 'web', 'api'] }),
      '"web", "api" are not machines of workspace-vm.json; it has: server, client, db-1.',
    );
    assert.match(await refusal(tree, { machines: ['sever'] }), /^"sever" is not a machine/);
    assert.match(await refusal(tree, { machines: [] }), /--machines is empty/);
  });

  it('refuses a bad runner, target, project or directory, and a workspace without machines', async () => {
    const tree = workspace();
    assert.match(
      await refusal(tree, { runner: 'mocha' as 'node' }),
      /--runner "mocha" is not one of node, vitest, jest/,
    );
    assert.match(await refusal(tree, { target: 'e2e ci' }), /--target "e2e ci"/);
    assert.match(await refusal(tree, { project: 'client' }), /"client" is a machine/);
    assert.match(await refusal(tree, { project: 'a b' }), /--project "a b"/);
    assert.match(await refusal(tree, { directory: '../out' }), /outside the workspace/);
    writeJson(tree, 'apps/api/project.json', { name: 'api-e2e' });
    assert.match(
      await refusal(tree, { directory: 'e2e/api' }),
      /exists at apps\/api; --directory e2e\/api does not match/,
    );
    tree.delete('workspace-vm.json');
    assert.match(await refusal(tree, {}), /there is no workspace-vm\.json/);
  });

  it('accepts --machines as the comma-separated string a programmatic caller may pass', async () => {
    const tree = workspace();
    await run(tree, { machines: 'server, client' as unknown as string[] });
    assert.deepEqual(readJson(tree, 'api-e2e/project.json').targets.e2e.dependsOn[0].projects, [
      'server',
      'client',
    ]);
  });

  it('keeps its templates where the build copies them and npm publishes them', () => {
    const files = join(__dirname, 'files');
    const all = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? all(join(dir, e.name)) : [relative(files, join(dir, e.name))],
      );
    const templates = all(files);
    assert.equal(templates.length, 5);
    for (const t of templates) {
      // tools/build-package.mjs copies every non-.ts file without ".spec."; package.json leaves out src/**/*.spec.*.
      assert.ok(t.endsWith('.template') && !t.includes('.spec.'), t);
    }
  });
});
