// The system option: a Debian image replaces the host's /usr, its kernel and the 9p store.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from './validate';
import { resolveMachine, type ResolvedMachine } from './resolve';
import { ConfigError } from './errors';
import { lookupDrive } from './drives';
import { fakeHost } from '../../test/helpers/fake-host';

function resolve(m: object, host = fakeHost()): ResolvedMachine {
  return resolveMachine('web', 1, validateConfig({ machines: { web: m } }).machines.web, host);
}

function issuesOf(m: object, host = fakeHost()) {
  try {
    resolve(m, host);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  return [];
}

describe('system', () => {
  it('is the host by default: the store is a 9p share and the kernel is from /boot', () => {
    const r = resolve({});
    assert.deepEqual(r.system, { from: 'host' });
    assert.ok(r.shares.some((s) => s.tag === 'store'));
    assert.match(r.kernel.image, /^\/boot\/vmlinuz-/);
  });

  it('from debian: the kernel, the store drive and the packages come from the image', () => {
    const r = resolve({ system: { from: 'debian', packages: ['nginx', 'hello'] } });
    assert.equal(r.system.from, 'debian');
    if (r.system.from !== 'debian') return;
    assert.equal(r.system.suite, 'bookworm', 'the host codename is the default suite');
    assert.deepEqual(r.system.packages, [
      'busybox-static',
      'e2fsprogs',
      'hello',
      'linux-image-amd64',
      'nginx',
      'passwd',
    ]);
    assert.equal(r.system.debianArch, 'amd64');
    assert.equal(r.kernel.image, 'dist/vm/web/image/vmlinuz');
    assert.ok(!r.shares.some((s) => s.tag === 'store'), 'no 9p store');
    const store = lookupDrive(r.drives, 'store');
    assert.equal(store, r.drives[r.drives.length - 1], 'the store drive comes last');
    assert.equal(store.format, 'raw');
    assert.deepEqual(store.driveExtraOpts, { readonly: 'on' });
    const mount = r.fileSystems.find((f) => f.fsType === 'erofs');
    assert.deepEqual(mount, {
      mountPoint: '/.nx-store/ro',
      device: 'UUID=6e782d71-656d-752d-766d-73746f726500',
      fsType: 'erofs',
      options: ['ro'],
      neededForBoot: true,
    });
  });

  it('mounts the image at the store target when the store is not writable', () => {
    const r = resolve({ system: { from: 'debian' }, writableStore: false });
    assert.equal(r.fileSystems.find((f) => f.fsType === 'erofs')?.mountPoint, '/usr');
  });

  it('gives an aarch64 machine an arm64 image and kernel, with no kernel option', () => {
    const r = resolve({ arch: 'aarch64-linux', system: { from: 'debian', suite: 'trixie' } });
    assert.equal(r.system.from === 'debian' && r.system.debianArch, 'arm64');
    assert.ok(r.system.from === 'debian' && r.system.packages.includes('linux-image-arm64'));
    assert.equal(r.kernel.image, 'dist/vm/web/image/vmlinuz');
  });

  it("refuses an aarch64 guest on the host's /usr, and says what to do", () => {
    const issues = issuesOf({ arch: 'aarch64-linux', kernel: '/boot/vmlinuz-6.1.0-99-amd64' });
    assert.equal(issues[0].path, 'machines.web.system.from');
    assert.match(issues[0].message, /Set system\.from to "debian"/);
    // Its own arm64 root is fine.
    assert.deepEqual(
      issuesOf({
        arch: 'aarch64-linux',
        kernel: '/boot/vmlinuz-6.1.0-99-amd64',
        store: { source: '/srv/arm64/usr' },
      }),
      [],
    );
  });

  it('refuses a kernel option, which the image provides', () => {
    const issues = issuesOf({ system: { from: 'debian' }, kernel: '/boot/vmlinuz-6.1.0-99-amd64' });
    assert.equal(issues.length, 1);
    assert.equal(issues[0].path, 'machines.web.kernel');
    assert.match(issues[0].message, /comes from the image \(linux-image-amd64\)/);
  });

  it('asks for a suite on a host without a Debian codename', () => {
    const host = { ...fakeHost(), codename: undefined };
    const issues = issuesOf({ system: { from: 'debian' } }, host);
    assert.equal(issues[0].path, 'machines.web.system.suite');
    assert.match(issues[0].message, /name the suite/);
  });

  it('refuses package names that are not Debian names, and unknown sources', () => {
    for (const bad of [
      { from: 'debian', packages: ['hello world'] },
      { from: 'debian', packages: ['-o=evil'] },
      { from: 'debian', packages: ['Hello'] },
      { from: 'debian', suite: 'bookworm; rm -rf /' },
      { from: 'ubuntu' },
    ])
      assert.throws(
        () => validateConfig({ machines: { web: { system: bad } } }),
        (err: unknown) => err instanceof ConfigError && /machines\.web\.system/.test(err.message),
        JSON.stringify(bad),
      );
  });

  it('boots the image\'s systemd with init "systemd", and adds the package', () => {
    const r = resolve({ system: { from: 'debian', packages: ['nginx'] }, init: 'systemd' });
    assert.equal(r.kernel.init, '/usr/lib/systemd/systemd');
    assert.equal(r.kernel.systemd, true);
    assert.ok(r.kernel.params.includes('init=/usr/lib/systemd/systemd'));
    assert.ok(r.system.from === 'debian' && r.system.packages.includes('systemd'));
    assert.equal(resolve({ system: { from: 'debian' } }).kernel.systemd, false);
  });

  it('refuses init "systemd" on the host\'s /usr, and other words as init', () => {
    const issues = issuesOf({ init: 'systemd' });
    assert.equal(issues[0].path, 'machines.web.init');
    assert.match(issues[0].message, /set system\.from to "debian"/);
    const target = issuesOf({
      system: { from: 'debian' },
      init: 'systemd',
      store: { source: '/usr', target: '/x rdinit=/bin/sh /usr' },
    });
    assert.ok(target.some((i) => i.path === 'machines.web.store.target'));
    for (const init of ['sysvinit', 'systemd ', 'systemd quiet'])
      assert.throws(
        () => resolve({ system: { from: 'debian' }, init }),
        (err: unknown) => err instanceof ConfigError && /machines\.web\.init/.test(err.message),
        init,
      );
  });
});
