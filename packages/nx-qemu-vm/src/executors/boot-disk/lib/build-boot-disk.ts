// The boot-disk step: partition, format and install GRUB on a raw image (in a
// throwaway VM, or on the host), then publish a compact qcow2. Nothing is
// published unless every step succeeded, and scratch files never survive.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { MachineContext } from '../../../util/machine';
import { BOOT_DISK_SIZE_MIB, FAT_EPOCH_MIN, renderBootDiskScript } from '../../../disk/boot-disk-recipe';
import { runInBuilderVm } from '../../../builder-vm/run-in-vm';
import { runTool } from '../../../guest/run-tool';

export const BUILDER_LOCK = 'dist/vm/.builder.lock';

export interface BootDiskResult {
  disk: string;
  efiVars?: string;
}

export async function buildBootDisk(m: MachineContext, timeoutSeconds: number, log: (line: string) => void): Promise<BootDiskResult> {
  const r = m.machine;
  if (!r.config.useBootLoader) throw new Error(`machine "${r.name}" does not use a boot loader (useBootLoader is false); it needs no boot disk`);
  if (r.arch !== 'x86_64-linux') throw new Error(`boot disks are built for x86_64 guests only; machine "${r.name}" is ${r.arch}`);
  const initrd = join(m.workspaceRoot, r.kernel.initrd);
  if (!existsSync(initrd)) throw new Error(`the initrd ${r.kernel.initrd} is missing; build it first: npx nx run ${r.name}:system`);
  const out = join(m.dist, 'boot-disk');
  mkdirSync(m.dist, { recursive: true });
  const work = mkdtempSync(join(m.dist, '.boot-disk-'));
  try {
    const raw = join(work, 'disk.raw');
    await runTool('qemu-img', ['create', '-q', '-f', 'raw', raw, `${BOOT_DISK_SIZE_MIB}M`], { debianPackage: 'qemu-utils' });
    const vars = r.efi ? join(work, 'efi-vars.fd') : undefined;
    if (r.efi && vars) copyFileSync(r.efi.varsTemplate, vars);
    // FAT cannot date anything before 1980, so that is the default epoch.
    const epoch = Number(process.env.SOURCE_DATE_EPOCH ?? FAT_EPOCH_MIN);
    const common = {
      kernelParams: r.kernel.params,
      resolution: r.config.resolution,
      efi: r.config.useEFIBoot,
      serialConsole: !r.config.graphics,
      sourceDateEpoch: epoch,
    };
    if (r.config.bootDiskBuilder === 'host') {
      log('building the boot disk on the host (bootDiskBuilder: host)');
      const script = renderBootDiskScript({ ...common, mode: 'host', target: raw, kernel: r.kernel.image, initrd, workDir: join(work, 'scratch') });
      mkdirSync(join(work, 'scratch'));
      const res = await runTool('sh', ['-c', script], { allowFailure: true });
      log(res.stdout.trimEnd());
      if (res.exitCode !== 0) throw new Error(`the boot-disk script failed (status ${res.exitCode}):\n${res.stderr.trim()}`);
    } else {
      log(`building the boot disk in a throwaway VM${r.efi ? ' under OVMF' : ''}`);
      const recipe = renderBootDiskScript({ ...common, mode: 'vm', target: '/dev/vda', kernel: '/xchg/kernel', initrd: '/xchg/initrd', workDir: '/tmp/boot-disk' });
      // Under OVMF the builder also registers the boot entry in the vars, as an installer would.
      const entry = r.efi
        ? `\nif [ -d /sys/firmware/efi/efivars ]; then\n  echo "registering the EFI boot entry"\n  efibootmgr --quiet --create --disk /dev/vda --part 2 --label nx-qemu-vm --loader '\\EFI\\BOOT\\BOOTX64.EFI'\nfi\n`
        : '';
      const { builderLog } = await runInBuilderVm({
        machine: r,
        kernel: r.kernel.image,
        initrd,
        script: `set -e\nmkdir -p /tmp/boot-disk\n( ${recipe.replace(/^#!.*\n/, '')} )${entry}`,
        inputs: { kernel: r.kernel.image, initrd },
        disks: [{ file: raw, format: 'raw' }],
        efi: r.efi && vars ? { code: r.efi.code, vars, format: r.efi.format } : undefined,
        timeoutSeconds,
        consoleLog: join(m.workspaceRoot, r.paths.stateDir, 'logs', 'boot-disk-builder.log'),
        lockFile: join(m.workspaceRoot, BUILDER_LOCK),
        sourceDateEpoch: epoch,
      });
      log(builderLog.trimEnd());
    }
    // qemu-img convert writes clusters in order: the same raw bytes give the same qcow2 bytes.
    await runTool('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', raw, join(work, 'disk.img')], { debianPackage: 'qemu-utils' });
    rmSync(raw);
    rmSync(join(work, 'scratch'), { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
    renameSync(work, out);
    return { disk: join(out, 'disk.img'), efiVars: vars ? join(out, 'efi-vars.fd') : undefined };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
