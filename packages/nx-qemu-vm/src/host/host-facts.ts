// The host facts that resolution needs, and their reader: the only effectful
// part of resolution. Resolution itself only reads the record, so tests can
// hand it any host they like (test/helpers/fake-host.ts).
import { existsSync, readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';

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

// QEMU's firmware spec: a descriptor in /etc overrides one of the same name in
// /usr/share; the merged list is ranked by file name.
const FIRMWARE_DIRS = ['/usr/share/qemu/firmware', '/etc/qemu/firmware'];

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

export function readFirmwareDescriptors(dirs = FIRMWARE_DIRS): FirmwareDescriptor[] {
  const byName = new Map<string, string>();
  for (const dir of dirs)
    for (const f of listDir(dir)) if (f.endsWith('.json')) byName.set(f, join(dir, f));
  const out: FirmwareDescriptor[] = [];
  for (const name of [...byName.keys()].sort()) {
    try {
      const parsed = JSON.parse(
        readFileSync(byName.get(name) as string, 'utf8'),
      ) as Partial<FirmwareDescriptor> | null;
      if (
        parsed &&
        Array.isArray(parsed['interface-types']) &&
        parsed.mapping &&
        Array.isArray(parsed.targets)
      )
        out.push({ ...(parsed as FirmwareDescriptor), file: name });
    } catch {
      // A broken descriptor is skipped, as QEMU's own tools do.
    }
  }
  return out;
}

/** `workspaceRoot` anchors relative paths, as the run script anchors them at $ws. */
export function readHostFacts(workspaceRoot = process.cwd(), bootDir = '/boot'): HostFacts {
  return {
    codename: osReleaseCodename(),
    kernels: listDir(bootDir)
      .filter((f) => f.startsWith('vmlinuz-'))
      .map((f) => join(bootDir, f)),
    firmware: readFirmwareDescriptors(),
    exists: (path) => existsSync(isAbsolute(path) ? path : join(workspaceRoot, path)),
    kind: (path) => {
      try {
        const stat = statSync(resolve(workspaceRoot, path));
        return stat.isFile() ? 'file' : stat.isDirectory() ? 'directory' : 'other';
      } catch {
        return undefined;
      }
    },
    realPath: (path) => realPathOf(resolve(workspaceRoot, path)),
  };
}

/** VERSION_CODENAME of /etc/os-release (bookworm on Debian 12). */
export function osReleaseCodename(file = '/etc/os-release'): string | undefined {
  try {
    return /^VERSION_CODENAME=["']?([a-z0-9-]+)/m.exec(readFileSync(file, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/** realpath(3) of the longest existing prefix, and the rest as written. */
export function realPathOf(absolute: string): string {
  const rest: string[] = [];
  let at = absolute;
  for (;;) {
    try {
      return join(realpathSync(at), ...rest.reverse());
    } catch {
      const parent = dirname(at);
      if (parent === at) return absolute;
      rest.push(basename(at));
      at = parent;
    }
  }
}
