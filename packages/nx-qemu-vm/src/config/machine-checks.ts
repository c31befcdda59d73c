// Checks that JSON Schema cannot express: NixOS's forwardPorts assertions and
// the conflicts that would otherwise surface as an obscure QEMU error at boot.
import { type ConfigIssue, type OptionProblem, machineIssues, problemList } from './errors';
import type { ValidMachine } from './valid-machine';
import { ARCH_PROFILES, RESERVED_DRIVE_NAMES } from './defaults';
import { ideSlots } from './drives';
import { checkFiles } from './file-checks';
import { checkLogins } from './login-checks';
import { checkMounts } from './mount-checks';
import { checkTexts } from './text-checks';
import { checkWorkload } from './workload-checks';
import { checkForwardPorts, checkPrimaryIPAddress, checkVlans } from './network-checks';

/**
 * PCI slots each machine type leaves to the devices we add, measured with
 * QEMU 7.2: q35 keeps 4 of its 32 (host bridge, VGA, USB, LPC), pc 3 (host
 * bridge, PIIX3, VGA), aarch64's virt 1 (its host bridge).
 */
const FREE_PCI_SLOTS: Record<string, number> = { q35: 28, pc: 29, virt: 31 };

/** The PCI devices the machine's command line adds, and which option to blame when they are too many. */
function pciDevices(machine: ValidMachine) {
  const shares = new Set(['store', 'xchg', 'shared', ...Object.keys(machine.sharedDirectories)])
    .size;
  const nics = (machine.qemu.networkingOptions === undefined ? 1 : 0) + machine.vlans.length;
  const drives =
    1 +
    (machine.useBootLoader ? 1 : 0) +
    machine.emptyDiskImages.length +
    machine.qemu.drives.length +
    machine.install.length;
  const disks =
    machine.qemu.diskInterface === 'virtio'
      ? drives
      : machine.qemu.diskInterface === 'scsi'
        ? 1
        : 0;
  const display = machine.arch === 'aarch64-linux' ? 2 : 0; // virtio-gpu-pci and usb-ehci
  // One each: virtio-rng and the virtio-serial bus of the control port.
  const total = 2 + shares + nics + disks + display;
  const biggest: [(string | number)[], unknown] =
    disks >= shares && disks >= nics
      ? [['emptyDiskImages'], machine.emptyDiskImages]
      : shares >= nics
        ? [['sharedDirectories'], Object.keys(machine.sharedDirectories)]
        : [['vlans'], machine.vlans];
  const detail = [
    `${disks} for disks`,
    `${shares} for 9p shares`,
    `${nics} for network cards`,
    ...(display ? [`${display} for the display and USB`] : []),
    '2 for the random number generator and the control port',
  ].join(', ');
  return { total, detail, why: { path: biggest[0], value: biggest[1] } };
}

/**
 * The /tmp tmpfs size as the guest kernel computes it (memparse, then a
 * percentage as 4 KiB pages of memory), before it wraps at 64 bits.
 */
function tmpfsSizeBytes(machine: ValidMachine): bigint | undefined {
  const size = /^(\d+)([kmgKMG%]?)$/.exec(machine.tmpOnTmpfsSize);
  // Without tmpOnTmpfs the size is unused; a memorySize the schema refused says nothing.
  if (!size || !machine.tmpOnTmpfs || !Number.isSafeInteger(machine.memorySize)) return undefined;
  const n = BigInt(size[1]);
  if (size[2] === '%') return (n << 12n) * BigInt(machine.memorySize * 256);
  return n << BigInt({ k: 10, m: 20, g: 30 }[size[2].toLowerCase()] ?? 0);
}

export function checkMachine(name: string, machine: ValidMachine): ConfigIssue[] {
  // The order of the checks is the order of their problems in the message.
  return machineIssues(name, [
    ...[checkTexts, checkWorkload, checkFiles, checkLogins, checkMounts].flatMap((check) => {
      const { problems, add } = problemList();
      check(machine, add);
      return problems;
    }),
    ...checkPrimaryIPAddress(machine),
    ...checkResources(machine),
    ...checkForwardPorts(machine),
    ...checkVlans(machine),
    ...checkDrives(machine),
    ...checkBoot(machine),
  ]);
}

/** The /tmp size and the number of cores, against what the guest kernel and QEMU take. */
function checkResources(machine: ValidMachine): OptionProblem[] {
  const { problems, add } = problemList();
  const tmpfsBytes = tmpfsSizeBytes(machine);
  if (tmpfsBytes !== undefined && tmpfsBytes >= 2n ** 64n)
    add(
      ['tmpOnTmpfsSize'],
      machine.tmpOnTmpfsSize,
      `comes to ${tmpfsBytes} bytes${machine.tmpOnTmpfsSize.endsWith('%') ? ` of this machine's ${machine.memorySize} MiB` : ''}, past the 64-bit count of bytes the guest kernel reads it into (it would wrap around to a small size). Give a smaller size.`,
    );
  const { maxCores } = ARCH_PROFILES[machine.arch];
  if (machine.cores > maxCores)
    add(
      ['cores'],
      machine.cores,
      `is out of range for an ${machine.arch} guest (allowed: 1 to ${maxCores}, the most QEMU starts for it${machine.arch === 'aarch64-linux' ? '' : ' without KVM'}).`,
    );
  return problems;
}

/** Drive names, and whether the drives fit the disk bus and the PCI slots. */
function checkDrives(machine: ValidMachine): OptionProblem[] {
  const { problems, add } = problemList();
  const driveNames = new Map<string, number>();
  machine.qemu.drives.forEach((drive, i) => {
    if (drive.name === undefined) return;
    if (RESERVED_DRIVE_NAMES.includes(drive.name))
      add(
        ['qemu', 'drives', i, 'name'],
        drive.name,
        `"${drive.name}" is the name of a built-in drive; choose another name.`,
      );
    const first = driveNames.get(drive.name);
    if (first !== undefined)
      add(
        ['qemu', 'drives', i, 'name'],
        drive.name,
        `qemu.drives[${first}] has the same name; drive names must be unique.`,
      );
    else driveNames.set(drive.name, i);
  });

  // Root, the boot disk, the empty disks and the user's drives share one bus.
  const driveCount =
    1 +
    (machine.useBootLoader ? 1 : 0) +
    machine.emptyDiskImages.length +
    machine.qemu.drives.length;
  const machineType = machine.qemu.machine ?? ARCH_PROFILES[machine.arch].machine;
  const busLimit = { virtio: 26, scsi: 7, ide: ideSlots(machineType).length }[
    machine.qemu.diskInterface
  ];
  if (driveCount > busLimit)
    add(
      ['qemu', 'diskInterface'],
      machine.qemu.diskInterface,
      `${driveCount} drives do not fit: this interface takes at most ${busLimit}. Use "virtio" or fewer disks.`,
    );
  const pci = pciDevices(machine);
  const freeSlots =
    FREE_PCI_SLOTS[
      machineType
        .split(',')[0]
        .replace(/^pc-q35-.*/, 'q35')
        .replace(/^pc-i440fx-.*/, 'pc')
    ];
  if (freeSlots !== undefined && pci.total > freeSlots)
    add(
      pci.why.path,
      pci.why.value,
      `the machine needs ${pci.total} PCI slots (${pci.detail}), and QEMU's ${machineType} machine has ${freeSlots} for them. Use fewer disks, shares or vlans${machine.qemu.diskInterface === 'virtio' ? ', or diskInterface "scsi", which puts every disk on one controller' : ''}.`,
    );
  if (machine.qemu.diskInterface === 'ide' && machine.arch === 'aarch64-linux')
    add(
      ['qemu', 'diskInterface'],
      'ide',
      'the aarch64 "virt" machine has no IDE bus; use "virtio" or "scsi".',
    );
  return problems;
}

/** The boot options that exclude one another: firmware, boot disk, initrd and warm starts. */
function checkBoot(machine: ValidMachine): OptionProblem[] {
  const { problems, add } = problemList();
  // A warm state is saved inside stage 1 of the generated initrd, and only a
  // direct x86 boot without firmware state (EFI variables) restores the same way every time.
  if (machine.warmStart) {
    const why =
      machine.arch !== 'x86_64-linux'
        ? `the machine is ${machine.arch}`
        : machine.useBootLoader
          ? 'useBootLoader is true'
          : machine.useEFIBoot
            ? 'useEFIBoot is true'
            : machine.initrd !== null
              ? 'initrd is set (warm starts need the generated initrd)'
              : undefined;
    if (why)
      add(
        ['warmStart'],
        machine.warmStart,
        `warm starts are for x86_64 machines that boot their kernel directly with the generated initrd, and ${why}. Set warmStart to false, or boot that way.`,
      );
    else if (machine.warmStart === 'ready') {
      // QEMU cannot save a machine with a mounted 9p share, and the host's /usr is one for good.
      const readyWhy =
        machine.system.from !== 'debian'
          ? 'a machine whose system is the host\'s /usr keeps that 9p share mounted, which QEMU cannot save. Declare a system ("system": { "from": "debian", ... })'
          : // The state has disks of its own, made when it is saved; a drive of yours would be written by the save and read stale by every restore.
            machine.diskSize === null
            ? 'its root disk is new, made when it is saved, and diskSize is null (a root disk that is never created). Give diskSize a size'
            : machine.qemu.drives.length > 0
              ? 'its disks are its own, made when it is saved, and qemu.drives names drives of yours, which the save would write and every restore would read as they were then. Remove qemu.drives'
              : undefined;
      if (readyWhy)
        add(
          ['warmStart'],
          'ready',
          `a ready state is saved with the machine up, and ${readyWhy}, or set warmStart to true.`,
        );
    }
  }
  if (machine.useEFIBoot && machine.bios !== null)
    add(
      ['bios'],
      machine.bios,
      'cannot be combined with useEFIBoot: EFI boot uses OVMF as firmware. Set one of them.',
    );
  if (machine.arch === 'aarch64-linux' && machine.bios !== null)
    add(
      ['bios'],
      machine.bios,
      'is for x86 machines; aarch64 boots with UEFI (useEFIBoot) or directly.',
    );
  if (machine.arch === 'i686-linux' && machine.useBootLoader)
    add(
      ['useBootLoader'],
      true,
      'boot disks are built for x86_64 and aarch64 guests; an i686 machine boots its kernel directly: set useBootLoader to false.',
    );
  // An aarch64 boot disk is an EFI disk with the image's GRUB (arm64-efi), booted by AAVMF.
  if (machine.arch === 'aarch64-linux' && machine.useBootLoader && !machine.useEFIBoot)
    add(
      ['useEFIBoot'],
      machine.useEFIBoot,
      'an aarch64 boot disk boots through UEFI (AAVMF) only; set useEFIBoot to true, or useBootLoader to false (direct kernel boot).',
    );
  if (machine.arch === 'aarch64-linux' && machine.useBootLoader && machine.system.from !== 'debian')
    add(
      ['useBootLoader'],
      true,
      'an aarch64 boot disk takes GRUB (arm64-efi) from the machine\'s Debian image; set system.from to "debian", or useBootLoader to false.',
    );
  // The throwaway builder VM runs our stage 1 in builder mode, which only the generated initrd has.
  if (
    machine.useBootLoader &&
    machine.bootDiskBuilder === 'vm' &&
    typeof machine.initrd === 'string' &&
    machine.arch === 'x86_64-linux'
  )
    add(
      ['initrd'],
      machine.initrd,
      'with useBootLoader and bootDiskBuilder "vm", the boot disk is built by booting the generated initrd; set bootDiskBuilder to "host", or leave initrd unset.',
    );
  return problems;
}
