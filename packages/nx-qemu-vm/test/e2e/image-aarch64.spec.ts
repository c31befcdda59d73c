// An aarch64 guest from an arm64 Debian image (system.from "debian"): its
// packages are unpacked on this x86_64 host without running them, and it
// boots its own kernel under qemu-system-aarch64 (TCG): directly, and through
// a boot disk with the image's GRUB (arm64-efi) under AAVMF.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createVmWorkspace, type VmWorkspace } from '../helpers/vm-workspace';

describe('aarch64 guests from a Debian image', () => {
  let ws: VmWorkspace;

  before(() => {
    ws = createVmWorkspace({
      arm: {
        arch: 'aarch64-linux',
        graphics: false,
        system: { from: 'debian', packages: ['hello'] },
      },
      efi: {
        arch: 'aarch64-linux',
        graphics: false,
        useBootLoader: true,
        useEFIBoot: true,
        system: { from: 'debian' },
      },
    });
  });
  after(() => ws?.remove());

  it('boots the arm64 kernel and runs arm64 programs, with merged /usr and a user database', () => {
    const built = ws.nx(['run', 'arm:prepare']);
    assert.equal(built.status, 0, built.output);
    const image = join(ws.root, 'dist/vm/arm/image');
    const manifest = readFileSync(join(image, 'manifest.txt'), 'utf8');
    assert.match(manifest, /^hello \S+ arm64$/m);
    assert.match(manifest, /^linux-image-\S+-arm64 \S+ arm64$/m);
    // The first bytes of an arm64 Image: its magic "ARM\x64" at offset 56.
    assert.equal(readFileSync(join(image, 'vmlinuz')).toString('latin1', 56, 60), 'ARMd');

    const run = ws.exec(
      'arm',
      'uname -m; hello; id -un; readlink /bin; ls /usr/lib/modules/*/modules.dep',
    );
    assert.equal(run.status, 0, run.stderr + ws.consoleLog('arm').slice(-3000));
    const lines = run.stdout.replace(/\r/g, '').trim().split('\n');
    assert.deepEqual(lines.slice(0, 4), ['aarch64', 'Hello, world!', 'root', 'usr/bin']);
    assert.match(lines[4], /^\/usr\/lib\/modules\/\S+-arm64\/modules\.dep$/);
    assert.doesNotMatch(run.stderr, /signal/i, 'nothing but the command speaks on stderr');
  });

  it('boots through the EFI boot disk: AAVMF, then GRUB arm64-efi from the image', () => {
    const built = ws.nx(['run', 'efi:prepare']);
    assert.equal(built.status, 0, built.output);
    const manifest = readFileSync(join(ws.root, 'dist/vm/efi/image/manifest.txt'), 'utf8');
    assert.match(manifest, /^grub-efi-arm64-bin \S+ arm64$/m);
    const run = ws.exec('efi', 'uname -m; cat /proc/cmdline');
    const log = ws.consoleLog('efi');
    assert.equal(run.status, 0, run.stderr + log.slice(-3000));
    const [machine, cmdline] = run.stdout.replace(/\r/g, '').trim().split('\n');
    assert.equal(machine, 'aarch64');
    // GRUB passed the parameters (a direct boot has no BOOT_IMAGE).
    assert.match(cmdline, /^BOOT_IMAGE=\/kernels\/bzImage .*init=\/run\/nx-qemu-vm\/init/);
    assert.match(log, /UEFI firmware|EFI stub/i, 'the firmware and the EFI stub booted it');
  });
});
