/* Generated from packages/nx-qemu-vm/src/executors/root-disk/schema.json by tools/generate-types.ts. Do not edit: run `npm run gen:types`. */

/**
 * Creates the machine's persistent root disk (diskImage, a qcow2 of diskSize MiB) when it is missing. Never overwrites it, never cached; refuses while a running VM has it open, and warns when its layout no longer matches the config.
 */
export interface RootDiskExecutorSchema {
  /**
   * Machine name in workspace-vm.json. Defaults to the project name.
   */
  machine?: string;
  /**
   * Path of the machine file, relative to the workspace root.
   */
  configFile?: string;
}
