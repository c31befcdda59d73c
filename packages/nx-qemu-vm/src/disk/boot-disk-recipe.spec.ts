// The boot-disk recipe rendered as a script: its header, the seed's sgdisk
// calls, grub.cfg, aarch64, and what it refuses (boot-disk-build.vm.spec.ts
// runs it for real).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTool } from '../host/run-tool';
import { renderBootDiskScript } from './boot-disk-recipe';
import { renderGrubCfg } from './grub-cfg';
import {
  TEST_KERNEL_PARAMS as PARAMS,
  testRecipe as recipe,
} from '../../test/helpers/boot-disk-testing';

describe('renderBootDiskScript', () => {
  it('is a header of quoted values before the static program', () => {
    const s = renderBootDiskScript(recipe({}));
    assert.match(s, /^#!\/bin\/sh\n(#.*\n)*mode=host\n/);
    assert.match(s, /^efi=1$/m);
    assert.match(renderBootDiskScript(recipe({ efi: false })), /^efi=0$/m);
    assert.match(renderBootDiskScript(recipe({ mode: 'vm', target: '/dev/vda' })), /^mode=vm$/m);
    assert.match(
      renderBootDiskScript(recipe({ target: "/tmp/it's $x" })),
      /^disk='\/tmp\/it'\\''s \$x'$/m,
    );
    // FAT has no time before 1980: epoch 0 ("no time") becomes its first second.
    assert.match(
      renderBootDiskScript(recipe({ sourceDateEpoch: 0 })),
      /^SOURCE_DATE_EPOCH=315532800$/m,
    );
  });

  it('calls sgdisk exactly as the seed, after checking the tools', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nxqv-sgdisk-'));
    try {
      // An sgdisk that records its arguments and fails, so the script stops there.
      mkdirSync(join(dir, 'bin'));
      writeFileSync(
        join(dir, 'bin/sgdisk'),
        '#!/bin/sh\nprintf \'%s\\n\' "$@" >"$SGDISK_ARGS"\nexit 3\n',
        { mode: 0o755 },
      );
      writeFileSync(
        join(dir, 'script.sh'),
        renderBootDiskScript(
          recipe({
            target: join(dir, 'disk.img'),
            kernel: '/etc/hostname',
            initrd: '/etc/hostname',
            workDir: join(dir, 'work'),
          }),
        ),
      );
      const res = await runTool(
        'env',
        [
          `PATH=${join(dir, 'bin')}:${process.env.PATH}`,
          `SGDISK_ARGS=${join(dir, 'args')}`,
          'sh',
          join(dir, 'script.sh'),
        ],
        { allowFailure: true },
      );
      assert.notEqual(res.exitCode, 0);
      assert.match(
        res.stdout,
        /boot-disk: checking host tools\nboot-disk: creating the image\nboot-disk: partitioning\n/,
      );
      assert.match(res.stderr, /partitioning \(sgdisk\) failed/);
      assert.equal(
        readFileSync(join(dir, 'args'), 'utf8').trim().split('\n').join(' '),
        [
          '--set-alignment=1 --new=1:34:2047 --change-name=1:BIOSBootPartition --typecode=1:ef02',
          '--set-alignment=512 --largest-new=2 --change-name=2:EFISystem --typecode=2:ef00 --attributes=1:set:1 --attributes=2:set:2',
          '--disk-guid=97FD5997-D90B-4AA3-8D16-C1723AEA73C1 --partition-guid=1:1C06F03B-704E-4657-B9CD-681A087A2FDC',
          `--partition-guid=2:970C694F-AFD0-4B99-B750-CDB7A329AB6F --hybrid 2 --recompute-chs ${join(dir, 'disk.img')}`,
        ].join(' '),
      );
      assert.ok(!existsSync(join(dir, 'disk.img')), 'a failed build leaves no image');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes grub.cfg with the params, gfxmode, no timeout, and the serial terminal when asked', () => {
    const serial = renderGrubCfg({
      kernelParams: PARAMS,
      resolution: { x: 800, y: 600 },
      serialConsole: true,
    });
    assert.match(serial, /^set timeout=0$/m);
    assert.match(serial, /^set gfxmode=800x600$/m);
    assert.match(serial, /^terminal_output serial console$/m);
    assert.match(
      serial,
      /^ {2}linux \/kernels\/bzImage 'console=ttyS0,115200n8' 'init=\/run\/nx-qemu-vm\/init' 'nxvm.test=\$HOME'$/m,
    );
    const gfx = renderGrubCfg({
      kernelParams: [],
      resolution: { x: 800, y: 600 },
      serialConsole: false,
    });
    assert.doesNotMatch(gfx, /serial/);
    assert.match(gfx, /terminal_output gfxterm/);
  });

  it('renders an aarch64 disk: UEFI only, GRUB arm64-efi from the given directory, on the host', () => {
    const s = renderBootDiskScript(
      recipe({ efi: false, arm64GrubDir: '/x/usr/lib/grub/arm64-efi' }),
    );
    assert.match(s, /^bios=0$/m);
    assert.match(s, /^efi=1$/m);
    assert.match(s, /^grub_efi_format=arm64-efi$/m);
    assert.match(s, /^grub_efi_dir=\/x\/usr\/lib\/grub\/arm64-efi$/m);
    assert.match(s, /^efi_boot_file=BOOTAA64\.EFI$/m);
    assert.match(renderBootDiskScript(recipe({})), /^bios=1$/m);
    assert.throws(
      () => renderBootDiskScript(recipe({ mode: 'vm', target: '/dev/vda', arm64GrubDir: '/g' })),
      /an arm64 boot disk is built on the host/,
    );
    const cfg = renderGrubCfg({
      kernelParams: ['console=ttyAMA0'],
      resolution: { x: 800, y: 600 },
      serialConsole: true,
      arm64: true,
    });
    assert.match(cfg, /^insmod gzio$/m);
    assert.match(cfg, /^terminal_output console$/m);
    assert.doesNotMatch(cfg, /^serial /m, 'no PC serial port on aarch64');
  });

  it('refuses what it cannot render faithfully, listing every problem', () => {
    assert.throws(
      () =>
        renderBootDiskScript(
          recipe({
            kernelParams: ['a="b c"', "q'", ''],
            resolution: { x: 0, y: 1.5 },
            sourceDateEpoch: -1,
            target: 'a@@1',
          }),
        ),
      (e: Error) =>
        [
          'kernelParams[0]',
          'kernelParams[1]',
          'kernelParams[2]',
          'resolution.x',
          'resolution.y',
          'sourceDateEpoch',
          '"@@"',
        ].every((p) => e.message.includes(p)),
    );
  });
});
