// The boot-disk script, run for real in host mode on raw images: the GPT and
// FAT it writes, byte-reproducibility, and real boots of the result with
// SeaBIOS and OVMF under TCG. Timings are reported as test diagnostics.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTool } from '../host/run-tool';
import {
  BOOT_DISK_LAYOUT as L,
  BOOT_DISK_SIZE_MIB,
  type BootDiskRecipe,
  renderBootDiskScript,
} from './boot-disk-recipe';
import {
  BOOT_MARKER,
  bootImage,
  hostKernel,
  markerInitrd,
  TEST_KERNEL_PARAMS as PARAMS,
  testRecipe as recipe,
} from '../../test/helpers/boot-disk-testing';

describe('the boot disk, built in host mode', { timeout: 900_000 }, () => {
  let dir: string;
  const img = (name: string) => join(dir, `${name}.img`);
  const sh = (script: string, name: string) => {
    writeFileSync(join(dir, `${name}.sh`), script);
    return runTool('sh', [join(dir, `${name}.sh`)]);
  };
  const build = (name: string, over: Partial<BootDiskRecipe> = {}) =>
    sh(
      renderBootDiskScript(
        recipe({
          target: img(name),
          kernel: hostKernel(),
          initrd: join(dir, 'initrd'),
          workDir: join(dir, `work ${name}`),
          ...over,
        }),
      ),
      name,
    );
  const mtools = (cmd: string, ...args: string[]) =>
    runTool(cmd, ['-i', `${img('a')}@@${L.esp.first * 512}`, ...args]);
  const buildSeconds: number[] = [];

  before(async () => {
    // A blank and a comma in the path check the script's quoting.
    dir = mkdtempSync(join(tmpdir(), 'nx boot,disk-'));
    writeFileSync(join(dir, 'initrd'), markerInitrd());
    const t0 = Date.now();
    const out = await build('a');
    buildSeconds.push((Date.now() - t0) / 1000);
    assert.match(out.stdout, /boot-disk: installing GRUB \(BIOS\)\n/);
    await build('gfx', { serialConsole: false, resolution: { x: 800, y: 600 } });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("has the seed's GPT: partitions, type codes, names, GUIDs, attributes and a hybrid MBR", async (t) => {
    t.diagnostic(`host-mode build: ${buildSeconds[0].toFixed(2)} s`);
    assert.equal(statSync(img('a')).size, BOOT_DISK_SIZE_MIB * 1024 * 1024);
    const p = (await runTool('sgdisk', ['-p', img('a')])).stdout;
    assert.match(p, new RegExp(`Disk identifier \\(GUID\\): ${L.diskGuid}`));
    assert.match(p, /^ +1 +34 +2047 +1007\.0 KiB +EF02 +BIOSBootPartition$/m);
    assert.match(p, /^ +2 +2048 +122846 +59\.0 MiB +EF00 +EFISystem$/m);
    const info = async (n: number) => (await runTool('sgdisk', ['-i', String(n), img('a')])).stdout;
    const [one, two] = [await info(1), await info(2)];
    assert.match(
      one,
      /Partition GUID code: 21686148-6449-6E6F-744E-656564454649 \(BIOS boot partition\)/,
    );
    assert.match(one, new RegExp(`Partition unique GUID: ${L.biosBoot.guid}\\n`));
    assert.match(one, /First sector: 34 .*\nLast sector: 2047 /);
    assert.match(one, /Attribute flags: 0000000000000002\n/);
    assert.match(one, /Partition name: 'BIOSBootPartition'/);
    assert.match(
      two,
      /Partition GUID code: C12A7328-F81F-11D2-BA4B-00A0C93EC93B \(EFI system partition\)/,
    );
    assert.match(two, new RegExp(`Partition unique GUID: ${L.esp.guid}\\n`));
    assert.match(two, /First sector: 2048 .*\nLast sector: 122846 /);
    assert.match(two, /Attribute flags: 0000000000000004\n/);
    assert.match(two, /Partition name: 'EFISystem'/);
    const mbr = (await runTool('sgdisk', ['-O', img('a')])).stdout;
    assert.match(mbr, /^ +1 +1 +2047 +primary +0xEE$/m);
    assert.match(mbr, /^ +2 +2048 +122846 +primary +0xEF$/m);
  });

  it("has GRUB's boot sector in the MBR and its core image in the BIOS boot partition", () => {
    const disk = readFileSync(img('a'));
    assert.ok(disk.subarray(0, 440).includes('GRUB'), 'no GRUB boot code in the MBR');
    assert.equal(disk.readUInt16LE(510), 0xaa55);
    assert.equal(
      Number(disk.readBigUInt64LE(0x5c)),
      34,
      'boot.img does not point at the BIOS boot partition',
    );
    const core = readFileSync(join(dir, 'work a', 'core.img'));
    // The tail of the first core sector is the block list grub-bios-setup fills in.
    assert.ok(disk.subarray(34 * 512, 34 * 512 + 0x100).equals(core.subarray(0, 0x100)));
  });

  it('formats the ESP as FAT16 labelled boot with a fixed serial, holding kernel, initrd, grub.cfg and BOOTX64.EFI', async () => {
    assert.match((await mtools('mlabel', '-s', '::')).stdout, /Volume label is boot\b/);
    const minfo = (await mtools('minfo', '::')).stdout;
    assert.match(minfo, /serial number: 970C694F/);
    assert.match(minfo, /disk type="FAT16 {3}"/);
    assert.match(minfo, /hidden sectors: 2048/);
    const ls = async (path: string) =>
      (await mtools('mdir', '-b', path)).stdout.split('\n').filter(Boolean);
    assert.deepEqual(await ls('::/kernels'), ['::/kernels/bzImage', '::/kernels/initrd']);
    assert.deepEqual(await ls('::/EFI/BOOT'), ['::/EFI/BOOT/BOOTX64.EFI']);
    assert.ok((await ls('::/grub')).includes('::/grub/grub.cfg'));
    assert.ok((await ls('::/grub/i386-pc')).includes('::/grub/i386-pc/normal.mod'));
    assert.ok((await ls('::/grub/x86_64-efi')).includes('::/grub/x86_64-efi/linux.mod'));
    const kernel = await runTool('sh', [
      '-c',
      'mtype -i "$1" ::/kernels/bzImage | cmp - "$2"',
      'sh',
      `${img('a')}@@${L.esp.first * 512}`,
      hostKernel(),
    ]);
    assert.equal(kernel.exitCode, 0);
    assert.match(
      (await mtools('mtype', '::/grub/grub.cfg')).stdout,
      /linux \/kernels\/bzImage 'console=ttyS0,115200n8'/,
    );
    assert.match((await mtools('mdir', '::/kernels')).stdout, /bzImage/, 'mdir can read it');
  });

  it('is byte-reproducible, raw and as qcow2, whatever the time zone, clock or work directory', async (t) => {
    // Another TZ, SOURCE_DATE_EPOCH and locale in the caller's environment, a
    // different work directory and a later clock must not change a byte.
    const script = renderBootDiskScript(
      recipe({
        target: img('b'),
        kernel: hostKernel(),
        initrd: join(dir, 'initrd'),
        workDir: join(dir, 'other work'),
      }),
    );
    writeFileSync(join(dir, 'b.sh'), script);
    await new Promise((r) => setTimeout(r, 1100));
    const t0 = Date.now();
    await runTool('env', [
      'TZ=Pacific/Kiritimati',
      'SOURCE_DATE_EPOCH=1',
      'LANG=de_DE.UTF-8',
      'sh',
      join(dir, 'b.sh'),
    ]);
    t.diagnostic(`second host-mode build: ${((Date.now() - t0) / 1000).toFixed(2)} s`);
    assert.equal(
      (await runTool('cmp', [img('a'), img('b')], { allowFailure: true })).exitCode,
      0,
      'the raw images differ',
    );
    for (const n of ['a', 'b'])
      await runTool('qemu-img', ['convert', '-O', 'qcow2', img(n), join(dir, `${n}.qcow2`)], {
        debianPackage: 'qemu-utils',
      });
    assert.equal(
      (await runTool('cmp', [join(dir, 'a.qcow2'), join(dir, 'b.qcow2')], { allowFailure: true }))
        .exitCode,
      0,
      'the qcow2 images differ',
    );
  });

  it('gives the same bytes in vm mode on a block device (a loop device standing in for /dev/vda)', async (t) => {
    const backing = img('loop');
    writeFileSync(backing, Buffer.alloc(BOOT_DISK_SIZE_MIB * 1024 * 1024, 0xa5)); // garbage the script must clear
    const loop = await runTool('losetup', ['--find', '--show', backing], { allowFailure: true });
    if (loop.exitCode !== 0)
      return t.skip(`no loop device here (needs root): ${loop.stderr.trim()}`);
    const dev = loop.stdout.trim();
    try {
      await sh(
        renderBootDiskScript(
          recipe({
            mode: 'vm',
            target: dev,
            kernel: hostKernel(),
            initrd: join(dir, 'initrd'),
            workDir: join(dir, 'work vm'),
          }),
        ),
        'vm',
      );
    } finally {
      await runTool('losetup', ['--detach', dev]);
    }
    assert.equal(
      (await runTool('cmp', [img('a'), backing], { allowFailure: true })).exitCode,
      0,
      'vm mode and host mode differ',
    );
  });

  it('fails with a clear message and leaves no image when a step fails', async () => {
    writeFileSync(join(dir, 'huge'), Buffer.alloc(70 * 1024 * 1024));
    const r = await runTool(
      'sh',
      [
        '-c',
        renderBootDiskScript(
          recipe({
            target: img('full'),
            kernel: join(dir, 'huge'),
            initrd: join(dir, 'initrd'),
            workDir: join(dir, 'work full'),
          }),
        ),
      ],
      { allowFailure: true },
    );
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /Disk full/);
    assert.match(r.stderr, /boot-disk: error: copying the kernel \(mcopy\) failed/);
    assert.throws(() => statSync(img('full')), /ENOENT/);
    const noTools = await runTool(
      'env',
      ['-i', 'PATH=/nonexistent', '/bin/sh', join(dir, 'a.sh')],
      { allowFailure: true },
    );
    assert.notEqual(noTools.exitCode, 0);
    assert.match(noTools.stderr, /not found; install the Debian package (mtools|grub-common)/);
  });

  describe('boots under QEMU (TCG)', { concurrency: 2 }, () => {
    const boot = (name: string, firmware: 'bios' | 'efi', check?: (log: string) => void) => {
      void it(`${name} image via ${firmware === 'bios' ? 'SeaBIOS' : 'OVMF'}`, async (t) => {
        const r = await bootImage({
          image: img(name),
          log: join(dir, `${name}-${firmware}.log`),
          efiVarsCopy: firmware === 'efi' ? join(dir, `${name}-vars.fd`) : undefined,
          timeoutMs: 300_000,
        });
        t.diagnostic(`${name} via ${firmware}: ${r.seconds.toFixed(1)} s to poweroff`);
        assert.ok(!r.timedOut, `no poweroff within the timeout; log tail:\n${r.log.slice(-2000)}`);
        assert.ok(r.markerLine, `no ${BOOT_MARKER} line; log tail:\n${r.log.slice(-2000)}`);
        // GRUB's x86 loader puts BOOT_IMAGE= first; then our params, unchanged and in order.
        assert.equal(
          r.markerLine,
          `${BOOT_MARKER} BOOT_IMAGE=/kernels/bzImage ${PARAMS.join(' ')}`,
        );
        check?.(r.log);
      });
    };
    boot('a', 'bios');
    boot('a', 'efi');
    // A display: GRUB switches to gfxmode and the kernel keeps that mode.
    const mode = (log: string) => assert.match(log, /efifb: mode is 800x600x/);
    boot('gfx', 'bios', mode);
    boot('gfx', 'efi', mode);
  });
});
