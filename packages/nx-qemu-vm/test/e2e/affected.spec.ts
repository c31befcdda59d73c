// `nx affected` in a real git repository: a change to one machine's entry in
// workspace-vm.json selects that machine's tasks and the tests that depend on
// it through `prepare`, and nothing else; so do adding and removing machines.
// Nx 24 selects affected tasks by their inputs: the machines' targets hash
// their own fields of workspace-vm.json, and a test target reads what its
// machine's targets produce (dependentTasksOutputFiles). Not covered, and
// documented: removing or reordering machines before a machine on a vlan moves
// its address, which its cache key sees (the position is in its options) but
// `nx affected` does not (it compares inputs between commits, not options).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TempWorkspace, createTempWorkspace } from '../helpers/temp-workspace';

/** A project whose `test` target boots `machine` (the target the README shows). */
function testProject(name: string, machine: string) {
  return {
    name,
    // As `nx g nx-qemu-vm:e2e` writes it: project-level affected follows graph edges.
    implicitDependencies: [machine],
    targets: {
      test: {
        command: `echo testing with ${machine}`,
        dependsOn: [{ projects: [machine], target: 'prepare' }],
        inputs: ['{projectRoot}/**/*', { dependentTasksOutputFiles: '**/*', transitive: true }],
        cache: true,
      },
    },
  };
}

describe('nx affected sees machine changes', { timeout: 10 * 60_000 }, () => {
  let ws: TempWorkspace;
  const git = (...args: string[]) => {
    const res = spawnSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], {
      cwd: ws.root,
      encoding: 'utf8',
    });
    assert.equal(res.status, 0, res.stderr);
  };
  const config = () => JSON.parse(readFileSync(join(ws.root, 'workspace-vm.json'), 'utf8'));
  /** Projects with an affected `target` task, against the last commit. */
  const affected = (target: string, legacy = false): string[] => {
    const res = ws.nx(['show', 'projects', '--affected', '--base=HEAD', '-t', target, '--json'], {
      NX_LEGACY_AFFECTED: String(legacy),
    });
    assert.equal(res.status, 0, res.output);
    // One line of JSON on stdout; the plugin's warnings (stderr) follow it in the output.
    const json = res.output.split('\n').find((line) => line.startsWith('['));
    return (JSON.parse(json ?? res.output) as string[]).sort();
  };

  before(() => {
    ws = createTempWorkspace({ machines: { vm: {}, db: { vlans: [1] }, cache: { vlans: [1] } } });
    for (const [project, machine] of [
      ['web', 'vm'],
      ['api', 'db'],
    ]) {
      mkdirSync(join(ws.root, 'apps', project), { recursive: true });
      writeFileSync(
        join(ws.root, 'apps', project, 'project.json'),
        JSON.stringify(testProject(project, machine), null, 2),
      );
    }
    writeFileSync(join(ws.root, '.gitignore'), 'node_modules\ndist\n.nx\n.vm\n');
    git('init', '-q');
    git('add', '-A');
    git('commit', '-qm', 'machines');
  });
  after(() => ws?.remove());

  it('nothing is affected without a change', () => {
    assert.deepEqual(affected('test'), []);
    assert.deepEqual(affected('build'), []);
  });

  it("a machine's field marks that machine and the tests that use it, and only them", () => {
    const c = config();
    c.machines.vm.memorySize = 2048;
    ws.writeConfig(c);
    assert.deepEqual(affected('build'), ['vm']);
    assert.deepEqual(affected('test'), ['web']);
    // Project-level (affected.legacy) sees no machine in a change to workspace-vm.json (the plugin warns).
    assert.deepEqual(affected('test', true), []);
    // memorySize reaches the scripts, not the initrd.
    assert.deepEqual(affected('initrd'), []);
    git('commit', '-qam', 'memory');
  });

  it('a field the initrd reads marks the initrd step too', () => {
    const c = config();
    c.machines.db.postBootCommands = 'echo ready';
    ws.writeConfig(c);
    assert.deepEqual(affected('initrd'), ['db']);
    assert.deepEqual(affected('test'), ['api']);
    git('commit', '-qam', 'modules');
  });

  it('adding a machine marks the new machine only', () => {
    const c = config();
    c.machines.extra = { memorySize: 512 };
    ws.writeConfig(c);
    assert.deepEqual(affected('config'), ['extra']);
    assert.deepEqual(affected('test'), []);
    git('commit', '-qam', 'extra');
  });

  it('removing a machine marks nothing else', () => {
    const c = config();
    delete c.machines.extra;
    ws.writeConfig(c);
    for (const target of ['config', 'initrd', 'build', 'test'])
      assert.deepEqual(affected(target), [], target);
  });

  it('breaking a machine marks it and its tests, so that CI fails rather than skips them', () => {
    git('commit', '-qam', 'no extra');
    const c = config();
    c.machines.vm.memorySize = 0;
    ws.writeConfig(c);
    // Its targets all fail with the problem; they take the whole file as their input.
    assert.deepEqual(affected('build'), ['vm']);
    assert.deepEqual(affected('test'), ['web']);
  });
});

describe(
  'nx affected sees a change to software a machine installs',
  { timeout: 10 * 60_000 },
  () => {
    let ws: TempWorkspace;
    const git = (...args: string[]) => {
      const res = spawnSync(
        'git',
        ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args],
        {
          cwd: ws.root,
          encoding: 'utf8',
        },
      );
      assert.equal(res.status, 0, res.stderr);
    };
    const projects = (legacy: boolean, target?: string): string[] => {
      const res = ws.nx(
        [
          'show',
          'projects',
          '--affected',
          '--base=HEAD',
          ...(target ? ['-t', target] : []),
          '--json',
        ],
        { NX_LEGACY_AFFECTED: String(legacy) },
      );
      assert.equal(res.status, 0, res.output);
      const json = res.output.split('\n').find((line) => line.startsWith('['));
      return (JSON.parse(json ?? res.output) as string[]).sort();
    };
    const project = (name: string, config: object) => {
      mkdirSync(join(ws.root, 'apps', name, 'src'), { recursive: true });
      writeFileSync(
        join(ws.root, 'apps', name, 'project.json'),
        JSON.stringify({ name, ...config }),
      );
      writeFileSync(join(ws.root, 'apps', name, 'src/main.js'), `// ${name}\n`);
    };

    before(() => {
      ws = createTempWorkspace({
        machines: { server: { install: [{ target: 'lib:build', to: '/opt/lib' }] }, client: {} },
      });
      project('lib', {
        targets: {
          build: {
            command: 'mkdir -p dist/lib && cp apps/lib/src/main.js dist/lib/',
            inputs: ['{projectRoot}/**/*'],
            outputs: ['{workspaceRoot}/dist/lib'],
            cache: true,
          },
        },
      });
      project('e2e', testProject('e2e', 'server'));
      project('web', testProject('web', 'client'));
      writeFileSync(join(ws.root, '.gitignore'), 'node_modules\ndist\n.nx\n.vm\n');
      git('init', '-q');
      git('add', '-A');
      git('commit', '-qm', 'machines');
      writeFileSync(join(ws.root, 'apps/lib/src/main.js'), '// lib, changed\n');
    });
    after(() => ws?.remove());

    for (const legacy of [false, true])
      it(`selects the machine that installs it and the tests that boot that machine (affected.legacy ${legacy})`, () => {
        assert.deepEqual(projects(legacy), ['e2e', 'lib', 'server']);
        assert.deepEqual(projects(legacy, 'test'), ['e2e']);
        assert.deepEqual(projects(legacy, 'install'), ['server']);
        // By inputs, the change reaches no other step of the machine; by project, all of them.
        assert.deepEqual(projects(legacy, 'initrd'), legacy ? ['server'] : []);
      });
  },
);
