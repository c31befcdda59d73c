// What a boot disk is made of, taken from the resolved machine: the boot-disk
// step reads nothing else of it, so this is also what its cache key covers.
import { type BuilderMachine, builderMachine } from '../builder-vm/run-in-vm';
import type { ResolvedMachine } from '../config/resolve';
import type { EfiFirmware } from '../config/firmware';

/**
 * Everything the boot disk takes from the machine's config; buildBootDisk
 * reads nothing else of it, so this is what the target's cache key must cover.
 * The initrd arrives as the initrd target's output.
 */
export interface BootDiskSpec {
  name: string;
  arch: ResolvedMachine['arch'];
  useBootLoader: boolean;
  kernelImage: string;
  initrd: string;
  grub: {
    kernelParams: string[];
    resolution: { x: number; y: number };
    efi: boolean;
    serialConsole: boolean;
  };
  efi?: EfiFirmware;
  /** aarch64: the image whose /usr/lib/grub/arm64-efi provides GRUB. */
  grubFromImage?: string;
  /** The throwaway VM that builds it, or none when the host builds it. */
  builder: BuilderMachine | 'host';
  stateDir: string;
}

export function bootDiskSpec(r: ResolvedMachine): BootDiskSpec {
  return {
    name: r.name,
    arch: r.arch,
    useBootLoader: r.boot.loader,
    kernelImage: r.kernel.image,
    initrd: r.kernel.initrd,
    grub: {
      kernelParams: r.kernel.params,
      resolution: r.boot.resolution,
      efi: r.boot.efi,
      serialConsole: !r.graphics,
    },
    efi: r.efi,
    grubFromImage:
      r.arch === 'aarch64-linux' && r.system.from === 'debian' ? r.system.image.store : undefined,
    // No arm64 builder VM: an aarch64 disk is always made on the host (no root needed either).
    builder:
      r.boot.diskBuilder === 'host' || r.arch !== 'x86_64-linux' ? 'host' : builderMachine(r),
    stateDir: r.paths.stateDir,
  };
}
