// End to end through the real Nx CLI: `nx g` finds the generators through
// generators.json, and the projects they describe show up in the graph.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { createTempWorkspace, type TempWorkspace } from '../helpers/temp-workspace';
import { PLUGIN_NAME, SCHEMA_REF } from '../../src/generators/init/setup';

describe('generators through Nx', () => {
  let ws: TempWorkspace;
  const read = (file: string) => readFileSync(join(ws.root, file), 'utf8');
  const ok = (args: string[]) => {
    const res = ws.nx(args);
    assert.equal(res.status, 0, res.output);
    return res.output;
  };

  before(() => {
    // A workspace as `nx add` finds it: the package installed, not yet set up.
    ws = createTempWorkspace({ machines: {} }, 'nx-qemu-vm-gen-');
    rmSync(join(ws.root, 'workspace-vm.json'));
    const nxJson = JSON.parse(read('nx.json'));
    delete nxJson.plugins;
    writeFileSync(join(ws.root, 'nx.json'), JSON.stringify(nxJson, null, 2) + '\n');
  });
  after(() => ws.remove());

  it('init registers the plugin and writes workspace-vm.json; a second run changes nothing', () => {
    assert.match(ok(['g', 'nx-qemu-vm:init']), /CREATE.*workspace-vm\.json/);
    const nxJson = read('nx.json');
    const config = read('workspace-vm.json');
    assert.deepEqual(JSON.parse(nxJson).plugins, [PLUGIN_NAME]);
    assert.deepEqual(JSON.parse(config), {
      $schema: SCHEMA_REF,
      machines: { vm: { graphics: false } },
    });
    assert.doesNotMatch(ok(['g', 'nx-qemu-vm:init']), /CREATE|UPDATE/);
    assert.equal(read('nx.json'), nxJson);
    assert.equal(read('workspace-vm.json'), config);
  });

  it('machine adds a project; an invalid one is refused with the path and leaves the file alone', () => {
    ok(['g', 'nx-qemu-vm:machine', 'web', '--memorySize=2048', '--forwardPorts=8080:80']);
    assert.deepEqual(JSON.parse(read('workspace-vm.json')).machines.web, {
      memorySize: 2048,
      forwardPorts: [{ host: { port: 8080 }, guest: { port: 80 } }],
    });
    const projects = ok(['show', 'projects', '--json']);
    const names: string[] = JSON.parse(projects.slice(projects.indexOf('[')));
    assert.ok(names.includes('vm') && names.includes('web'), projects);

    const config = read('workspace-vm.json');
    const bad = ws.nx(['g', 'nx-qemu-vm:machine', 'db', '--cores=0']);
    assert.notEqual(bad.status, 0);
    assert.match(bad.output, /machine "db": machines\.db\.cores = 0: must be >= 1/);
    assert.equal(read('workspace-vm.json'), config);
  });

  it('e2e wires a test project to the machines, Nx builds them first, and a second run changes nothing', () => {
    // The machines of the tests above: vm and web.
    const generate = ['g', 'nx-qemu-vm:e2e', 'api-e2e', '--machines=vm,web', '--runner=node'];
    // Nx colours CREATE and UPDATE even without a terminal.
    const first = stripVTControlCharacters(ok([...generate, '--directory=apps/api-e2e']));
    assert.match(first, /CREATE apps\/api-e2e\/project\.json/);
    assert.match(first, /CREATE apps\/api-e2e\/src\/machines\.e2e\.test\.mjs/);
    const project = read('apps/api-e2e/project.json');
    const test = read('apps/api-e2e/src/machines.e2e.test.mjs');
    assert.deepEqual(JSON.parse(project).targets.e2e, {
      executor: 'nx:run-commands',
      options: { command: 'node --test', cwd: '{projectRoot}' },
      dependsOn: [{ projects: ['vm', 'web'], target: 'prepare' }],
      inputs: ['default', { dependentTasksOutputFiles: '**/*', transitive: true }],
      outputs: [],
      cache: true,
    });
    // Through the workspace's Prettier (defaults here: double quotes).
    assert.match(test, /startMachines\(\[["']vm["'], ["']web["']\]\)/);

    // Nx's task graph (printed, nothing run): both machines are prepared before the tests.
    const graph = ok(['run', 'api-e2e:e2e', '--graph=stdout']);
    const tasks = JSON.parse(graph.slice(graph.indexOf('{'))).tasks;
    const before = tasks.dependencies['api-e2e:e2e'].map((d: { id: string }) => d.id).sort();
    assert.deepEqual(before, ['vm:prepare', 'web:prepare']);

    assert.doesNotMatch(ok(generate), /CREATE|UPDATE|DELETE/);
    assert.equal(read('apps/api-e2e/project.json'), project);
    assert.equal(read('apps/api-e2e/src/machines.e2e.test.mjs'), test);

    const bad = ws.nx(['g', 'nx-qemu-vm:e2e', 'api-e2e', '--machines=vm,nope']);
    assert.notEqual(bad.status, 0);
    assert.match(bad.output, /"nope" is not a machine of workspace-vm\.json; it has: vm, web\./);
    assert.equal(read('apps/api-e2e/project.json'), project);
  });
});
