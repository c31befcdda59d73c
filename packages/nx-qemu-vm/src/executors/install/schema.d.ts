/* Generated from packages/nx-qemu-vm/src/executors/install/schema.json by tools/generate-types.ts. Do not edit: run `npm run gen:types`. */

/**
 * Packs the files of each entry of a machine's `install` (an Nx target's output) into a read-only erofs image, dist/vm/<machine>/install/<n>.erofs, that stage 1 mounts at the entry's `to`.
 */
export interface InstallExecutorSchema {
  /**
   * Machine name in workspace-vm.json. Defaults to the project name.
   */
  machine?: string;
  /**
   * Path of the machine file, relative to the workspace root.
   */
  configFile?: string;
  /**
   * Set by the plugin: a digest of the plugin's own files, so that a new version of the plugin misses the cache. Not for users to set.
   */
  pluginDigest?: string;
}
