// Facts about the host that resolution needs. Gathering them is an effect
// (see host-facts.ts); resolution itself only reads this record, so tests can
// hand it any host they like.
export interface FirmwareDescriptor {
  /** File name of the descriptor; descriptors are ranked by it, as QEMU's spec says. */
  file: string;
  'interface-types': string[];
  mapping: {
    device: string;
    executable?: { filename: string; format?: string };
    'nvram-template'?: { filename: string; format?: string };
  };
  targets: { architecture: string; machines: string[] }[];
  features?: string[];
}

export interface HostFacts {
  /** The host's Debian release codename (VERSION_CODENAME of /etc/os-release), when it has one. */
  codename?: string;
  /** Kernel images found in /boot (absolute paths). */
  kernels: string[];
  /** Firmware descriptors from QEMU's firmware directories, already ranked. */
  firmware: FirmwareDescriptor[];
  /** Whether a path exists on the host. */
  exists(path: string): boolean;
  /** Whether a path is a file, a directory or something else; undefined when it does not exist. */
  kind(path: string): 'file' | 'directory' | 'other' | undefined;
  /**
   * The absolute path with symbolic links resolved as far as the path exists,
   * relative paths taken from the workspace root: two paths name the same
   * place when their real paths are equal.
   */
  realPath(path: string): string;
}
