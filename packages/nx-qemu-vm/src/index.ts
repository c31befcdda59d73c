export { createNodes } from './plugin';
export type { NxQemuVmPluginOptions } from './plugin';
export type { MachineOptions, WorkspaceVmFile } from './config/workspace-vm.generated';
