// The seed's requiredKernelConfig: refuse a kernel that cannot boot our
// guest before spending a build and a boot on finding out. NixOS checks it
// when building the kernel; we check the /boot/config-* Debian installs
// beside every image.
import { dirname, join } from 'node:path';

/** CONFIG_X=y|m|"string"|number, keyed without the CONFIG_ prefix. */
export function parseKernelConfig(text: string): Map<string, string> {
  const config = new Map<string, string>();
  for (const line of text.split('\n')) {
    // "# CONFIG_X is not set" and other comments mean "absent", which is
    // how a missing option reads too.
    const m = /^CONFIG_([A-Za-z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) config.set(m[1], m[2]);
  }
  return config;
}

/** enabled: y or m (the seed's isEnabled); builtin: y only (its isYes). */
export interface KernelRequirement {
  option: string;
  need: 'enabled' | 'builtin';
}

export interface KernelConfigOptions {
  /** The serial port differs: 8250 on x86, PL011 on aarch64's virt machine. */
  arch?: 'x86_64-linux' | 'aarch64-linux' | 'i686-linux';
  /** The store is an erofs image (system.from "debian"). */
  erofsStore?: boolean;
  graphics: boolean;
  writableStore: boolean;
  diskInterface: 'virtio' | 'scsi' | 'ide';
}

const enabled = (option: string): KernelRequirement => ({ option, need: 'enabled' });
const builtin = (option: string): KernelRequirement => ({ option, need: 'builtin' });

export function requiredKernelConfig(opts: KernelConfigOptions): KernelRequirement[] {
  return [
    // From the seed.
    ...['VIRTIO_BLK', 'VIRTIO_PCI', 'VIRTIO_NET', 'EXT4_FS', 'NET_9P_VIRTIO', '9P_FS'].map(enabled),
    ...['BLK_DEV', 'PCI', 'NETDEVICES', 'NET_CORE', 'INET', 'NETWORK_FILESYSTEMS'].map(builtin),
    // Without graphics the console is the serial port, and it must work
    // before any module is loaded or early boot messages are lost.
    ...(opts.graphics
      ? []
      : (opts.arch === 'aarch64-linux'
          ? ['SERIAL_AMBA_PL011', 'SERIAL_AMBA_PL011_CONSOLE']
          : ['SERIAL_8250_CONSOLE', 'SERIAL_8250']
        ).map(builtin)),
    ...(opts.erofsStore ? [enabled('EROFS_FS')] : []),
    ...(opts.writableStore ? [enabled('OVERLAY_FS')] : []),
    // Ours: NixOS gets these from its own kernel config, we cannot assume them.
    // hvc consoles and the guest agent channel ride on virtio-console.
    enabled('VIRTIO_CONSOLE'),
    // Stage 1 has no udev; device nodes come from devtmpfs.
    builtin('DEVTMPFS'),
    // Without it the kernel ignores our initrd altogether.
    builtin('BLK_DEV_INITRD'),
    // The scsi disk interface is QEMU's lsi53c895a, driven by sym53c8xx.
    ...(opts.diskInterface === 'scsi' ? [enabled('SCSI_SYM53C8XX_2'), enabled('BLK_DEV_SD')] : []),
    // ide disks sit on the PIIX controller of QEMU's pc machine and show up
    // through libata as SCSI disks.
    ...(opts.diskInterface === 'ide' ? [enabled('ATA_PIIX'), enabled('BLK_DEV_SD')] : []),
  ];
}

export interface MissingKernelOption {
  option: string;
  need: 'enabled' | 'builtin';
  /** The value found ("m", "n", ...), or "not set". */
  actual: string;
}

function satisfied(value: string | undefined, need: KernelRequirement['need']): boolean {
  return need === 'builtin' ? value === 'y' : value === 'y' || value === 'm';
}

export function missingKernelConfig(
  config: Map<string, string>,
  required: readonly KernelRequirement[],
): MissingKernelOption[] {
  return required
    .filter((r) => !satisfied(config.get(r.option), r.need))
    .map((r) => ({ option: r.option, need: r.need, actual: config.get(r.option) ?? 'not set' }));
}

/** Debian installs /boot/config-<version> beside /boot/vmlinuz-<version>. */
export function kernelConfigPath(kernelImage: string, version: string): string {
  return join(dirname(kernelImage), `config-${version}`);
}

export class KernelConfigError extends Error {
  constructor(
    readonly file: string,
    readonly missing: readonly MissingKernelOption[],
  ) {
    const lines = missing.map(
      (m) =>
        `  - CONFIG_${m.option} must be ${m.need === 'builtin' ? 'built in (y)' : 'enabled (y or m)'}, but is ${m.actual}`,
    );
    super(
      [
        `The guest kernel cannot boot this machine: its config ${file} lacks ${missing.length} required option${missing.length === 1 ? '' : 's'}:`,
        ...lines,
        '"Enabled" means y or m (built in, or a module the initrd loads); "built in" means y, because it is needed before any module can load.',
        'Point the machine\'s "kernel" option at a kernel built with these options, or install Debian\'s stock kernel (apt-get install linux-image-amd64), which has them all.',
      ].join('\n'),
    );
    this.name = 'KernelConfigError';
  }
}

/** Throws KernelConfigError listing every unmet requirement at once. */
export function checkKernelConfig(
  configText: string,
  file: string,
  opts: KernelConfigOptions,
): void {
  const missing = missingKernelConfig(parseKernelConfig(configText), requiredKernelConfig(opts));
  if (missing.length) throw new KernelConfigError(file, missing);
}
