// The package as a user gets it: packed, published to a local registry
// (Verdaccio), added with `nx add` to a new workspace that create-nx-workspace
// made, in a directory whose path holds a space, on this machine's Node and on
// Node 22. Then a real boot through the installed package.
//
// The registry this project reaches has create-nx-workspace up to 23.2.1 and
// nx up to 24.0.6 (no create-nx-workspace 24), so the workspace is created
// with the former and moved to Nx 24 with `npm install nx@24.0.6`, as a team
// upgrading would.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { stripVTControlCharacters } from 'node:util';
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { type LocalRegistry, packAndPublish, startLocalRegistry } from '../helpers/local-registry';
import { REPO_ROOT } from '../helpers/temp-workspace';
import { nodeBinDir } from '../helpers/node-binary';
import { writeApiMain, writeApiProject } from '../helpers/api-project';
import { SUPPORTED_NODE } from '../../src/require-node';

const CREATE_NX_WORKSPACE = 'create-nx-workspace@23.2.1';
/** The test runners nx-qemu-vm/testing is proven with (Vitest 4.1 with Vite 8.3 runs on Node 20). */
const RUNNERS = ['vitest@4.1.12', 'vite@8.3.8', 'jest@30.5.2'];
const NX_VERSION = '24.0.6';
/** Node 22 LTS, and the last 20 release that cannot require() ES modules. */
const NODE_22 = '22.23.3';
const NODE_TOO_OLD = '20.18.3';
/** Nx's advertisement for its hosted cache, printed after slow runs. */
const CLOUD_ADVICE = /sharing a cache across your team|Nx Cloud|Nx Agents/;

interface Run {
  status: number | null;
  output: string;
}

describe('the published package in a new workspace', { timeout: 40 * 60_000 }, () => {
  let tmp: string;
  /** The workspace of the Node 20 test, which the test-runner test goes on with. */
  let node20Workspace: string | undefined;
  let registry: LocalRegistry;
  let tarball: string;

  /** Runs a command with `node` from `nodeDir`, npm pointed at the local registry. */
  const run = (
    cwd: string,
    argv: string[],
    nodeDir: string,
    env: Record<string, string> = {},
  ): Run => {
    const res = spawnSync(argv[0], argv.slice(1), {
      cwd,
      encoding: 'utf8',
      timeout: 15 * 60_000,
      env: {
        // This file runs under node --test: a `node --test` of the user's must not think it is nested in it.
        ...Object.fromEntries(
          Object.entries(process.env).filter(([k]) => k !== 'NODE_TEST_CONTEXT'),
        ),
        PATH: `${nodeDir}:${process.env.PATH}`,
        npm_config_userconfig: registry.npmrc,
        npm_config_cache: join(tmp, 'npm-cache'),
        npm_config_update_notifier: 'false',
        npm_config_fund: 'false',
        npm_config_audit: 'false',
        // What a user's shell has: no opt-out of Nx Cloud from the environment.
        NX_NO_CLOUD: '',
        VM_ACCEL: 'tcg',
        ...env,
      },
    });
    return { status: res.status, output: `${res.stdout}${res.stderr}` };
  };
  const ok = (res: Run, what: string): string => {
    assert.equal(res.status, 0, `${what} failed:\n${res.output}`);
    return res.output;
  };

  /** A new workspace, on Nx 24, in `<tmp>/<name with a space>`. */
  const createWorkspace = (label: string, nodeDir: string): string => {
    const parent = join(tmp, label);
    mkdirSync(parent);
    ok(
      run(
        parent,
        [
          'npx',
          '-y',
          CREATE_NX_WORKSPACE,
          'ws',
          '--preset=apps',
          '--nxCloud=skip',
          '--interactive=false',
          '--packageManager=npm',
          '--skipGit',
          '--analytics=false',
          '--aiAgents=none',
          '--formatter=none',
          '--linter=none',
        ],
        nodeDir,
      ),
      'create-nx-workspace',
    );
    const ws = join(parent, 'ws');
    ok(
      run(ws, ['npm', 'install', '--save-dev', '--save-exact', `nx@${NX_VERSION}`], nodeDir),
      'npm install nx',
    );
    return ws;
  };
  const nx = (ws: string, args: string[], nodeDir: string, env: Record<string, string> = {}) =>
    run(ws, ['npx', 'nx', ...args], nodeDir, env);

  /** `nx add`, then what the workspace must look like afterwards. */
  const addPlugin = (ws: string, nodeDir: string): void => {
    ok(nx(ws, ['add', 'nx-qemu-vm'], nodeDir), 'nx add nx-qemu-vm');
    const nxJson = JSON.parse(readFileSync(join(ws, 'nx.json'), 'utf8'));
    assert.ok(nxJson.plugins.includes('nx-qemu-vm'), JSON.stringify(nxJson.plugins));
    assert.equal(nxJson.neverConnectToCloud, true);
    const config = JSON.parse(readFileSync(join(ws, 'workspace-vm.json'), 'utf8'));
    assert.deepEqual(config.machines, { vm: { graphics: false } });
    const schema = JSON.parse(readFileSync(join(ws, config.$schema), 'utf8'));
    assert.equal(schema.title, 'WorkspaceVmFile', `${config.$schema} resolves to our schema`);
    // Nothing TypeScript came with us: no compiler, no transpiler, no tsconfig.
    for (const name of ['typescript', '@swc/core', '@swc-node/register'])
      assert.ok(!existsSync(join(ws, 'node_modules', name)), `${name} is not installed`);
    assert.deepEqual(
      readdirSync(ws).filter((f) => f.startsWith('tsconfig')),
      [],
    );
  };

  /** A real boot through the installed package. */
  const bootAndShow = (ws: string, nodeDir: string): void => {
    const exec = nx(
      ws,
      ['run', 'vm:exec', '--command=echo exec-ok-$((6*7)) on $(uname -m)'],
      nodeDir,
    );
    assert.match(ok(exec, 'nx run vm:exec'), /exec-ok-42 on x86_64/);
    assert.doesNotMatch(exec.output, CLOUD_ADVICE);
    const show = ok(nx(ws, ['show', 'project', 'vm', '--json'], nodeDir), 'nx show project vm');
    const project = JSON.parse(show.slice(show.indexOf('{')));
    for (const target of ['config', 'initrd', 'build', 'root-disk', 'start', 'serve', 'exec'])
      assert.ok(project.targets[target], `target ${target}`);
  };

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'nx qemu vm package '));
    registry = await startLocalRegistry(join(tmp, 'registry'));
    const published = packAndPublish(registry);
    tarball = published.tarball;
    assert.equal(basename(tarball), 'nx-qemu-vm-0.1.0.tgz');
    assert.match(
      published.packOutput,
      /dist\/pack\/nx-qemu-vm-0\.1\.0\.tgz/,
      'npm run package prints the path',
    );
  });
  after(async () => {
    await registry?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('ships compiled code only: no TypeScript sources, specs or fixtures', () => {
    const list = spawnSync('tar', ['tzf', tarball], { encoding: 'utf8' }).stdout.trim().split('\n');
    assert.deepEqual(
      list.filter((f) => /\.spec\.|golden|fixtures|\/test\//.test(f)),
      [],
    );
    assert.deepEqual(
      list.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')),
      [],
    );
    for (const f of [
      'package/src/index.js',
      'package/workspace-vm.schema.json',
      'package/docs/options.md',
      'package/ci/run-shard.sh',
    ])
      assert.ok(list.includes(f), f);
    const pkg = JSON.parse(
      spawnSync('tar', ['xzOf', tarball, 'package/package.json'], { encoding: 'utf8' }).stdout,
    );
    assert.equal(pkg.main, './src/index.js');
    assert.deepEqual(Object.keys(pkg.dependencies).sort(), [
      '@nx/devkit',
      'ajv',
      'execa',
      'fastest-levenshtein',
    ]);
    assert.equal(pkg.peerDependencies.nx, '^24.0.0');
    assert.equal(pkg.devDependencies, undefined);
  });

  it(`installs with nx add and boots a machine on Node ${process.versions.node}`, () => {
    const nodeDir = dirname(process.execPath);
    const ws = createWorkspace('node 20', nodeDir);
    // Before the plugin: a slow task gets Nx's advertisement for its hosted cache.
    writeFileSync(
      join(ws, 'project.json'),
      JSON.stringify({ name: 'demo', targets: { slow: { command: 'sleep 31', cache: true } } }),
    );
    assert.match(ok(nx(ws, ['run', 'demo:slow'], nodeDir), 'nx run demo:slow'), CLOUD_ADVICE);

    addPlugin(ws, nodeDir);
    bootAndShow(ws, nodeDir);
    node20Workspace = ws;
    // The same slow task, changed so that it misses the cache: no advertisement now.
    writeFileSync(
      join(ws, 'project.json'),
      JSON.stringify({
        name: 'demo',
        targets: { slow: { command: 'sleep 31 && true', cache: true } },
      }),
    );
    assert.doesNotMatch(
      ok(nx(ws, ['run', 'demo:slow'], nodeDir), 'nx run demo:slow'),
      CLOUD_ADVICE,
    );

    // The cache covers the code that really runs: an edit to the installed package misses.
    assert.match(
      ok(nx(ws, ['run', 'vm:build'], nodeDir), 'vm:build'),
      /local cache|existing outputs/,
    );
    appendFileSync(join(ws, 'node_modules/nx-qemu-vm/src/qemu/run-script.js'), '\n// edited\n');
    assert.doesNotMatch(
      ok(nx(ws, ['run', 'vm:build'], nodeDir), 'vm:build'),
      /local cache|existing outputs/,
    );

    // A host without a Debian package: the target that needs it names the package.
    ok(nx(ws, ['g', 'nx-qemu-vm:machine', 'fresh'], nodeDir), 'nx g nx-qemu-vm:machine');
    const noQemuImg = join(tmp, 'bin-without-qemu-img');
    mkdirSync(noQemuImg);
    for (const dir of ['/usr/bin', '/usr/sbin'])
      for (const name of readdirSync(dir))
        if (!name.startsWith('qemu-img') && !existsSync(join(noQemuImg, name)))
          spawnSync('ln', ['-s', join(dir, name), join(noQemuImg, name)]);
    // This machine's node lives in /usr/bin too, so the PATH is that directory alone.
    const missing = run(ws, ['npx', 'nx', 'run', 'fresh:root-disk'], noQemuImg, {
      PATH: noQemuImg,
    });
    assert.notEqual(missing.status, 0, missing.output);
    assert.match(missing.output, /qemu-img.*not found\. Install it: apt-get install qemu-utils/);

    // Too old a Node: one clear line, no stack trace.
    const oldNode = nodeBinDir(NODE_TOO_OLD);
    const old = nx(ws, ['show', 'projects'], oldNode);
    assert.notEqual(old.status, 0, old.output);
    assert.match(
      old.output,
      new RegExp(
        `nx-qemu-vm needs ${SUPPORTED_NODE.replace(/[()]/g, '\\$&')}; this is Node\\.js ${NODE_TOO_OLD.replace(/\./g, '\\.')}`,
      ),
    );
    assert.doesNotMatch(old.output, /^\s+at /m, 'no stack trace');
  });

  it('installs with nx add and boots a machine on Node 22', () => {
    const nodeDir = nodeBinDir(NODE_22);
    assert.match(
      spawnSync(join(nodeDir, 'node'), ['--version'], { encoding: 'utf8' }).stdout,
      /^v22\./,
    );
    const ws = createWorkspace('node 22', nodeDir);
    addPlugin(ws, nodeDir);
    bootAndShow(ws, nodeDir);
    // nx add again, with a machine file of the user's: nothing in it is replaced.
    const mine = '{ "machines": { "vm": { "graphics": false, "memorySize": 700 } } }\n';
    writeFileSync(join(ws, 'workspace-vm.json'), mine);
    const again = ok(nx(ws, ['add', 'nx-qemu-vm'], nodeDir), 'nx add again');
    assert.match(again, /workspace-vm\.json exists; nothing in it was replaced/);
    assert.equal(readFileSync(join(ws, 'workspace-vm.json'), 'utf8'), mine);
  });

  it('tests a machine from node:test (as an Nx target), Vitest and Jest with nx-qemu-vm/testing', () => {
    const nodeDir = dirname(process.execPath);
    assert.ok(node20Workspace, 'the Node 20 workspace exists');
    const ws = node20Workspace;
    ok(
      run(ws, ['npm', 'install', '--save-dev', '--save-exact', ...RUNNERS], nodeDir),
      'npm install runners',
    );
    cpSync(join(REPO_ROOT, 'packages/nx-qemu-vm/test/fixtures/runners'), join(ws, 'apps/checks'), {
      recursive: true,
    });
    assert.match(
      ok(run(ws, ['npx', 'nx-qemu-vm', '--help'], nodeDir), 'nx-qemu-vm --help'),
      /usage: nx-qemu-vm repl/,
    );

    // node:test through the `e2e` target the README shows: dependsOn vm:prepare.
    // Nx, Vitest and Jest colour their output even without a terminal.
    const plain = stripVTControlCharacters;
    const viaNx = plain(
      ok(nx(ws, ['run', 'checks:e2e', '--output-style=static'], nodeDir), 'nx run checks:e2e'),
    );
    assert.match(viaNx, /nx run vm:initrd/, 'the machine is built first');
    assert.match(viaNx, /# pass 1\b/);
    assert.match(viaNx, /# fail 0\b/);
    const vitest = plain(
      ok(
        run(ws, ['npx', 'vitest', 'run', '--root', 'apps/checks', 'vm.vitest.test.mjs'], nodeDir),
        'vitest',
      ),
    );
    assert.match(vitest, /1 passed/);
    const jest = plain(
      ok(run(ws, ['npx', 'jest', '--rootDir', 'apps/checks', 'vm.jest.test.cjs'], nodeDir), 'jest'),
    );
    assert.match(jest, /Tests:\s+1 passed/);
    for (const r of [viaNx, vitest, jest]) assert.match(r, /hi from vm/);
  });

  it("carries the workspace's own service into machines: install, services, the e2e generator, graph and affected", () => {
    const nodeDir = dirname(process.execPath);
    assert.ok(node20Workspace, 'the Node 20 workspace exists');
    const ws = node20Workspace;
    const plain = stripVTControlCharacters;
    // A plain node:http service, built by Nx into dist/apps/api.
    const main = (version: number) =>
      `require('node:http').createServer((q, r) => r.end('hello from api ${version} on ' + require('node:os').hostname() + '\\n')).listen(Number(process.env.PORT));\n`;
    writeApiProject(ws, main(1));
    const api = {
      install: [{ target: 'api:build', to: '/opt/api' }],
      services: {
        api: {
          command: 'exec /usr/bin/node main.js',
          environment: { PORT: '3000' },
          workingDirectory: '/opt/api',
          user: 'nobody',
          ready: { port: 3000 },
        },
      },
    };
    const machines = {
      server: {
        graphics: false,
        system: { from: 'debian', packages: ['nodejs'] },
        init: 'systemd',
        ...api,
      },
      hostapi: { graphics: false, ...api },
      client: { graphics: false },
      crashing: {
        graphics: false,
        vlans: [],
        services: { early: { command: 'echo no config >&2; exit 3', ready: { port: 9 } } },
      },
    };
    const writeMachines = (m: object) =>
      writeFileSync(
        join(ws, 'workspace-vm.json'),
        JSON.stringify(
          { $schema: './node_modules/nx-qemu-vm/workspace-vm.schema.json', machines: m },
          null,
          2,
        ),
      );
    writeMachines(machines);

    ok(
      nx(
        ws,
        ['g', 'nx-qemu-vm:e2e', 'api-e2e', '--machines=server,hostapi,client', '--runner=node'],
        nodeDir,
      ),
      'nx g nx-qemu-vm:e2e',
    );
    // The team's own test, in the project the generator made, in place of its first test.
    rmSync(join(ws, 'apps/api-e2e/src/machines.e2e.test.mjs'));
    writeFileSync(
      join(ws, 'apps/api-e2e/src/by-name.e2e.test.mjs'),
      `import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startMachines } from 'nx-qemu-vm/testing';

const get = (url) => \`/usr/bin/node -e "fetch('\${url}').then(r => r.text()).then(t => process.stdout.write(t))"\`;

test('the client reaches the api on both machines by name', { timeout: 900_000 }, async () => {
  const vms = await startMachines(['server', 'hostapi', 'client'], { build: false });
  try {
    const { server, hostapi, client } = vms.machines;
    await server.waitForService('api');
    await server.waitForUnit('api.service');
    await hostapi.waitForService('api');
    assert.match(await client.succeed('curl -sS http://server:3000/'), /^hello from api 1 on server$/m);
    assert.match(await client.succeed(get('http://hostapi:3000/')), /^hello from api 1 on hostapi$/m);
    assert.equal((await server.systemctl('show -p User --value api.service')).stdout.trim(), 'nobody');
  } finally {
    await vms.shutdown();
  }
});
`,
    );
    const e2e = plain(
      ok(nx(ws, ['run', 'api-e2e:e2e', '--output-style=static'], nodeDir), 'nx run api-e2e:e2e'),
    );
    assert.match(e2e, /nx run api:build/, 'api is built first');
    assert.match(e2e, /nx run server:install/);
    assert.match(e2e, /# pass 1\b/);
    assert.match(e2e, /# fail 0\b/);

    ok(nx(ws, ['graph', '--file=graph.json'], nodeDir), 'nx graph');
    const deps = JSON.parse(readFileSync(join(ws, 'graph.json'), 'utf8')).graph.dependencies;
    for (const machine of ['server', 'hostapi'])
      assert.ok(
        deps[machine].some((d: { target: string }) => d.target === 'api'),
        `${machine} -> api: ${JSON.stringify(deps[machine])}`,
      );

    // nx affected against a commit: a change to api's source, with affected.legacy off and on.
    const git = (...args: string[]) =>
      ok(
        run(ws, ['git', '-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], nodeDir),
        `git ${args[0]}`,
      );
    writeFileSync(join(ws, '.gitignore'), 'node_modules\ndist\n.nx\n.vm\ngraph.json\n');
    git('init', '-q');
    git('add', '-A');
    git('commit', '-qm', 'the trial');
    const affected = (target: string, legacy = false): string[] => {
      const out = ok(
        nx(ws, ['show', 'projects', '--affected', '--base=HEAD', '-t', target, '--json'], nodeDir, {
          NX_LEGACY_AFFECTED: String(legacy),
        }),
        `nx show projects --affected -t ${target}`,
      );
      const json = out.split('\n').find((line) => line.startsWith('['));
      return (JSON.parse(json ?? out) as string[]).sort();
    };
    writeApiMain(ws, main(2));
    for (const legacy of [false, true]) {
      assert.deepEqual(affected('e2e', legacy), ['api-e2e'], `legacy ${legacy}`);
      assert.deepEqual(affected('install', legacy), ['hostapi', 'server'], `legacy ${legacy}`);
    }
    // By inputs (Nx 24's default), nothing else of the machines: of the builds, api's own.
    assert.deepEqual(affected('build'), ['api']);
    for (const target of ['initrd', 'image', 'warm'])
      assert.deepEqual(affected(target), [], target);
    git('commit', '-qam', 'api 2');
    writeMachines({ ...machines, client: { ...machines.client, memorySize: 1536 } });
    assert.deepEqual(affected('e2e'), ['api-e2e']);
    assert.deepEqual(affected('build'), ['client']);
    for (const target of ['install', 'initrd', 'image'])
      assert.deepEqual(affected(target), [], target);

    // A service that dies at start: the command never runs, and the log says why, at once.
    const crash = run(ws, ['npx', 'nx', 'run', 'crashing:exec', '--command=echo ran'], nodeDir);
    assert.notEqual(crash.status, 0);
    assert.match(
      crash.output,
      /service failed: early: it exited with status 3 before it was ready/,
    );
    assert.match(crash.output, /\| no config/);
  });
});
