/* Generated from packages/nx-qemu-vm/workspace-vm.schema.json by tools/generate-types.ts. Do not edit: run `npm run gen:types`. */

/**
 * Machines that nx-qemu-vm builds and boots. Each key of `machines` becomes an Nx project with the same name.
 */
export interface WorkspaceVmFile {
  /**
   * Path or URL of this schema, so editors can complete and check the file.
   */
  $schema?: string;
  /**
   * One entry per virtual machine. The key is the machine name: it names the Nx project, the run script (`run-<name>-vm`) and the default disk files.
   */
  machines: {
    [k: string]: MachineOptions;
  };
}
/**
 * Options of one machine. Names and defaults follow NixOS's `virtualisation.*` options, plus what a Debian host needs in place of Nix.
 *
 * This interface was referenced by `WorkspaceVmFile`'s JSON-Schema
 * via the `definition` "machine".
 */
export interface MachineOptions {
  /**
   * Guest architecture. It picks the QEMU binary, machine type, CPU model, serial console name and the architecture's USB and display devices.
   */
  arch?: 'x86_64-linux' | 'aarch64-linux' | 'i686-linux';
  /**
   * CPU accelerator. `auto` test-boots the kernel under KVM once per host boot, with a short timeout, and falls back to TCG (software emulation) when KVM is missing, refuses the CPU model or hangs.
   */
  accel?: 'auto' | 'kvm' | 'tcg';
  /**
   * Guest memory in MiB. The maximum (978 GiB) is the most QEMU 7.2's q35 machine takes with the `max` CPU under TCG, whose 40 physical address bits also hold the PCI hole and the hotplug area.
   */
  memorySize?: number;
  /**
   * Largest 9p message in bytes, used by every 9p share. The default, 128 KiB, was chosen by `npm run bench:ninep` (BENCHMARKS.md): against the seed's 16 KiB it reads a large file 2 to 3 times faster, and on the read-only store (cache=loose) it also walks trees and reads small files faster; 512 KiB reads large files faster still but walks trees slower. Larger values cost guest memory. At most 2147483647: the guest kernel reads the mount option as a signed 32-bit number (and lowers a value its transport cannot carry).
   */
  msize?: number;
  /**
   * Size in MiB of the root disk created on first start, at most 2147483648 (2 PiB, the largest qcow2 `qemu-img create` makes with its default 64 KiB clusters). `null` means the run script never creates the root disk: the image at `diskImage` must already exist.
   */
  diskSize?: number | null;
  /**
   * Path of the persistent root disk (qcow2), created on first start and never overwritten. A relative path is relative to the workspace root. Default: `.vm/<name>/<name>.qcow2`. The environment variables `VM_DISK_IMAGE` and `NIX_DISK_IMAGE` override it at run time.
   */
  diskImage?: string;
  /**
   * Guest device that holds the root filesystem. Default: the first drive, `/dev/vda` (virtio) or `/dev/sda` (scsi, ide).
   */
  bootDevice?: string;
  /**
   * Extra blank data disks, one per entry, each the given size in MiB (at most 2147483648, as for `diskSize`). They are created once as .vm/<name>/empty<N>.qcow2 and kept between boots, like the root disk (NixOS creates them afresh in each run's temporary directory).
   */
  emptyDiskImages?: number[];
  /**
   * Open a QEMU display window. When false QEMU runs with `-nographic` and the serial port is the preferred console. When true but the host has no display (no DISPLAY or WAYLAND_DISPLAY), the run script falls back to `-nographic`.
   */
  graphics?: boolean;
  /**
   * Display resolution, also used as the boot loader's graphics mode. Each side is at most 16384 pixels, the largest mode the boot disk's GRUB is given.
   */
  resolution?: {
    /**
     * Width in pixels.
     */
    x: number;
    /**
     * Height in pixels.
     */
    y: number;
  };
  /**
   * Number of virtual CPUs. It may exceed the host's cores. At most 255 for x86 guests (QEMU under TCG has no x2APIC for more) and 512 for aarch64 (the `virt` machine's limit).
   */
  cores?: number;
  /**
   * Host directories shared with the guest over 9p (virtio). The key is the 9p mount tag. The defaults `store`, `xchg` and `shared` are always added; an entry here with the same tag replaces the default.
   */
  sharedDirectories?: {
    [k: string]: SharedDirectory;
  };
  /**
   * Port forwards of the user-mode (SLiRP) network. Unlike NixOS, a host-side forward without an address listens on 127.0.0.1 only, not on every interface.
   */
  forwardPorts?: ForwardPort[];
  /**
   * Virtual networks between the machines of this workspace. Each number N adds a NIC (eth1, eth2, ...) on a network carried by UDP multicast on the host's loopback, so machines on the same N see each other and nothing outside the host does. The machine gets 192.168.N.M, where M is its position in `machines` (from 1), so a machine with vlans must be among the first 254.
   */
  vlans?: number[];
  /**
   * Isolate the guest from the host's network: the user-mode network keeps port forwards but routes nothing out (QEMU's `restrict=on`).
   */
  restrictNetwork?: boolean;
  /**
   * IPv4 address (dotted quad) written for the machine's name in the guest's /etc/hosts. Empty means 192.168.<first vlan>.<machine position>, or 10.0.2.15 when there are no vlans.
   */
  primaryIPAddress?: string;
  /**
   * Lay a writable overlay over the read-only shared store, so the guest may write under it. Host files are never changed.
   */
  writableStore?: boolean;
  /**
   * Keep the writable store's changes in memory (tmpfs) instead of on the root disk.
   */
  writableStoreUseTmpfs?: boolean;
  /**
   * Mount a tmpfs on the guest's /tmp.
   */
  tmpOnTmpfs?: boolean;
  /**
   * Size of the /tmp tmpfs: bytes, with a k, m or g suffix, or a percentage of memory.
   */
  tmpOnTmpfsSize?: string;
  /**
   * Host directory shared read-only as the guest's software store, in place of /nix/store.
   */
  store?: {
    /**
     * Host directory to share. On merged-/usr Debian, /usr holds every installed program and library.
     */
    source?: string;
    /**
     * Where the store appears in the guest.
     */
    target?: string;
  };
  /**
   * The software the guest runs. `host` shares the host's /usr over 9p (nothing is downloaded); `debian` builds the store from Debian packages with mmdebstrap into a read-only erofs image (the `image` target), with the kernel, its modules and the initrd's tools taken from it.
   */
  system?: {
    /**
     * Where the guest's store comes from: the host's /usr (`host`), or Debian packages built into an image (`debian`).
     */
    from?: 'host' | 'debian';
    /**
     * Debian suite of the image (`from: debian`). Default: the host's release codename (VERSION_CODENAME in /etc/os-release).
     */
    suite?: string;
    /**
     * Debian packages installed in the image besides the minimal system (Essential packages, the kernel, busybox-static and e2fsprogs), with their dependencies (`from: debian`).
     */
    packages?: string[];
  };
  /**
   * Guest kernel image. Default: the newest /boot/vmlinuz-* on the host (Debian package linux-image-amd64).
   */
  kernel?: string;
  /**
   * Initial ramdisk to boot with. `null` uses the stage-1 initrd that nx-qemu-vm generates for this machine.
   */
  initrd?: string | null;
  /**
   * Extra kernel command-line parameters, one per entry. `QEMU_KERNEL_PARAMS` adds more at run time.
   */
  kernelParams?: string[];
  /**
   * Program that stage 1 starts as PID 1 in the mounted root. The default is nx-qemu-vm's own stage 2. `"systemd"` (with `system.from: "debian"`) boots the image's systemd as PID 1, with the network configured by a unit before `network.target` and `network-online.target`, and stage 2 as a service after `multi-user.target` (`postBootCommands`, `exec`, the test agent), so the services the packages enabled start as in production; the package `systemd` is added to the image. Any other absolute path is started as it is, e.g. an init inside a shared root directory.
   */
  init?: string;
  /**
   * Shell commands that the default stage 2 runs as root once the network is up, before the shell or the `exec` command.
   */
  postBootCommands?: string;
  /**
   * The workspace's own software in the guest: each entry puts the files of an Nx target's output into the guest at `to`, read-only. The machine's project depends on the target's project in Nx's graph, its steps run the target first, and a change to the files reruns exactly the steps that carry them. The files travel as an erofs image built by the machine's cached `install` target (owned by root, modes and symlinks kept), mounted before the init starts.
   */
  install?: Install[];
  /**
   * Long-running programs the guest starts at boot, in the order `after` gives, each waited for until `ready`. With `init: "systemd"` each is a unit of the same name (`<name>.service`) wanted by multi-user.target, logging to the journal; with the default stage 2, a supervisor starts them and logs to `/var/log/<name>.log`. `serve` is ready, `exec` runs its command and `startMachines` returns only once every service is ready; a service that exits before it is ready fails the boot at once with its log.
   */
  services?: {
    [k: string]: Service;
  };
  /**
   * Files written into the guest's root before its init starts, so that every service and `postBootCommands` find them: keyed by absolute guest path, each with its content (`text`, or `source`, a file of the workspace read when the initrd is built, which then depends on it), mode and owner. They are written anew at every boot, over what the guest changed. Not allowed in the store, inside an `install` or a share, nor under /proc, /sys, /dev, /run, /tmp or /nix.
   */
  files?: {
    [k: string]: File;
  };
  /**
   * Virtual terminals (`tty1` to `tty12`) that show an `agetty` login prompt, as on a Debian system: each is `getty@<tty>.service` of the image's systemd, started at boot. Needs `init: "systemd"` and a display (`graphics: true`); the default stage 2 starts no getty and refuses the option. The other terminals stay without a getty (switching to one starts none), and the serial port keeps the root shell, which would otherwise share tty1 with the getty. Give an account a password with `users` to log in.
   */
  gettys?: string[];
  /**
   * Accounts that can log in with a password (on a getty of `gettys`, or through `su` and `login`), keyed by name. Stage 1 creates a missing account (`useradd -m`, shell /bin/bash, home /home/<name>) and writes its password into /etc/shadow at every boot, over what the guest changed, as it writes `files`; an existing account such as `root` only gets its password. Needs a Debian image (`system.from: "debian"`). The password never reaches the kernel command line: the initrd carries its SHA-512 crypt hash (salted by machine, account and password, so that the initrd stays reproducible), and stage 1 writes that hash.
   */
  users?: {
    [k: string]: User;
  };
  /**
   * Extra guest filesystems, keyed by mount point, mounted in stage 1. The ones nx-qemu-vm manages (/, the shares, /tmp, the store overlay and /boot) cannot be set here.
   */
  fileSystems?: {
    [k: string]: FileSystem;
  };
  /**
   * Boot through firmware and a boot loader from the cached boot disk (target `boot-disk`) instead of loading the kernel directly.
   */
  useBootLoader?: boolean;
  /**
   * Boot with UEFI firmware (OVMF) and writable EFI variables.
   */
  useEFIBoot?: boolean;
  /**
   * Start `exec` runs and the test API's machines (startMachines) from a saved state instead of a cold boot. The cached targets `warm` (for `exec`, which depends on it) and `test-warm` (for the test API: `prepare` depends on it) boot the machine to the end of its driver loading, before any disk is read or share mounted, as each starts it, and save QEMU's state; each later start restores its state, then mounts the run's disks and shares, sets the clock from the host, and has the kernel reseed its random generator (vmgenid). A state that does not match the run (other kernel parameters, QEMU_OPTS, kernel, initrd, QEMU or scripts) or fails to restore gives a cold boot, with one line saying why. For x86_64 machines that boot their kernel directly (no boot loader, no UEFI) with the generated initrd. `"ready"` goes further for the test API: `test-warm` saves the machine once it is ready (stage 2 done, or `multi-user.target` reached, every service ready, postBootCommands run), with the root and empty disks it wrote (with systemd and no postBootCommands, install images that changed since are mounted after the restore and the declared services restarted on them; otherwise they are part of the state); startMachines restores that instead of booting, mounts the shares again, sets the clock and reseeds. Its disks are its own, made when it is saved: it needs a declared system (`system.from` "debian"; a machine on the host's /usr cannot be saved), a `diskSize`, and no `qemu.drives`. `exec`, which keeps the machine's root disk, restores its stage-1 state as with true; `persistent: true` starts, and a start after a shutdown, boot cold on the machine's own disks.
   */
  warmStart?: false | true | 'ready';
  /**
   * How the `boot-disk` target builds the disk. `vm` runs the partitioning and boot-loader tools in a throwaway VM, as NixOS does. `host` runs the same tools directly on the image file: faster, no VM. Either way, an x86_64 UEFI disk's vars get the EFI boot entry, written on the host. An aarch64 disk is always built on the host, and its vars have no boot entry (the firmware boots the removable-media path).
   */
  bootDiskBuilder?: 'vm' | 'host';
  /**
   * Path of the writable EFI variable store, copied on first start and never overwritten. Relative paths are relative to the workspace root. Default: `.vm/<name>/<name>-efi-vars.fd`. `VM_EFI_VARS` and `NIX_EFI_VARS` override it at run time.
   */
  efiVars?: string;
  /**
   * Alternative BIOS image (for example qboot), or a directory that holds `bios.bin`. `null` uses QEMU's built-in SeaBIOS.
   */
  bios?: string | null;
  /**
   * QEMU itself.
   */
  qemu?: {
    /**
     * QEMU system emulator, a command name or a path. Default from `arch`: qemu-system-x86_64, qemu-system-aarch64 or qemu-system-i386 (Debian packages qemu-system-x86 and qemu-system-arm).
     */
    binary?: string;
    /**
     * QEMU machine type. Default from `arch`: q35 for x86, virt for aarch64.
     */
    machine?: string;
    /**
     * Extra QEMU arguments. Each entry holds one or more arguments separated by spaces; `$NAME`, `${NAME}`, `${NAME:-default}` and `${NAME:+text}` expand when the machine starts (environment variables, and the run script's own such as `$TMPDIR`). Each word reaches QEMU as one argument, whatever the variables hold. Quotes, backslashes, backticks and `$(...)` are refused.
     */
    options?: string[];
    /**
     * Kernel consoles (`console=` parameters). The last is the preferred one. Default: the serial port and tty0, with tty0 last when `graphics` is true and the serial port last when it is false.
     */
    consoles?: string[];
    /**
     * Replaces the default user-mode (SLiRP) network arguments. Written like `options`: arguments separated by spaces, with `$NAME` expansions. Keep `${QEMU_NET_OPTS:+,$QEMU_NET_OPTS}` in the netdev so the run-time variable still works.
     */
    networkingOptions?: string[];
    /**
     * Extra drives, attached after the root disk, the boot disk and the empty disks.
     */
    drives?: Drive[];
    /**
     * Bus for every disk: virtio-blk, an LSI SCSI controller, or IDE.
     */
    diskInterface?: 'virtio' | 'scsi' | 'ide';
    guestAgent?: {
      /**
       * Add the virtio-serial port of the QEMU guest agent (socket `$TMPDIR/control/qga.sock` on the host, private to its user) and start the agent in the guest when it is installed.
       */
      enable?: boolean;
    };
  };
}
/**
 * This interface was referenced by `WorkspaceVmFile`'s JSON-Schema
 * via the `definition` "sharedDirectory".
 */
export interface SharedDirectory {
  /**
   * Host directory. Relative paths are relative to the workspace root.
   */
  source: string;
  /**
   * Mount point in the guest.
   */
  target: string;
  /**
   * Share read-only at the QEMU level, so the guest cannot write even as root.
   */
  readOnly?: boolean;
  /**
   * QEMU 9p security model: how guest owners and modes map onto host files.
   */
  securityModel?: 'none' | 'mapped-xattr' | 'mapped-file' | 'passthrough';
}
/**
 * This interface was referenced by `WorkspaceVmFile`'s JSON-Schema
 * via the `definition` "forwardPort".
 */
export interface ForwardPort {
  /**
   * `host`: connections to the host port reach the guest port. `guest`: connections from the guest to guest.address:guest.port reach the host port.
   */
  from?: 'host' | 'guest';
  /**
   * Protocol. Guest-to-host forwards support TCP only.
   */
  proto?: 'tcp' | 'udp';
  host: {
    /**
     * IPv4 address on the host. Empty means 127.0.0.1.
     */
    address?: string;
    /**
     * Port on the host.
     */
    port: number;
  };
  guest: {
    /**
     * IPv4 address on the guest network. Guest-to-host forwards need an address in 10.0.2.0/24.
     */
    address?: string;
    /**
     * Port in the guest.
     */
    port: number;
  };
}
/**
 * This interface was referenced by `WorkspaceVmFile`'s JSON-Schema
 * via the `definition` "install".
 */
export interface Install {
  /**
   * The Nx target that builds the files, as `project:target`, e.g. `api:build`. It runs before the machine's steps whenever its output is missing or stale.
   */
  target: string;
  /**
   * The directory to install, relative to the workspace root, inside one of the target's outputs. Default: the target's output, when it declares exactly one.
   */
  from?: string;
  /**
   * Where the files appear in the guest: an absolute path, mounted read-only.
   */
  to: string;
}
/**
 * This interface was referenced by `WorkspaceVmFile`'s JSON-Schema
 * via the `definition` "service".
 */
export interface Service {
  /**
   * The service's command line, run by `/bin/sh -c` in its directory, environment and account. Begin it with `exec` to make the program itself the service's process.
   */
  command: string;
  /**
   * Environment variables of the service, on top of PATH, LANG=C.UTF-8 and the account's HOME (from the guest's /etc/passwd).
   */
  environment?: {
    [k: string]: string;
  };
  /**
   * The directory the command starts in.
   */
  workingDirectory?: string;
  /**
   * The account the service runs as; it must exist in the guest's /etc/passwd (root and nobody always do).
   */
  user?: string;
  /**
   * Services (of this machine) that must be ready before this one starts.
   */
  after?: string[];
  /**
   * When the service counts as ready: a TCP port that listens, a file that exists, or a command that succeeds (run by /bin/sh as the service's user, tried every 0.2 s). Default: as soon as it has started.
   */
  ready?:
    | {
        port: number;
      }
    | {
        file: string;
      }
    | {
        command: string;
      };
  /**
   * Seconds the service has to become ready before the boot reports it failed, at most 86400 (a day).
   */
  readyTimeout?: number;
  /**
   * What happens when the service exits after it was ready: started again when it failed (non-zero status or a signal), always, or never. An exit before it is ready is a failed boot, never restarted.
   */
  restart?: 'on-failure' | 'always' | 'no';
}
/**
 * This interface was referenced by `WorkspaceVmFile`'s JSON-Schema
 * via the `definition` "file".
 */
export interface File {
  /**
   * The file's content, as it is. Give `text` or `source`, not both.
   */
  text?: string;
  /**
   * A file of the workspace, relative to its root (e.g. `apps/api/config.json`), whose bytes become the file. It is read when the initrd is built, and a change to it rebuilds the initrd.
   */
  source?: string;
  /**
   * Permission bits as an octal string, e.g. `"0644"` or `"0600"`.
   */
  mode?: string;
  /**
   * The owner: an account of the guest's /etc/passwd (root and nobody always exist), or a numeric id.
   */
  user?: string;
  /**
   * The group: a group of the guest's /etc/group, or a numeric id. Default: the owner's primary group.
   */
  group?: string;
}
/**
 * This interface was referenced by `WorkspaceVmFile`'s JSON-Schema
 * via the `definition` "user".
 */
export interface User {
  /**
   * The password in clear: convenient for a test's account. It is hashed when the initrd is built; the hash, not the password, goes into the guest. Give `password` or `hashedPassword`, not both.
   */
  password?: string;
  /**
   * The password as a crypt(3) hash, written into /etc/shadow as it is, e.g. the output of `mkpasswd -m sha-512` or `openssl passwd -6`. Give `password` or `hashedPassword`, not both.
   */
  hashedPassword?: string;
}
/**
 * This interface was referenced by `WorkspaceVmFile`'s JSON-Schema
 * via the `definition` "fileSystem".
 */
export interface FileSystem {
  /**
   * Device, 9p tag or `none`.
   */
  device: string;
  /**
   * Filesystem type.
   */
  fsType: string;
  /**
   * Mount options.
   */
  options?: string[];
  /**
   * Mount in stage 1, before the init starts.
   */
  neededForBoot?: boolean;
}
/**
 * This interface was referenced by `WorkspaceVmFile`'s JSON-Schema
 * via the `definition` "drive".
 */
export interface Drive {
  /**
   * Image file. Relative paths are relative to the workspace root.
   */
  file: string;
  /**
   * Name that other options use to find this drive; unique among all drives (`root` and `boot` are taken). Not passed to QEMU.
   */
  name?: string;
  /**
   * Image format, passed to QEMU explicitly so it never guesses.
   */
  format?: 'qcow2' | 'raw' | 'vmdk' | 'vdi' | 'vhdx' | 'qed';
  /**
   * Extra `-drive` options.
   */
  driveExtraOpts?: {
    [k: string]: string;
  };
  /**
   * Extra `-device` options.
   */
  deviceExtraOpts?: {
    [k: string]: string;
  };
}
