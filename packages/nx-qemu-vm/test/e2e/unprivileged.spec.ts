// nx-qemu-vm as most people run it: as an ordinary account (made for this
// run: not root, not in the kvm group, a subordinate id range of its own),
// from the packed package installed with `nx add` from a local registry into
// a fresh workspace. As that account: exec, a boot disk made in a builder VM,
// a Debian image with a package, the test API with two machines on a vlan
// (through the README's CI recipe, sharded, with its cancellation), and a
// second clone that restores the cached targets from a self-hosted remote
// cache. One workspace; every machine is built once and shared.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  chownSync,
  lstatSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stripVTControlCharacters as plain } from 'node:util';
import {
  type OrdinaryAccount,
  createOrdinaryAccount,
  noOrdinaryAccount,
} from '../helpers/ordinary-account';
import { type LocalRegistry, packAndPublish, startLocalRegistry } from '../helpers/local-registry';
import { type RemoteCacheServer, startRemoteCacheServer } from '../helpers/remote-cache-server';
import { NX_PLUGIN_WORKER } from '../helpers/processes';
import { NX_TEST_ENV } from '../helpers/temp-workspace';
import { taskOutcomes } from '../helpers/nx-output';

const NX_VERSION = '24.0.6';
const MACHINES = {
  vm: { graphics: false, memorySize: 512 },
  boot: { graphics: false, memorySize: 512, useBootLoader: true },
  // Its tests start it from a ready state, saved by prepare as the account.
  deb: { graphics: false, system: { from: 'debian', packages: ['hello'] }, warmStart: 'ready' },
};
/** The CI recipe's scripts, as the workflow runs them: from the installed package. */
const CI = 'node_modules/nx-qemu-vm/ci';
/** The test the net-e2e project runs: the two machines reach each other by name. */
const BY_NAME_TEST = `import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startMachines } from 'nx-qemu-vm/testing';

const reach = (name) =>
  \`ip=$(getent hosts \${name} | cut -d' ' -f1) && /run/nx-qemu-vm/busybox ping -c 1 -W 10 "$ip" >/dev/null && echo "reached \${name} at $ip"\`;

test('vm and deb reach each other by name on their vlan', { timeout: 600_000 }, async () => {
  const vms = await startMachines(['vm', 'deb'], { build: false });
  try {
    const { vm, deb } = vms.machines;
    assert.match(await vm.succeed(reach('deb')), /^reached deb at 192\\.168\\.1\\.\\d+$/m);
    assert.match(await deb.succeed(reach('vm')), /^reached vm at 192\\.168\\.1\\.\\d+$/m);
  } finally {
    await vms.shutdown();
  }
});

test('deb starts from its ready state: the same saved boot each time', { timeout: 600_000 }, async () => {
  const bootIds = [];
  for (let i = 0; i < 2; i++) {
    const vms = await startMachines(['deb'], { build: false });
    try {
      bootIds.push(await vms.machines.deb.succeed('cat /proc/sys/kernel/random/boot_id'));
      await vms.machines.deb.succeed('hello');
    } finally {
      await vms.shutdown();
    }
  }
  // A cold boot has a boot id of its own.
  assert.equal(bootIds[0], bootIds[1]);
});
`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

describe(
  'as an ordinary account, from the published package',
  { skip: noOrdinaryAccount, timeout: 30 * 60_000 },
  () => {
    let account: OrdinaryAccount;
    let registry: LocalRegistry;
    let cache: RemoteCacheServer;
    let tmp: string;
    let ws: string;
    const started = performance.now();
    let setupTook = 0;

    /** Runs a command as the account, with Nx pointed at the remote cache. */
    const run = (cwd: string, argv: string[], env: Record<string, string> = {}) =>
      account.run(argv, {
        cwd,
        env: {
          ...NX_TEST_ENV,
          npm_config_update_notifier: 'false',
          npm_config_fund: 'false',
          npm_config_audit: 'false',
          GIT_AUTHOR_NAME: 't',
          GIT_AUTHOR_EMAIL: 't@example.com',
          GIT_COMMITTER_NAME: 't',
          GIT_COMMITTER_EMAIL: 't@example.com',
          ...cache.env(),
          ...env,
        },
      });
    const ok = (res: { status: number | null; output: string }, what: string): string => {
      assert.equal(res.status, 0, `${what} failed:\n${res.output}`);
      return plain(res.output);
    };
    const nx = (cwd: string, args: string[], env: Record<string, string> = {}) =>
      ok(run(cwd, ['./node_modules/.bin/nx', ...args], env), `nx ${args.join(' ')}`);
    /** Writes a file of the account's (as root: then hands it over). */
    const write = (file: string, text: string) => {
      ok(run(account.home, ['mkdir', '-p', dirname(file)]), `mkdir ${dirname(file)}`);
      writeFileSync(file, text);
      chownSync(file, account.uid, account.gid);
    };
    const json = (value: object) => JSON.stringify(value, null, 2) + '\n';
    const git = (...args: string[]) => ok(run(ws, ['git', ...args]), `git ${args[0]}`);

    before(async () => {
      account = createOrdinaryAccount();
      tmp = mkdtempSync(join(tmpdir(), 'nx-qemu-vm-unprivileged-'));
      registry = await startLocalRegistry(join(tmp, 'registry'));
      packAndPublish(registry);
      cache = await startRemoteCacheServer();
      ws = join(account.home, 'ws');
      // The account's own npm config points npm at the registry.
      write(join(account.home, '.npmrc'), readFileSync(registry.npmrc, 'utf8'));
      write(
        join(ws, 'package.json'),
        json({ name: 'ws', private: true, devDependencies: { nx: NX_VERSION } }),
      );
      write(join(ws, 'nx.json'), json({}));
      write(join(ws, '.gitignore'), 'node_modules\n.nx\n');
      write(
        join(ws, 'apps/other-e2e/project.json'),
        json({ name: 'other-e2e', targets: { e2e: { command: 'node -e 0' } } }),
      );
      ok(run(ws, ['npm', 'install']), 'npm install');
      nx(ws, ['add', 'nx-qemu-vm']);
      git('init', '-q', '-b', 'main');
      git('add', '-A');
      git('commit', '-qm', 'a workspace with nx-qemu-vm');
      // The change under test: three machines and two e2e projects.
      write(
        join(ws, 'workspace-vm.json'),
        json({ $schema: './node_modules/nx-qemu-vm/workspace-vm.schema.json', machines: MACHINES }),
      );
      nx(ws, ['g', 'nx-qemu-vm:e2e', 'boot-e2e', '--machines=boot', '--runner=node']);
      nx(ws, ['g', 'nx-qemu-vm:e2e', 'net-e2e', '--machines=vm,deb', '--runner=node']);
      rmSync(join(ws, 'apps/net-e2e/src/machines.e2e.test.mjs'));
      write(join(ws, 'apps/net-e2e/src/by-name.e2e.test.mjs'), BY_NAME_TEST);
      git('add', '-A');
      git('commit', '-qm', 'machines');
      setupTook = performance.now() - started;
    });
    after(async () => {
      await registry?.stop();
      cache?.stop();
      await account?.remove();
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    });
    it('builds the three machines at once: a boot disk in a builder VM, a Debian image with mmdebstrap', (t) => {
      t.diagnostic(
        `account, registry, remote cache, workspace with nx add and two commits: ${seconds(setupTook)}`,
      );
      const begin = performance.now();
      const out = nx(ws, ['run-many', '-t', 'prepare', '--projects=vm,boot,deb', '--parallel=3']);
      t.diagnostic(`nx run-many -t prepare took ${seconds(performance.now() - begin)}`);
      for (const task of ['boot:boot-disk', 'deb:image', 'deb:test-warm', 'vm:initrd'])
        assert.equal(taskOutcomes(out)[task], 'ran', `${task}:\n${out}`);
    });

    it('execs a command in a machine: root in the guest, every output on the host the account’s', (t) => {
      assert.notEqual(run(ws, ['test', '-w', '/dev/kvm']).status, 0, 'the account has no KVM');
      const begin = performance.now();
      const out = nx(ws, ['run', 'vm:exec', '--command=id -u; echo exec-ok']);
      t.diagnostic(`nx run vm:exec took ${seconds(performance.now() - begin)}`);
      assert.match(out, /^0\n?exec-ok$/m, 'the guest runs the command as root');
      const notMine: string[] = [];
      const walk = (dir: string) => {
        for (const entry of readdirSync(dir, { withFileTypes: true })) {
          const path = join(dir, entry.name);
          if (lstatSync(path).uid !== account.uid) notMine.push(path);
          if (entry.isDirectory()) walk(path);
        }
      };
      walk(join(ws, 'dist/vm'));
      walk(join(ws, '.vm'));
      assert.deepEqual(notMine, [], 'every file the machine made is the account’s');
      assert.ok(lstatSync(join(ws, '.vm/vm/vm.qcow2')).uid === account.uid, 'the root disk');
    });

    it('boots the machine with a boot disk (useBootLoader)', (t) => {
      const begin = performance.now();
      const out = nx(ws, ['run', 'boot:exec', '--command=cat /proc/cmdline']);
      t.diagnostic(`nx run boot:exec took ${seconds(performance.now() - begin)}`);
      assert.match(out, /^BOOT_IMAGE=\/kernels\/bzImage /m, 'GRUB loaded the kernel');
      assert.equal(lstatSync(join(ws, 'dist/vm/boot/boot-disk/disk.img')).uid, account.uid);
    });

    it("runs the Debian image's package (built with mmdebstrap's unshare mode)", (t) => {
      const begin = performance.now();
      const out = nx(ws, ['run', 'deb:exec', '--command=hello']);
      t.diagnostic(`nx run deb:exec took ${seconds(performance.now() - begin)}`);
      assert.match(out, /^Hello, world!$/m);
      assert.equal(lstatSync(join(ws, 'dist/vm/deb/image/store.erofs')).uid, account.uid);
    });

    /** This shard's projects, as the CI recipe prints them. */
    const shard = (index: number, count: number) =>
      ok(
        run(ws, [`${CI}/shard.sh`, String(index), String(count)], { NX_BASE: 'HEAD~1' }),
        'shard.sh',
      )
        .trim()
        .split(',')
        .filter(Boolean);
    const shards: string[][] = [];

    it('CI recipe: the shards split the affected e2e projects, each once', () => {
      const out = nx(ws, [
        'show',
        'projects',
        '--affected',
        '--base=HEAD~1',
        '-t',
        'e2e',
        '--json',
      ]);
      const affected = (JSON.parse(out.slice(out.indexOf('['))) as string[]).sort();
      assert.deepEqual(affected, ['boot-e2e', 'net-e2e'], 'the new projects, not other-e2e');
      shards.push(shard(1, 2), shard(2, 2));
      assert.deepEqual([...shards[0], ...shards[1]].sort(), affected);
      for (const s of shards) assert.equal(s.length, 1, JSON.stringify(shards));
      assert.deepEqual(shard(1, 1), affected, 'one shard runs them all');
      assert.notEqual(run(ws, [`${CI}/shard.sh`, '3', '2']).status, 0, 'shard 3 of 2 is refused');
    });

    const shardOf = (project: string) => 1 + shards.findIndex((s) => s.includes(project));

    it("CI recipe: a shard runs its e2e: the test API's two machines reach each other by name", (t) => {
      const index = shardOf('net-e2e');
      assert.ok(index > 0, JSON.stringify(shards));
      const begin = performance.now();
      const out = ok(
        run(ws, [`${CI}/run-shard.sh`, String(index), '2'], { NX_BASE: 'HEAD~1' }),
        'run-shard.sh',
      );
      t.diagnostic(`run-shard.sh ${index} 2 took ${seconds(performance.now() - begin)}`);
      assert.match(out, new RegExp(`shard ${index} of 2: e2e of net-e2e$`, 'm'));
      assert.match(out, /# pass 2\b/);
      assert.doesNotMatch(out, /did not restore|booting cold/, 'deb restored its ready state');
      assert.match(out, /# fail 0\b/);
      assert.doesNotMatch(out, /nx run boot-e2e/, 'only its own shard');
    });

    const cancellations = [
      // GitHub Actions: SIGINT to the step's shell (run-shard.sh, through exec) alone.
      {
        how: "SIGINT to the step's shell alone, as GitHub Actions sends",
        signal: 'SIGINT',
        group: false,
      },
      // A terminal's Ctrl-C, or a CI system that signals the step's process group.
      { how: 'SIGTERM to its process group', signal: 'SIGTERM', group: true },
    ] as const;
    for (const { how, signal, group } of cancellations)
      it(`CI recipe: cancelling the step (${how}) stops every machine`, async (t) => {
        const index = shardOf('boot-e2e');
        const step = account.start(['sh', `${CI}/run-shard.sh`, String(index), '2'], {
          cwd: ws,
          env: { ...NX_TEST_ENV, ...cache.env(), NX_BASE: 'HEAD~1' },
        });
        const pid = step.child.pid as number;
        try {
          const deadline = Date.now() + 300_000;
          while (!account.processes().some((p) => p.command.startsWith('qemu-system'))) {
            assert.ok(Date.now() < deadline, `no machine started within 300 s:\n${step.output()}`);
            assert.equal(step.child.exitCode, null, `the step ended first:\n${step.output()}`);
            await sleep(200);
          }
          const begin = performance.now();
          process.kill(group ? -pid : pid, signal);
          const end = await step.exited;
          t.diagnostic(
            `the step ended ${seconds(performance.now() - begin)} after ${signal}: ${JSON.stringify(end)}`,
          );
          assert.notEqual(end.status, 0, 'a cancelled step fails');
          const left = account.processes().filter((p) => !NX_PLUGIN_WORKER.test(`${p.command} `));
          assert.deepEqual(left, [], `no process of the step is left:\n${step.output()}`);
        } finally {
          if (step.child.exitCode === null) process.kill(-pid, 'SIGKILL');
        }
      });

    it('another clone gets the cached targets from the remote cache, and boots them', (t) => {
      const clone = join(account.home, 'clone');
      ok(run(account.home, ['git', 'clone', '-q', ws, clone]), 'git clone');
      ok(run(clone, ['npm', 'ci']), 'npm ci');
      const begin = performance.now();
      // Nx 24 gives the checkouts of one workspace by one account a local cache
      // in common: this clone stands for another runner's, with a cache of its own.
      const ownCache = { NX_CACHE_DIRECTORY: join(clone, '.nx/cache') };
      const out = nx(
        clone,
        ['run-many', '-t', 'build', 'initrd', 'boot-disk', '--projects=vm,boot,deb'],
        ownCache,
      );
      t.diagnostic(
        `clone: nx run-many -t build initrd boot-disk took ${seconds(performance.now() - begin)}`,
      );
      const outcomes = Object.entries(taskOutcomes(out));
      for (const task of ['vm:initrd', 'boot:boot-disk', 'deb:image', 'deb:initrd'])
        assert.ok(
          outcomes.some(([name]) => name === task),
          `${task} in:\n${out}`,
        );
      for (const [task] of outcomes)
        assert.match(out, new RegExp(`nx run ${task}\\s+\\[remote cache\\]`), `${task}:\n${out}`);
      assert.match(
        out,
        new RegExp(`for ${outcomes.length} out of ${outcomes.length} tasks`),
        'every task from the cache',
      );
      assert.match(nx(clone, ['run', 'deb:exec', '--command=hello'], ownCache), /^Hello, world!$/m);
      t.diagnostic(`the suite so far: ${seconds(performance.now() - started)}`);
    });
  },
);
