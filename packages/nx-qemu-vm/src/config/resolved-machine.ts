// What resolution produces: every value that code after it needs, so that
// none of it reads the options it came from (see ResolvedMachine.config).
import type { ValidFile, ValidForwardPort, ValidMachine, ValidService } from './valid-machine';
import type { GuestArch } from './defaults';
import type { ResolvedDrive } from './drives';
import type { ResolvedSystem } from './host-resolve';
import type { HostEntry, ResolvedNetwork } from './network';
import type { ResolvedFileSystem, ResolvedShare } from './shares';
import type { EfiFirmware } from './firmware';

/** One entry of `install`: an Nx target's files, as an erofs image mounted at `to`. */
export interface ResolvedInstall {
  /** The target as written, `project:target`. */
  target: string;
  project: string;
  targetName: string;
  /** The directory to pack, relative to the workspace; undefined: the target's one output. */
  from: string | undefined;
  to: string;
  /** The image the install target writes, relative to the workspace. */
  image: string;
  /** Its file system UUID, by which stage 1 finds the drive. */
  uuid: string;
}

/** A declared service, with its unit name under systemd. */
export interface ResolvedService extends ValidService {
  name: string;
  unit: string;
}

export interface ResolvedMachine {
  name: string;
  /** 1-based position in workspace-vm.json. */
  index: number;
  arch: GuestArch;
  /**
   * The validated options, defaults filled in. Kept for machine.json, where a
   * user compares them with what they wrote, and for hostInputs, which must
   * see what the plugin hashed; everything else reads the fields below.
   */
  config: ValidMachine;
  system: ResolvedSystem;
  qemu: {
    binary: string;
    machine: string;
    cpu: string;
    accel: ValidMachine['accel'];
    debianPackage: string;
    /** The bus of every disk: root, boot, empty, install and the user's drives. */
    diskInterface: ValidMachine['qemu']['diskInterface'];
    /** The user's extra QEMU arguments (qemu.options), as written. */
    options: string[];
  };
  /** Guest memory in MiB. */
  memorySize: number;
  cores: number;
  /** The machine has a display; without one, the serial port is its console. */
  graphics: boolean;
  /**
   * Boots from a saved warm state when there is one: true, the end of stage
   * 1's driver loading; 'ready', for the test API, the machine once ready.
   */
  warmStart: boolean | 'ready';
  /** A ready state's install images are mounted again after each restore (installsAfterRestore). */
  installsAfterRestore: boolean;
  /** The QEMU guest agent runs in the guest, reachable through its own port. */
  guestAgent: boolean;
  boot: {
    /** Boots a boot disk with GRUB (useBootLoader) rather than the kernel directly. */
    loader: boolean;
    /** Boots through UEFI firmware (useEFIBoot). */
    efi: boolean;
    /** Where the boot disk is built: on the host, or in a throwaway builder VM. */
    diskBuilder: ValidMachine['bootDiskBuilder'];
    /** The display's size, and the boot loader's graphics mode. */
    resolution: ValidMachine['resolution'];
  };
  /** The guest's software tree: host directory (or image), guest mount point, and an overlay on it. */
  store: { source: string; target: string; writable: boolean };
  /** The 9p message size of every share, in bytes. */
  msize: number;
  paths: {
    stateDir: string;
    diskImage: string;
    emptyDisks: string[];
    efiVars: string;
    bootDisk: string;
    bootDiskEfiVars: string;
  };
  /** The root disk's size in MiB when it is created; null: it must exist. */
  diskSize: number | null;
  /** The size in MiB of each empty disk, as paths.emptyDisks. */
  emptyDiskSizes: number[];
  drives: ResolvedDrive[];
  bootDevice: string;
  consoles: string[];
  network: ResolvedNetwork;
  primaryIPAddress: string;
  forwardPorts: ValidForwardPort[];
  shares: ResolvedShare[];
  /** The host directories shares read, each with the option that names it (for messages). */
  hostDirectories: { option: string; path: string }[];
  fileSystems: ResolvedFileSystem[];
  installs: ResolvedInstall[];
  /** In start order: each after the services it waits for. */
  services: ResolvedService[];
  /** The other machines of the workspace that share a vlan with this one. */
  hosts: HostEntry[];
  /** What stage 1 and stage 2 set up in the guest. */
  guest: {
    users: ValidMachine['users'];
    files: Record<string, ValidFile>;
    /** The virtual terminals with a login prompt. */
    gettys: string[];
    postBootCommands: string;
  };
  kernel: {
    image: string;
    initrd: string;
    generatedInitrd: boolean;
    /** x86_64 with the generated initrd: the unpacked kernel the initrd target writes, if it can. */
    pvh: string | undefined;
    init: string;
    /** init is the image's systemd, and stage 2 runs as its service. */
    systemd: boolean;
    params: string[];
  };
  efi?: EfiFirmware;
  bios?: string;
}
