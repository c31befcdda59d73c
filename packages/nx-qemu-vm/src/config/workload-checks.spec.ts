// What the workspace puts in a machine (install, services): every bad value is
// refused with the machine, the JSON path, the value and the fix.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from './validate';
import { resolveConfig } from './resolve';
import { findCycle, startOrder } from './workload-checks';
import { fakeHost } from '../../test/helpers/fake-host';
import { issuesOf, oneMachine } from '../../test/helpers/config-issues';

const machine = oneMachine;
const install = (to: string, extra: object = {}) =>
  machine({ install: [{ target: 'api:build', to, ...extra }] });
const service = (s: object, others: object = {}, m: object = {}) =>
  machine({ ...m, services: { api: { command: 'node main.js', ...s }, ...others } });

describe('install', () => {
  it('accepts a plain guest path and a workspace directory', () => {
    const r = resolveConfig(
      validateConfig(install('/opt/api', { from: 'dist/apps/api/' })),
      fakeHost(),
    ).vm;
    assert.deepEqual(r.installs, [
      {
        target: 'api:build',
        project: 'api',
        targetName: 'build',
        from: 'dist/apps/api',
        to: '/opt/api',
        image: 'dist/vm/vm/install/0.erofs',
        uuid: '6e782d71-656d-752d-766d-696e73740000',
      },
    ]);
    assert.deepEqual(
      r.fileSystems.find((f) => f.mountPoint === '/opt/api'),
      {
        mountPoint: '/opt/api',
        device: 'UUID=6e782d71-656d-752d-766d-696e73740000',
        fsType: 'erofs',
        options: ['ro'],
        neededForBoot: true,
      },
    );
    assert.equal(r.drives.at(-1)?.name, 'install0');
  });

  for (const [to, why] of [
    ['opt/api', /must match \^\//],
    ['/', /cannot be the root/],
    ['/opt//api', /plain absolute path/],
    ['/opt/api/', /plain absolute path/],
    ['/opt/../etc', /plain absolute path/],
    ['/usr/lib/api', /inside \/usr|overlaps \/usr/],
    ['/nix/store/x', /inside \/nix/],
    ['/tmp/api', /inside \/tmp/],
    ['/run/api', /inside \/run/],
    ['/etc', /would hide \/etc/],
    ['/var', /would hide \/var/],
  ] as const)
    it(`refuses "to": ${to}`, () => {
      const [issue] = issuesOf(install(to));
      assert.equal(issue.machine, 'vm');
      assert.match(issue.path, /^machines\.vm\.install\[0\]\.to$/);
      assert.equal(issue.value, to);
      assert.match(issue.message, why);
    });

  it('refuses a path that overlaps a share, a file system or another install', () => {
    const issues = issuesOf(
      machine({
        sharedDirectories: { app: { source: '/srv', target: '/mnt/app' } },
        fileSystems: { '/data': { device: '/dev/vdb', fsType: 'ext4' } },
        install: [
          { target: 'a:build', to: '/mnt' },
          { target: 'b:build', to: '/data/b' },
          { target: 'c:build', to: '/opt/c' },
          { target: 'd:build', to: '/opt/c/d' },
        ],
      }),
    );
    assert.deepEqual(
      issues.map((i) => [i.path, i.message.split(';')[0].split(',')[0]]),
      [
        ['machines.vm.install[0].to', 'overlaps /mnt/app'],
        ['machines.vm.install[1].to', 'overlaps fileSystems["/data"]'],
        ['machines.vm.install[3].to', 'overlaps install[2].to (/opt/c)'],
      ],
    );
  });

  it('refuses a source outside the workspace or inside dist/vm, and a malformed target', () => {
    const paths = (raw: unknown) => issuesOf(raw).map((i) => `${i.path}: ${i.message}`);
    assert.match(
      paths(install('/opt/a', { from: '../elsewhere' }))[0],
      /install\[0\]\.from: must be a directory inside the workspace/,
    );
    assert.match(paths(install('/opt/a', { from: '/abs/dir' }))[0], /inside the workspace/);
    assert.match(
      paths(install('/opt/a', { from: 'dist/vm/other/image' }))[0],
      /must not be under dist\/vm/,
    );
    assert.match(
      paths(machine({ install: [{ target: 'api', to: '/opt/a' }] }))[0],
      /install\[0\]\.target: must match \^/,
    );
  });
});

describe('services', () => {
  it('resolves in start order, with unit names and defaults', () => {
    const r = resolveConfig(
      validateConfig(service({ after: ['db'] }, { db: { command: 'db' } })),
      fakeHost(),
    ).vm;
    assert.deepEqual(
      r.services.map((s) => [
        s.name,
        s.unit,
        s.user,
        s.workingDirectory,
        s.restart,
        s.readyTimeout,
      ]),
      [
        ['db', 'db.service', 'root', '/', 'on-failure', 300],
        ['api', 'api.service', 'root', '/', 'on-failure', 300],
      ],
    );
  });

  it('refuses unknown and circular "after", its own name, reserved names and odd users', () => {
    const messages = (raw: unknown) =>
      issuesOf(raw).map((i) => `${i.path} = ${JSON.stringify(i.value)}: ${i.message}`);
    assert.match(
      messages(service({ after: ['dbx'] }, { db: { command: 'db' } }))[0],
      /services\.api\.after\[0\] = "dbx": is not a service of this machine; known: db/,
    );
    assert.match(messages(service({ after: ['api'] }))[0], /cannot wait for itself/);
    assert.match(
      messages(service({ after: ['db'] }, { db: { command: 'db', after: ['api'] } }))[0],
      /wait for each other in a circle \(api -> db -> api\)/,
    );
    assert.match(
      messages(machine({ services: { 'nx-qemu-vm': { command: 'x' } } }))[0],
      /choose another name/,
    );
    assert.match(
      messages(machine({ services: { 'a b': { command: 'x' } } }))[0],
      /services\["a b"\]|must match pattern/,
    );
    assert.match(
      messages(service({ user: 'www-data' }))[0],
      /user = "www-data": a machine on the host's \/usr has only the accounts root and nobody/,
    );
    assert.match(
      messages(service({ command: 'node\nrm -rf /' }))[0],
      /command = .*control character/,
    );
    assert.match(messages(service({ ready: { port: 0 } }))[0], /services\.api\.ready/);
  });

  it('lets a Debian image name any account its packages create', () => {
    resolveConfig(
      validateConfig(
        service({ user: 'www-data' }, {}, { system: { from: 'debian', suite: 'bookworm' } }),
      ),
      fakeHost(),
    );
  });

  it('orders and finds circles', () => {
    const s = { a: { after: ['b'] }, b: { after: ['c'] }, c: { after: [] }, d: { after: ['a'] } };
    assert.deepEqual(startOrder(s), ['c', 'b', 'a', 'd']);
    assert.equal(findCycle(s), undefined);
    assert.deepEqual(findCycle({ ...s, c: { after: ['a'] } }), ['a', 'b', 'c']);
  });

  it('orders a chain of any length, each after what it waits for, without recursion', () => {
    // s0 waits for s1, which waits for s2, ...: the file lists them the wrong way round.
    const n = 200_000;
    const chain = Object.fromEntries(
      Array.from({ length: n }, (_, i) => [`s${i}`, { after: i < n - 1 ? [`s${i + 1}`] : [] }]),
    );
    const order = startOrder(chain);
    assert.equal(order.length, n);
    assert.equal(order[0], `s${n - 1}`);
    assert.equal(order[n - 1], 's0');
    assert.equal(findCycle(chain), undefined);
    assert.equal(findCycle({ ...chain, [`s${n - 1}`]: { after: ['s0'] } })?.length, n);
  });

  it("takes only the machine's own services as services, not an object's built-in names", () => {
    const issue = issuesOf(service({ after: ['toString'] })).find((i) =>
      i.path.endsWith('after[0]'),
    );
    assert.match(issue?.message ?? '', /is not a service of this machine/);
  });
});
