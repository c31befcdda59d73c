// Assembles the stage-1 initrd: busybox, mke2fs and blkid with their
// libraries, the kernel modules the machine needs, and the two init scripts.
// The archive is a pure function of those files: sorted, owned by root,
// timestamped with SOURCE_DATE_EPOCH (0 by default).
import { existsSync, readFileSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { ResolvedMachine } from '../config/resolve';
import { type CpioEntry, gzipDeterministic, writeCpio } from '../formats/cpio';
import { isStaticExecutable, libraryClosure } from './libs';
import { MULTIARCH, storeLibraryClosure, storePath } from './store-libs';
import { kernelVersionFromImage, planModules, readModuleIndex, readModuleObject } from './modules';
import { type KernelConfigOptions, checkKernelConfig, kernelConfigPath } from './kernel-config';
import { type Stage1Modules, renderStage1 } from '../guest/stage1';
import {
  INITRD_AGENT,
  INITRD_ALTERNATIVES,
  INITRD_NETWORK_UNIT,
  INITRD_SERVICES,
  INITRD_STAGE2,
  INITRD_STAGE2_UNIT,
  INITRD_UNITS,
} from '../contract/host-guest';
import { renderStage2 } from '../guest/stage2';
import { renderServiceUnits, renderServicesProgram } from '../guest/services';
import { type GuestFile, INITRD_FILES, guestFiles, readSource } from '../guest/files';
import { BUSYBOX, FILE_SYSTEM_TOOLS, type HostTool, INITRD_HOST_TOOLS } from './initrd-tools';

/** The test API's guest agent, shipped in the package beside this file. */
const AGENT_SOURCE = join(__dirname, '..', 'guest', 'agent.pl');
const STAGE2_UNIT_SOURCE = join(__dirname, '..', 'guest', 'nx-qemu-vm.service');
const NETWORK_UNIT_SOURCE = join(__dirname, '..', 'guest', 'nx-qemu-vm-network.service');

export class HostToolError extends Error {}

function findTool(tool: HostTool, store?: string): string {
  const found =
    store === undefined
      ? tool.candidates.find((p) => existsSync(p))
      : tool.candidates.map((p) => storePath(store, p)).find((p) => p && existsSync(p));
  if (!found)
    throw new HostToolError(
      store === undefined
        ? `${tool.candidates[0]} is missing. Install it: apt-get install ${tool.debianPackage}`
        : `the image has no ${tool.candidates[0]}; its package ${tool.debianPackage} should be in every image`,
    );
  return found;
}

/** The drivers and file systems stage 1 needs for this machine. */
export function wantedModules(r: ResolvedMachine): string[] {
  const iface = r.qemu.diskInterface;
  return [
    // fw_cfg tells the guest it runs for exec, even when GRUB writes the kernel command line.
    'qemu_fw_cfg',
    'virtio_pci',
    'virtio_rng',
    'virtio_console',
    'virtio_net',
    // Disk drivers: each is one of stage 1's BLOCK_DRIVERS (loaded after a warm restore).
    'virtio_blk',
    ...(iface === 'scsi' ? ['sym53c8xx', 'sd_mod'] : []),
    ...(iface === 'ide' ? ['ahci', 'ata_piix', 'sd_mod'] : []),
    '9pnet_virtio',
    '9p',
    'ext4',
    // A Debian image's store and the workspace's install images.
    ...(r.fileSystems.some((f) => f.fsType === 'erofs') ? ['erofs'] : []),
    ...(r.store.writable ? ['overlay'] : []),
    // FAT (the boot disk's /boot, or a user's file system) with its code pages.
    ...(r.fileSystems.some((f) => f.fsType === 'vfat')
      ? ['vfat', 'nls_cp437', 'nls_iso8859-1', 'nls_ascii']
      : []),
  ];
}

/**
 * Debian reaches many commands (awk, editor, pager, ...) through symlinks in
 * /etc/alternatives, which the shared /usr does not carry. The guest gets the
 * host's links that point into the shared store.
 */
function alternativesEntries(storeSource: string, dir = '/etc/alternatives'): CpioEntry[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    let target: string;
    try {
      target = readlinkSync(join(dir, name));
    } catch {
      return [];
    }
    return target.startsWith(`${storeSource}/`)
      ? [{ path: `${INITRD_ALTERNATIVES}/${name}`, type: 'symlink' as const, target }]
      : [];
  });
}

/** The one kernel release under an image store's lib/modules. */
function imageKernelVersion(store: string): string | undefined {
  let releases: string[];
  try {
    releases = readdirSync(join(store, 'lib/modules'));
  } catch {
    return undefined;
  }
  if (releases.length > 1)
    throw new HostToolError(
      `the image holds the modules of ${releases.length} kernels (${releases.join(', ')}); it should hold one`,
    );
  return releases[0];
}

export interface InitrdResult {
  /** gzip-compressed newc archive. */
  image: Buffer;
  /** One line per archive member, for people and for debugging. */
  manifest: string;
  kernelVersion: string;
}

export interface InitrdOptions {
  /** Root of /lib/modules; tests point it elsewhere. */
  modulesRoot?: string;
  /**
   * The extracted store of a Debian image (its /usr): the kernel's modules,
   * busybox, the e2fsprogs tools and their libraries come from there.
   */
  store?: string;
  mtime?: number;
  /** Receives one line per phase, for the user watching a long build. */
  log?: (line: string) => void;
  /** Where the `source` of `files` are read; the current directory by default. */
  workspaceRoot?: string;
}

/**
 * Everything the initrd takes from the machine's config. buildInitrd reads
 * nothing else of it, so this is what the initrd target's cache key must cover.
 */
export interface InitrdSpec {
  kernelImage: string;
  /** Debian's multiarch directory of an image's libraries; the host's tools need none. */
  multiarch: string | null;
  kernelCheck: KernelConfigOptions;
  modules: string[];
  /** The store whose /etc/alternatives links the guest gets, when the store is mounted at its own path. */
  alternativesFrom: string | null;
  stage1: (modules: Stage1Modules) => string;
  stage2: string;
  /** Stage 2's systemd unit, with "init": "systemd". */
  stage2Unit: string | null;
  /** With "init": "systemd", the unit that configures the network before network.target. */
  networkUnit: string | null;
  /** The machine's name, for errors about its files. */
  machine: string;
  /** The machine's `files`; a `source` is read when the initrd is built. */
  files: GuestFile[];
  /** The declared services' program, or null without services. */
  services: string | null;
  /** With "init": "systemd", one unit per service, by file name. */
  serviceUnits: Record<string, string>;
}

export function initrdSpec(r: ResolvedMachine): InitrdSpec {
  return {
    kernelImage: r.kernel.image,
    multiarch: r.system.from === 'debian' ? MULTIARCH[r.arch] : null,
    kernelCheck: {
      arch: r.arch,
      erofsStore: r.fileSystems.some((f) => f.fsType === 'erofs'),
      graphics: r.graphics,
      writableStore: r.store.writable,
      diskInterface: r.qemu.diskInterface,
    },
    modules: wantedModules(r),
    // An image carries its own /etc/alternatives in the factory /etc.
    alternativesFrom:
      r.system.from === 'host' && r.store.source === r.store.target ? r.store.source : null,
    stage1: (modules) => renderStage1(r, modules),
    stage2: renderStage2(r),
    stage2Unit: r.kernel.systemd ? readFileSync(STAGE2_UNIT_SOURCE, 'utf8') : null,
    networkUnit: r.kernel.systemd ? readFileSync(NETWORK_UNIT_SOURCE, 'utf8') : null,
    machine: r.name,
    files: guestFiles(r.guest.files),
    services: renderServicesProgram(r),
    serviceUnits: renderServiceUnits(r),
  };
}

export async function buildInitrd(
  r: ResolvedMachine | InitrdSpec,
  opts: InitrdOptions = {},
): Promise<InitrdResult> {
  const spec = 'stage2' in r ? r : initrdSpec(r);
  const store = opts.store;
  // A missing or stray source is the user's to fix: say so before any long step.
  const fileContents = spec.files.map((f) =>
    'text' in f.content
      ? Buffer.from(f.content.text)
      : readSource(spec.machine, f.path, f.content.source, opts.workspaceRoot ?? process.cwd()),
  );
  const version =
    store === undefined ? kernelVersionFromImage(spec.kernelImage) : imageKernelVersion(store);
  if (!version)
    throw new HostToolError(
      `cannot tell the version of kernel ${spec.kernelImage}; name it vmlinuz-<version> or set "kernel" to a Debian kernel`,
    );
  const modulesDir = join(
    opts.modulesRoot ?? (store === undefined ? '/lib/modules' : join(store, 'lib/modules')),
    version,
  );
  if (!existsSync(join(modulesDir, 'modules.dep')))
    throw new HostToolError(
      `kernel modules for ${version} are missing (${modulesDir}). Install them: apt-get install linux-image-${version}`,
    );
  const configFile = kernelConfigPath(spec.kernelImage, version);
  if (!existsSync(configFile))
    throw new HostToolError(
      `kernel config ${configFile} is missing; it ships with the kernel: apt-get install linux-image-${version}`,
    );
  const log = opts.log ?? (() => undefined);
  log(`checking ${configFile} for the options the guest needs`);
  checkKernelConfig(readFileSync(configFile, 'utf8'), configFile, spec.kernelCheck);

  const busybox = findTool(BUSYBOX, store);
  if (!(await isStaticExecutable(busybox)))
    throw new HostToolError(
      `${busybox} is not statically linked. Install the static build: apt-get install busybox-static`,
    );
  const tools = FILE_SYSTEM_TOOLS.map((t) => ({ tool: t, path: findTool(t, store) }));

  const plan = planModules(readModuleIndex(modulesDir), spec.modules);
  if (plan.missing.length)
    throw new HostToolError(
      `kernel ${version} has no module named ${plan.missing.join(', ')}; use a kernel that provides them`,
    );

  const toolNames = INITRD_HOST_TOOLS.map((t) => posix.basename(t.initrdPath)).join(', ');
  log(`collecting ${toolNames} and ${plan.load.length} kernel modules`);
  const entries: CpioEntry[] = [];
  const file = (path: string, data: Uint8Array, mode = 0o755) =>
    entries.push({ path, type: 'file', mode, data });
  for (const dir of ['dev', 'proc', 'sys', 'tmp', 'mnt-root', 'run', 'lib/modules'])
    entries.push({ path: dir, type: 'dir', mode: 0o755 });
  file(BUSYBOX.initrdPath, readFileSync(busybox));
  for (const { tool, path } of tools) file(tool.initrdPath, readFileSync(path));
  // Libraries keep the path ldd resolved, so the loader finds them as on the host;
  // an image's are read from their ELF headers, under the loader's default paths.
  if (store === undefined)
    for (const lib of await libraryClosure(tools.map((t) => t.path)))
      file(lib, readFileSync(realpathSync(lib)));
  else
    for (const lib of storeLibraryClosure(
      store,
      tools.map((t) => t.path),
      spec.multiarch ?? MULTIARCH['x86_64-linux'],
    ))
      file(lib.guestPath, readFileSync(lib.file));
  for (const m of plan.load)
    file(`/lib/modules/${m.name}.ko`, await readModuleObject(modulesDir, m.path), 0o644);
  const alternatives =
    spec.alternativesFrom === null ? [] : alternativesEntries(spec.alternativesFrom);
  entries.push({ path: INITRD_ALTERNATIVES, type: 'dir', mode: 0o755 }, ...alternatives);
  file('/init', Buffer.from(spec.stage1({ load: plan.load })));
  file(INITRD_STAGE2, Buffer.from(spec.stage2));
  file(INITRD_AGENT, readFileSync(AGENT_SOURCE), 0o644);
  if (spec.stage2Unit !== null) file(INITRD_STAGE2_UNIT, Buffer.from(spec.stage2Unit), 0o644);
  if (spec.networkUnit !== null) file(INITRD_NETWORK_UNIT, Buffer.from(spec.networkUnit), 0o644);
  if (spec.files.length) entries.push({ path: INITRD_FILES, type: 'dir', mode: 0o700 });
  spec.files.forEach((f, i) => file(f.member, fileContents[i], 0o600));
  if (spec.services !== null) file(INITRD_SERVICES, Buffer.from(spec.services));
  const units = Object.entries(spec.serviceUnits);
  if (units.length) entries.push({ path: INITRD_UNITS, type: 'dir', mode: 0o755 });
  for (const [unit, text] of units) file(`${INITRD_UNITS}/${unit}`, Buffer.from(text), 0o644);

  log(`packing ${entries.length} entries`);
  const mtime = opts.mtime ?? Number(process.env.SOURCE_DATE_EPOCH ?? 0);
  const archive = writeCpio(entries, { mtime });
  const manifest = entries
    .map(
      (e) =>
        `${e.path.replace(/^\/?/, '/')}${e.type === 'file' ? ` ${e.data.length}` : e.type === 'symlink' ? ` -> ${e.target}` : '/'}`,
    )
    .sort()
    .join('\n');
  return { image: gzipDeterministic(archive), manifest: `${manifest}\n`, kernelVersion: version };
}
