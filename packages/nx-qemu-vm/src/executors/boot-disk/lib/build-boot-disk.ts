// The boot-disk step: partition, format and install GRUB on a raw image (in a
// throwaway VM, or on the host), then publish a compact qcow2. Nothing is
// published unless every step succeeded, and scratch files never survive.
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { MachineContext } from '../../machine-executor';
import { bootDiskSpec } from '../../../disk/boot-disk-inputs';
import {
  type BootEntry,
  bootEntryVariables,
  gptPartition,
  withVariables,
} from '../../../disk/efi-vars';
import {
  BOOT_DISK_LAYOUT,
  BOOT_DISK_SIZE_MIB,
  FAT_EPOCH_MIN,
  renderBootDiskScript,
} from '../../../disk/boot-disk-recipe';
import { runInBuilderVm } from '../../../builder-vm/run-in-vm';
import { runTool } from '../../../host/run-tool';
import { throwIfInterrupted } from '../../../host/interruption';
import { publishDirectory } from '../../../host/atomic-write';
import { withExtractedStore } from '../../../image/extract-store';

export const BUILDER_LOCK = 'dist/vm/.builder.lock';

export interface BootDiskResult {
  disk: string;
  efiVars?: string;
}

/** The boot entry of the disk just built: its ESP, as the GPT says, and GRUB's removable-media path. */
function espEntry(raw: string): BootEntry {
  const head = Buffer.alloc(34 * 512);
  const fd = openSync(raw, 'r');
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  return {
    label: 'nx-qemu-vm',
    partition: gptPartition(head, BOOT_DISK_LAYOUT.esp.number),
    loader: '\\EFI\\BOOT\\BOOTX64.EFI',
  };
}

export async function buildBootDisk(
  m: MachineContext,
  timeoutSeconds: number,
  log: (line: string) => void,
): Promise<BootDiskResult> {
  const spec = bootDiskSpec(m.machine);
  if (!spec.useBootLoader)
    throw new Error(
      `machine "${spec.name}" does not use a boot loader (useBootLoader is false); it needs no boot disk`,
    );
  // Validation (config/machine-checks.ts) already refused an i686 boot disk
  // and an aarch64 one without a Debian image to take GRUB from.
  const initrd = isAbsolute(spec.initrd) ? spec.initrd : join(m.workspaceRoot, spec.initrd);
  if (!existsSync(initrd))
    throw new Error(
      `the initrd ${spec.initrd} is missing${isAbsolute(spec.initrd) ? '' : `; build it first: npx nx run ${spec.name}:initrd`}`,
    );
  const out = join(m.dist, 'boot-disk');
  let hasVars = false;
  // Built in a scratch directory that replaces boot-disk/ only when every step
  // succeeded and nobody interrupted the step meanwhile.
  await publishDirectory(out, async (work) => {
    log('creating a raw scratch image');
    const raw = join(work, 'disk.raw');
    await runTool('qemu-img', ['create', '-q', '-f', 'raw', raw, `${BOOT_DISK_SIZE_MIB}M`], {
      debianPackage: 'qemu-utils',
    });
    const vars = spec.efi ? join(work, 'efi-vars.fd') : undefined;
    hasVars = vars !== undefined;
    if (spec.efi && vars) copyFileSync(spec.efi.varsTemplate, vars);
    // FAT cannot date anything before 1980, so that is the default epoch.
    const epoch = Number(process.env.SOURCE_DATE_EPOCH ?? FAT_EPOCH_MIN);
    const common = { ...spec.grub, sourceDateEpoch: epoch };
    if (spec.builder === 'host') {
      const onHost = async (arm64GrubDir?: string) => {
        log('partitioning, formatting and installing GRUB on the host');
        const script = renderBootDiskScript({
          ...common,
          mode: 'host',
          target: raw,
          kernel: spec.kernelImage,
          initrd,
          workDir: join(work, 'scratch'),
          arm64GrubDir,
        });
        mkdirSync(join(work, 'scratch'));
        const res = await runTool('sh', ['-c', script], { allowFailure: true, attached: true });
        log(res.stdout.trimEnd());
        if (res.exitCode !== 0)
          throw new Error(
            `the boot-disk script failed (status ${res.exitCode}):\n${res.stderr.trim()}`,
          );
      };
      if (spec.grubFromImage === undefined) await onHost();
      else
        await withExtractedStore(join(m.workspaceRoot, spec.grubFromImage), log, (store) =>
          onHost(join(store, 'lib/grub/arm64-efi')),
        );
    } else {
      log('partitioning, formatting and installing GRUB in a throwaway VM');
      const script = renderBootDiskScript({
        ...common,
        mode: 'vm',
        target: '/dev/vda',
        kernel: '/xchg/kernel',
        initrd: '/xchg/initrd',
        workDir: '/tmp/boot-disk',
      });
      // The unpacked kernel boots the builder faster (PVH); it changes no byte of the disk.
      const pvh = m.machine.kernel.pvh && join(m.workspaceRoot, m.machine.kernel.pvh);
      const { builderLog } = await runInBuilderVm({
        machine: spec.builder,
        accel: m.machine.qemu.accel,
        kernel: pvh && existsSync(pvh) ? pvh : spec.kernelImage,
        initrd,
        script,
        inputs: { kernel: spec.kernelImage, initrd },
        disks: [{ file: raw, format: 'raw' }],
        timeoutSeconds,
        consoleLog: join(m.workspaceRoot, spec.stateDir, 'logs', 'boot-disk-builder.log'),
        lockFile: join(m.workspaceRoot, BUILDER_LOCK),
        sourceDateEpoch: epoch,
      });
      log(builderLog.trimEnd());
    }
    if (vars && spec.arch === 'x86_64-linux') {
      // The boot entry an installer registers, written on the host (efi-vars.ts).
      log('writing the EFI boot entry into the vars');
      writeFileSync(vars, withVariables(readFileSync(vars), bootEntryVariables(espEntry(raw))));
    }
    log('compacting into qcow2');
    // qemu-img convert writes clusters in order: the same raw bytes give the same qcow2 bytes.
    await runTool(
      'qemu-img',
      ['convert', '-q', '-f', 'raw', '-O', 'qcow2', raw, join(work, 'disk.img')],
      { debianPackage: 'qemu-utils' },
    );
    rmSync(raw);
    rmSync(join(work, 'scratch'), { recursive: true, force: true });
    throwIfInterrupted(`building the boot disk of "${spec.name}"`);
  });
  return { disk: join(out, 'disk.img'), efiVars: hasVars ? join(out, 'efi-vars.fd') : undefined };
}
