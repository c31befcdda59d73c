import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../config/validate';
import { resolveMachine } from '../config/resolve';
import { fakeHost } from '../../test/helpers/fake-host';
import { IMAGE_HOOK, IMAGE_UUID, PER_MACHINE_FILES, imageBuildKey, imagePlan } from './image-plan';
import { explainImageFailure } from './image-errors';
import { ToolError } from '../host/run-tool';
import { shQuote } from '../quote/shell';

const machine = (system: object, arch = 'x86_64-linux') =>
  resolveMachine(
    'web',
    1,
    validateConfig({ machines: { web: { arch, system } } }).machines.web,
    fakeHost(),
  );

describe('imagePlan', () => {
  it('bootstraps the Essential packages and ours, with a hook that writes the outputs, copied out as the caller', () => {
    const plan = imagePlan(
      machine({ from: 'debian', packages: ['nginx'] }),
      '/out dir',
      '1700000000',
    );
    assert.deepEqual(plan.args, [
      '--variant=essential',
      '--architectures=amd64',
      '--include=busybox-static,e2fsprogs,linux-image-amd64,nginx,passwd',
      '--mode=auto',
      `--customize-hook=sh ${shQuote(IMAGE_HOOK)} "$1" "$1"/.nx-qemu-vm-out`,
      // Outside the user namespace: the outputs belong to whoever runs the build.
      "--customize-hook=sync-out /.nx-qemu-vm-out '/out dir'",
      '--format=null',
      'bookworm',
      '/dev/null',
    ]);
    assert.deepEqual(plan.env, {
      SOURCE_DATE_EPOCH: '1700000000',
      IMAGE_UUID,
      IMAGE_FACTORY: 'share/nx-qemu-vm/factory',
      IMAGE_PER_MACHINE_FILES: PER_MACHINE_FILES,
      IMAGE_UNPACKED_ONLY: '0',
      INITRD: 'No',
    });
  });

  it('unpacks arm64 packages for an aarch64 machine, with the hook after unpacking', () => {
    const plan = imagePlan(machine({ from: 'debian' }, 'aarch64-linux'), '/out');
    assert.deepEqual(plan.args.slice(0, 4), [
      '--variant=extract',
      '--include=?essential',
      '--architectures=arm64',
      '--include=busybox-static,e2fsprogs,linux-image-arm64,passwd',
    ]);
    assert.ok(plan.args.some((a) => a.startsWith('--extract-hook=sh ')));
    assert.ok(plan.args.includes('--extract-hook=sync-out /.nx-qemu-vm-out /out'));
    assert.equal(plan.env.IMAGE_UNPACKED_ONLY, '1');
  });

  it('has nothing to build for a host system', () => {
    assert.throws(() => imagePlan(machine({ from: 'host' }), '/out'), /has no image to build/);
  });
});

describe('imageBuildKey', () => {
  const build = (name: string, system: object, other: object = {}) =>
    resolveMachine(
      name,
      1,
      validateConfig({ machines: { [name]: { system, ...other } } }).machines[name],
      fakeHost(),
    );
  const ssh = { from: 'debian', packages: ['openssh-server'] };

  it('is the same for machines that differ in anything but their system', () => {
    assert.equal(
      imageBuildKey(build('a', ssh), ['facts']),
      imageBuildKey(build('b', ssh, { memorySize: 2048, cores: 2 }), ['facts']),
    );
  });

  it('differs with the packages, the suite, the date, the architecture and the facts', () => {
    const key = imageBuildKey(build('a', ssh), ['facts']);
    const others = [
      imageBuildKey(build('a', { ...ssh, packages: ['vsftpd'] }), ['facts']),
      imageBuildKey(build('a', { ...ssh, suite: 'trixie' }), ['facts']),
      imageBuildKey(build('a', ssh), ['facts'], '1700000000'),
      imageBuildKey(build('a', ssh), ['facts'], '0', 'arm64'),
      imageBuildKey(build('a', ssh), ['other facts']),
    ];
    for (const other of others) assert.notEqual(other, key);
    assert.equal(new Set(others).size, others.length);
  });
});

describe('explainImageFailure', () => {
  const plan = imagePlan(machine({ from: 'debian', packages: ['no-such-pkg'] }), '/out');
  const failure = (stderr: string) => new ToolError('mmdebstrap failed', 'mmdebstrap', 1, stderr);

  it('names the missing package and the suite', () => {
    const err = explainImageFailure(failure('E: Unable to locate package no-such-pkg\n'), plan);
    assert.match(err.message, /Debian bookworm has no package "no-such-pkg"/);
    assert.match(err.message, /system\.packages/);
  });

  it('says that the image needs the mirror and that a host system does not', () => {
    const err = explainImageFailure(
      failure(
        "W: Failed to fetch http://deb.debian.org/debian/dists/bookworm/InRelease  Temporary failure resolving 'deb.debian.org'\n",
      ),
      plan,
    );
    assert.match(err.message, /needs the Debian mirror/);
    assert.match(err.message, /system\.from "host" needs no network/);
  });

  it("passes anything else on with mmdebstrap's last lines", () => {
    const err = explainImageFailure(failure('E: something else\n'), plan);
    assert.match(err.message, /mmdebstrap failed \(status 1\): E: something else/);
  });
});
