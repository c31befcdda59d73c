// First: refuses a Node.js that cannot load our dependencies, with a clear message.
import './require-node';
export { createDependencies, createNodes } from './plugin/create-nodes';
export type { NxQemuVmPluginOptions } from './plugin/create-nodes';
export type { MachineOptions, WorkspaceVmFile } from './config/workspace-vm.generated';
