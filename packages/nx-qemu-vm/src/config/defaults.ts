// Defaults that depend on the machine name, its architecture or other options,
// which is why the JSON Schema cannot carry them.
import type { ValidMachine } from './valid-machine';
import { XCHG_TARGET } from '../contract/host-guest';

export type GuestArch = ValidMachine['arch'];

export const RESERVED_DRIVE_NAMES = ['root', 'boot'];

/** Per-machine state (disks, vars, console logs) lives here, relative to the workspace root. */
export const stateDir = (name: string) => `.vm/${name}`;
/** Cached build outputs of a machine, relative to the workspace root. */
export const distDir = (name: string) => `dist/vm/${name}`;

export const defaultDiskImage = (name: string) => `${stateDir(name)}/${name}.qcow2`;
/** Empty data disks are stateful too: created once, kept between runs. */
export const emptyDiskImage = (name: string, i: number) => `${stateDir(name)}/empty${i}.qcow2`;
export const defaultEfiVars = (name: string) => `${stateDir(name)}/${name}-efi-vars.fd`;
export const generatedInitrd = (name: string) => `${distDir(name)}/initrd/initrd.img`;
/** The initrd target's unpacked kernel, booted through PVH when it is there (initrd/pvh-kernel.ts). */
export const pvhKernel = (name: string) => `${distDir(name)}/initrd/vmlinux`;
/** The erofs UUID of every store image: fixed, so builds are reproducible and stage 1 finds the store. */
export const IMAGE_UUID = '6e782d71-656d-752d-766d-73746f726500';
/** The image target's outputs: the erofs store, the kernel beside it, and what went in. */
export const imageDir = (name: string) => `${distDir(name)}/image`;
/**
 * Builds of images by what they are made of (image/image-plan.ts's
 * imageBuildKey): machines with the same system share one, which each image
 * target links into its own output. No machine's name starts with a dot.
 */
export const sharedImagesDir = 'dist/vm/.images';
/** The install target's output: one erofs image per entry of `install`. */
export const installDir = (name: string) => `${distDir(name)}/install`;
export const installImage = (name: string, i: number) => `${installDir(name)}/${i}.erofs`;
/** Each install image's file system UUID ("nx-qemu-vm-inst" and its number): stage 1 finds it by that. */
export const installUuid = (i: number) =>
  `6e782d71-656d-752d-766d-696e7374${i.toString(16).padStart(4, '0')}`;
export const imageStore = (name: string) => `${imageDir(name)}/store.erofs`;
export const imageKernel = (name: string) => `${imageDir(name)}/vmlinuz`;
export const bootDiskImage = (name: string) => `${distDir(name)}/boot-disk/disk.img`;
export const bootDiskEfiVars = (name: string) => `${distDir(name)}/boot-disk/efi-vars.fd`;

/** Where stage 1 mounts the read-only store and keeps the overlay's upper layer when the store is writable. */
export const RO_STORE = '/.nx-store/ro';
export const RW_STORE = '/.nx-store/rw';

export const SHARED_TARGET = '/tmp/shared';

export interface ArchProfile {
  binary: string;
  machine: string;
  cpu: string;
  serial: string;
  /** Hosts (`uname -m`) whose KVM runs this architecture's guests. */
  kvmHosts: string[];
  /** Devices NixOS adds for this architecture: input, and a display where the machine has none. */
  devices: string[];
  debianQemuPackage: string;
  /** dpkg's name for the architecture, and the kernel package of a Debian image. */
  debianArch: string;
  debianKernelPackage: string;
  /**
   * The most vCPUs QEMU 7.2 starts for the architecture's machine under TCG:
   * q35 needs KVM's x2APIC support past 255; aarch64's virt takes 512.
   */
  maxCores: number;
  /**
   * Kernel parameters a guest under TCG needs so that its clock goes on from
   * a snapshot loaded into the running QEMU (the test API's restore). On x86,
   * QEMU then moves the TSC on to the highest value it has handed out (its
   * guard against a clock going back), so a guest keeping time by the TSC
   * would jump by the time it ran since the snapshot: soft-lockup reports and
   * expired service watchdogs. With the TSC marked unstable it keeps time by
   * the HPET, which runs on QEMU's virtual clock, saved and restored exactly.
   * aarch64's generic timer runs on that clock already; KVM guests keep
   * kvm-clock. Not added where the machine's own parameters set it, nor to a
   * boot loader's command line (`useBootLoader`), which is on the disk.
   */
  tcgKernelParams: string[];
}

// Binary, machine and CPU follow nixpkgs' nixos/lib/qemu-common.nix for a Linux host.
export const ARCH_PROFILES: Record<GuestArch, ArchProfile> = {
  'x86_64-linux': {
    binary: 'qemu-system-x86_64',
    machine: 'q35',
    cpu: 'max',
    serial: 'ttyS0',
    kvmHosts: ['x86_64'],
    devices: ['-usb', '-device', 'usb-tablet,bus=usb-bus.0'],
    debianQemuPackage: 'qemu-system-x86',
    debianArch: 'amd64',
    debianKernelPackage: 'linux-image-amd64',
    maxCores: 255,
    tcgKernelParams: ['tsc=unstable'],
  },
  'i686-linux': {
    binary: 'qemu-system-i386',
    machine: 'q35',
    cpu: 'max',
    serial: 'ttyS0',
    kvmHosts: ['x86_64', 'i686'],
    devices: ['-usb', '-device', 'usb-tablet,bus=usb-bus.0'],
    debianQemuPackage: 'qemu-system-x86',
    debianArch: 'i386',
    debianKernelPackage: 'linux-image-686',
    maxCores: 255,
    tcgKernelParams: ['tsc=unstable'],
  },
  'aarch64-linux': {
    binary: 'qemu-system-aarch64',
    machine: 'virt,gic-version=max',
    cpu: 'max',
    serial: 'ttyAMA0',
    kvmHosts: ['aarch64'],
    devices: [
      '-device',
      'virtio-gpu-pci',
      '-device',
      'usb-ehci,id=usb0',
      '-device',
      'usb-kbd',
      '-device',
      'usb-tablet',
    ],
    debianQemuPackage: 'qemu-system-arm',
    debianArch: 'arm64',
    debianKernelPackage: 'linux-image-arm64',
    maxCores: 512,
    tcgKernelParams: [],
  },
};

/** Consoles for the kernel command line; the last one is the preferred console. */
export function defaultConsoles(arch: GuestArch, graphics: boolean): string[] {
  const serial = `${ARCH_PROFILES[arch].serial},115200n8`;
  return graphics ? [serial, 'tty0'] : ['tty0', serial];
}

/** Mount points that resolution owns, with the option that controls each. */
export function managedMountPoints(m: ValidMachine): Map<string, string> {
  const owned = new Map<string, string>([
    ['/', 'bootDevice'],
    [m.store.target, 'store.target'],
    [XCHG_TARGET, 'the xchg share'],
    [SHARED_TARGET, 'the shared share'],
  ]);
  if (m.writableStore) {
    owned.set(RO_STORE, 'writableStore');
    owned.set(RW_STORE, 'writableStore');
  }
  if (m.tmpOnTmpfs) owned.set('/tmp', 'tmpOnTmpfs');
  if (m.useBootLoader) owned.set('/boot', 'useBootLoader');
  for (const [tag, share] of Object.entries(m.sharedDirectories))
    owned.set(share.target, `sharedDirectories.${tag}`);
  return owned;
}
