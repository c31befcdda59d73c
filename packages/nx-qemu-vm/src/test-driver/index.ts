// nx-qemu-vm/testing: boot the machines of workspace-vm.json from a test, run
// commands in them and check what they do. Works under node:test, Vitest and
// Jest; see the package README ("Testing with machines").
// First: refuses a Node.js that cannot load our dependencies, with a clear message.
import '../require-node';

export { startMachines, findWorkspaceRoot } from './start-machines';
export type { MachineSet, StartOptions } from './start-machines';
export type { Machine } from './machine';
export type { MachineSnapshot, SetSnapshot } from './snapshots';
export { subtest } from './transcript';
export type { Transcript } from './transcript';
export type { ExecuteBufferOptions, ExecuteResult, ExecuteTextOptions, WaitOptions } from './types';
export type { CommandOptions } from './types';
export {
  CommandError,
  MachineError,
  MachineNotRunningError,
  MachineWentDownError,
  NoSystemdError,
  StartError,
  TimeoutError,
  UnitError,
} from './errors';
export type { ActiveState } from './systemd';
export type { UserOption } from './systemd-calls';
