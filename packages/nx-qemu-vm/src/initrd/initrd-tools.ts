// The host tools the stage-1 initrd copies. The initrd target's cache key
// hashes these same files (plugin/target-inputs.ts), so the list is written
// here once, apart from the initrd builder, for both to read.

/** A host tool the initrd copies, and the Debian package that provides it. */
export interface HostTool {
  /** Where it may be, on the host or in an image's store; the first found is taken. */
  candidates: readonly string[];
  initrdPath: string;
  debianPackage: string;
}

/** Stage 1's shell and commands: it must be static, as the initrd carries no libraries for it. */
export const BUSYBOX: HostTool = {
  candidates: ['/bin/busybox', '/usr/bin/busybox'],
  initrdPath: '/bin/busybox',
  debianPackage: 'busybox-static',
};

/** The file system tools stage 1 runs; they are copied with their libraries. */
export const FILE_SYSTEM_TOOLS: readonly HostTool[] = [
  {
    candidates: ['/sbin/mke2fs', '/usr/sbin/mke2fs'],
    initrdPath: '/sbin/mke2fs',
    debianPackage: 'e2fsprogs',
  },
  {
    candidates: ['/sbin/e2fsck', '/usr/sbin/e2fsck'],
    initrdPath: '/sbin/e2fsck',
    debianPackage: 'e2fsprogs',
  },
  {
    candidates: ['/sbin/blkid', '/usr/sbin/blkid'],
    initrdPath: '/sbin/blkid',
    debianPackage: 'util-linux',
  },
];

/** Every tool the initrd copies, busybox first. */
export const INITRD_HOST_TOOLS: readonly HostTool[] = [BUSYBOX, ...FILE_SYSTEM_TOOLS];
