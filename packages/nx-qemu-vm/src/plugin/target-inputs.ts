// What each cached target hashes. Nx runs a task again only when one of these
// changes, so a field left out here means a stale VM served from the cache,
// and a field added needlessly means a rebuild for nothing. Which fields
// really change which output is proven by target-inputs.spec.ts, which
// mutates every option of every golden config and compares the products.
import type { TargetConfiguration } from '@nx/devkit';
import { posix } from 'node:path';
import { CONFIG_FILE } from '../config/load';
import type { ValidMachine } from '../config/valid-machine';
import { INITRD_HOST_TOOLS } from '../initrd/initrd-tools';
import { shQuote } from '../quote/shell';

type Input = NonNullable<TargetConfiguration['inputs']>[number];

export type CachedTarget = 'config' | 'image' | 'install' | 'initrd' | 'boot-disk' | 'build';

/** Option fields, as paths under `machines.<name>`, that change each cached target's output. */
export const TARGET_FIELDS: Record<Exclude<CachedTarget, 'config'>, readonly string[]> = {
  // The Debian packages of the store.
  image: ['arch', 'system', 'init', 'useBootLoader', 'gettys'],
  // What each image packs (the files themselves are the target's dependencies' outputs).
  install: ['install'],
  // The stage-1/2 scripts and the module list.
  initrd: [
    'arch',
    'system',
    'kernel',
    'initrd',
    'init',
    'msize',
    'bootDevice',
    'graphics',
    'sharedDirectories',
    'vlans',
    'primaryIPAddress',
    'writableStore',
    'writableStoreUseTmpfs',
    'tmpOnTmpfs',
    'tmpOnTmpfsSize',
    'store',
    'postBootCommands',
    'install',
    'services',
    'files',
    'gettys',
    'users',
    'fileSystems',
    'useBootLoader',
    'qemu.diskInterface',
    'qemu.guestAgent',
  ],
  // GRUB's configuration and the firmware the disk is prepared for.
  'boot-disk': [
    'arch',
    'system',
    'kernel',
    'initrd',
    'init',
    'graphics',
    'resolution',
    'kernelParams',
    'store',
    'useBootLoader',
    'useEFIBoot',
    'bootDiskBuilder',
    'qemu.binary',
    'qemu.machine',
    'qemu.consoles',
  ],
  // The run script is the whole QEMU command line: nearly everything but the guest's own scripts.
  build: [
    'arch',
    'system',
    'accel',
    'memorySize',
    'diskSize',
    'diskImage',
    'bootDevice',
    'emptyDiskImages',
    'graphics',
    'cores',
    'sharedDirectories',
    'forwardPorts',
    'vlans',
    'restrictNetwork',
    'store',
    'kernel',
    'initrd',
    'kernelParams',
    'init',
    'useBootLoader',
    'useEFIBoot',
    'efiVars',
    'bios',
    'qemu.binary',
    'qemu.machine',
    'qemu.options',
    'qemu.consoles',
    'qemu.networkingOptions',
    'qemu.drives',
    'qemu.diskInterface',
    'qemu.guestAgent',
    'install',
    'warmStart',
  ],
};

/** The workspace files that `files` entries name as `source`: the initrd carries their bytes. */
export function fileSourceInputs(m: ValidMachine): Input[] {
  const sources = Object.values(m.files).flatMap((f) =>
    f.source === undefined ? [] : [posix.normalize(f.source)],
  );
  return [...new Set(sources)].map((source) => ({ fileset: `{workspaceRoot}/${source}` }));
}

/** Nx's json input: only these fields of this machine's entry in workspace-vm.json. */
export function machineFieldsInput(name: string, fields: readonly string[] | 'all') {
  return {
    json: `{workspaceRoot}/${CONFIG_FILE}`,
    fields: fields === 'all' ? [`machines.${name}`] : fields.map((f) => `machines.${name}.${f}`),
  };
}

const dpkgVersions = (packages: readonly string[]) =>
  `dpkg-query -W -f='\${Package}=\${Version}\\n' ${packages.map((p) => (p.includes('*') ? shQuote(p) : p)).join(' ')} 2>/dev/null | sort || true`;

/** Checksums, not paths: a file replaced under the same name must miss the cache. */
const checksumsOf = (files: string) => `sha256sum ${files} 2>&1 | sed 's/ .*\\///' || true`;

function kernelChecksum(m: ValidMachine): string {
  return checksumsOf(
    m.kernel === undefined
      ? m.arch === 'x86_64-linux'
        ? '/boot/vmlinuz-*'
        : ''
      : shQuote(m.kernel),
  );
}

// The initrd copies its host tools (initrd/initrd-tools.ts) with their libraries, the
// kernel's modules and the host's /etc/alternatives links, and compresses with
// Node's zlib.
const SYSTEM_PACKAGES = [
  ...new Set(INITRD_HOST_TOOLS.map((t) => t.debianPackage)),
  'libc6',
  'libblkid1',
  'libuuid1',
  'libext2fs2',
  'libcom-err2',
  'libe2p2',
  'linux-image-*',
  'kmod',
];
const MODULE_INDEXES =
  "sha256sum /lib/modules/*/modules.dep 2>/dev/null | sed 's| /lib/modules/| |' || true";
const ALTERNATIVES = 'ls -l --time-style=+ /etc/alternatives 2>/dev/null | tail -n +2 || true';
// The zlib that Node compresses with: its own copy (Chromium's, in the
// builds from nodejs.org), fixed by its version, or the system's (Debian's
// nodejs links libz.so.1), fixed by zlib1g's. `node -p process.versions.zlib`
// would name it but start a JavaScript runtime, about 60 ms on every hash of
// the initrd; the version and the linked libraries take about 15 ms.
const NODE_ZLIB = `node --version; ldd "$(command -v node)" 2>/dev/null | grep -o 'libz[.]so[^ ]*' || true; ${dpkgVersions(['zlib1g'])}`;

// The boot disk is made by these tools and holds GRUB's and OVMF's files.
const BOOT_DISK_PACKAGES = [
  'gdisk',
  'dosfstools',
  'mtools',
  'grub-common',
  'grub-pc-bin',
  'grub-efi-amd64-bin',
  'ovmf',
  'qemu-utils',
  'busybox-static',
  'util-linux',
];

// The run script names the firmware that QEMU's descriptors select: their
// contents and the firmware packages decide which files that is.
const FIRMWARE_FILES = `cat /usr/share/qemu/firmware/*.json /etc/qemu/firmware/*.json 2>/dev/null | sha256sum; ${dpkgVersions(['ovmf', 'qemu-efi-aarch64', 'seabios', 'qemu-system-data'])}`;
// The initrd copies these binaries; their bytes, wherever they came from.
const INITRD_TOOLS = `sha256sum ${INITRD_HOST_TOOLS.flatMap((t) => t.candidates).join(' ')} 2>/dev/null || true`;
const KERNEL_NAMES = 'ls -1d /boot/vmlinuz-* 2>/dev/null || true';

// The package index an image resolves against: the host's apt lists of the
// suite (its InRelease files name every Packages file by hash), so that an
// apt-get update that brings new versions misses the cache, and nothing else.
const aptIndex = (suite: string | undefined) =>
  `s=${suite ?? '$(. /etc/os-release && echo "$VERSION_CODENAME")'}; cat /var/lib/apt/lists/*_dists_"$s"[-_]*InRelease 2>/dev/null | sha256sum`;
const IMAGE_TOOLS = ['mmdebstrap', 'erofs-utils', 'dpkg'];

/**
 * Files outside the workspace and host tools that each cached target depends
 * on. Nx starts a shell for every runtime input of every task it hashes, so a
 * target's commands are joined into one (each in a subshell of its own).
 */
export function hostInputs(target: CachedTarget, m: ValidMachine): Input[] {
  return joinRuntimeInputs(separateHostInputs(target, m));
}

/**
 * The warm target's (warmStart): the kernel it boots; QEMU's version, which
 * decides the state's format; the firmware and option ROMs, whose sizes are
 * in the state; and the host CPU's features, which a KVM guest with -cpu max
 * sees (a state from a remote cache must not resume on another CPU). What
 * else the initrd takes from the host (modules, tools, libraries, zlib)
 * reaches the state only through initrd.img, which the warm target hashes by
 * content (machine-steps.ts); the initrd's own runtime command would run a
 * second time for it (Nx does not share it between the two tasks), node
 * included. A Debian image's kernel is among the image files it hashes.
 */
export function warmHostInputs(m: ValidMachine, qemuBinary: string): Input[] {
  return joinRuntimeInputs([
    ...(m.system.from === 'host' ? [{ runtime: kernelChecksum(m) }] : []),
    { runtime: `${shQuote(qemuBinary)} --version 2>&1 || true` },
    { runtime: dpkgVersions(['seabios', 'ipxe-qemu', 'qemu-system-data']) },
    { runtime: "grep -m1 '^flags' /proc/cpuinfo || true" },
  ]);
}

function joinRuntimeInputs(inputs: Input[]): Input[] {
  const commands: string[] = [];
  const others: Input[] = [];
  for (const i of inputs)
    if (typeof i === 'object' && 'runtime' in i) commands.push(i.runtime);
    else others.push(i);
  return commands.length === 0
    ? others
    : [{ runtime: commands.map((c) => `(${c})`).join('; ') }, ...others];
}

function separateHostInputs(target: CachedTarget, m: ValidMachine): Input[] {
  const runtime = (command: string): Input => ({ runtime: command });
  switch (target) {
    case 'config':
    case 'build':
      // Paths only: the script boots whatever file is there at run time. The
      // kernel list matters when the newest /boot kernel is the default, the
      // firmware descriptors when UEFI firmware is chosen from them.
      return [
        ...(m.kernel === undefined ? [runtime(KERNEL_NAMES)] : []),
        ...(m.useEFIBoot ? [runtime(FIRMWARE_FILES)] : []),
      ];
    case 'install':
      return [runtime(dpkgVersions(['erofs-utils'])), { env: 'SOURCE_DATE_EPOCH' }];
    case 'image':
      return [
        runtime(aptIndex(m.system.suite)),
        runtime(dpkgVersions(IMAGE_TOOLS)),
        { env: 'SOURCE_DATE_EPOCH' },
      ];
    case 'initrd':
      // An image brings the kernel, modules and tools: its files are the input (see machine-steps.ts).
      if (m.system.from === 'debian') return [runtime(NODE_ZLIB), { env: 'SOURCE_DATE_EPOCH' }];
      return [
        runtime(kernelChecksum(m)),
        runtime(MODULE_INDEXES),
        runtime(dpkgVersions(SYSTEM_PACKAGES)),
        runtime(INITRD_TOOLS),
        ...(m.store.source === m.store.target ? [runtime(ALTERNATIVES)] : []),
        runtime(NODE_ZLIB),
        { env: 'SOURCE_DATE_EPOCH' },
      ];
    case 'boot-disk':
      return [
        ...(m.system.from === 'host' ? [runtime(kernelChecksum(m))] : []),
        ...(typeof m.initrd === 'string' ? [runtime(checksumsOf(shQuote(m.initrd)))] : []),
        runtime(dpkgVersions(BOOT_DISK_PACKAGES)),
        ...(m.useEFIBoot ? [runtime(FIRMWARE_FILES)] : []),
        { env: 'SOURCE_DATE_EPOCH' },
      ];
  }
}
