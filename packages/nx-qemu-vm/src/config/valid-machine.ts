// What validation guarantees about a machine: every option with a schema
// default is present. Options whose default depends on the machine name or on
// the host (disk paths, kernel, QEMU binary, consoles, ...) stay optional and
// are filled in by resolution.
import type {
  Drive,
  File,
  FileSystem,
  ForwardPort,
  Install,
  MachineOptions,
  Service,
  SharedDirectory,
} from './workspace-vm.generated';

type WithDefaults<T, Optional extends keyof T> = Required<Omit<T, Optional>> & Pick<T, Optional>;

export type ValidForwardPort = {
  from: 'host' | 'guest';
  proto: 'tcp' | 'udp';
  host: { address: string; port: number };
  guest: { address: string; port: number };
};
export type ValidSharedDirectory = Required<SharedDirectory>;
export type ValidDrive = WithDefaults<Drive, 'name'>;
export type ValidFileSystem = Required<FileSystem>;
export type ValidInstall = Install;
export type ValidService = WithDefaults<Service, 'ready'>;
export type ValidFile = WithDefaults<File, 'text' | 'source' | 'group'>;

type QemuOptions = NonNullable<MachineOptions['qemu']>;

type Nested =
  | 'sharedDirectories'
  | 'forwardPorts'
  | 'fileSystems'
  | 'store'
  | 'system'
  | 'qemu'
  | 'install'
  | 'services'
  | 'files';

export type ValidMachine = WithDefaults<
  Omit<MachineOptions, Nested>,
  'diskImage' | 'bootDevice' | 'kernel' | 'efiVars'
> & {
  sharedDirectories: Record<string, ValidSharedDirectory>;
  forwardPorts: ValidForwardPort[];
  fileSystems: Record<string, ValidFileSystem>;
  install: ValidInstall[];
  services: Record<string, ValidService>;
  files: Record<string, ValidFile>;
  store: { source: string; target: string };
  system: { from: 'host' | 'debian'; suite?: string; packages: string[] };
  qemu: WithDefaults<QemuOptions, 'binary' | 'machine' | 'consoles' | 'networkingOptions'> & {
    drives: ValidDrive[];
    guestAgent: { enable: boolean };
  };
};

export type { ForwardPort };

/**
 * A ready state (warmStart "ready") of a systemd machine takes the install
 * images of each run rather than those it was saved with: after the restore
 * they are mounted again and the declared services restarted on them, so
 * that a change to an installed project does not save the state again. On
 * a machine with our own init (whose supervisor cannot stop a service), or
 * with postBootCommands (which ran on the saved images, and are not run
 * again), they are part of the state.
 */
export const installsAfterRestore = (m: ValidMachine): boolean =>
  m.warmStart === 'ready' && m.init === 'systemd' && m.install.length > 0 && !m.postBootCommands;
