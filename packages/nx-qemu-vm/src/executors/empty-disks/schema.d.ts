/* Generated from packages/nx-qemu-vm/src/executors/empty-disks/schema.json by tools/generate-types.ts. Do not edit: run `npm run gen:types`. */

/**
 * Creates the machine's empty data disks (emptyDiskImages) under .vm/<name> when missing. Never overwrites them, never cached; refuses while a running VM has one open, and warns when a size no longer matches the config.
 */
export interface EmptyDisksExecutorSchema {
  /**
   * Machine name in workspace-vm.json. Defaults to the project name.
   */
  machine?: string;
  /**
   * Path of the machine file, relative to the workspace root.
   */
  configFile?: string;
}
