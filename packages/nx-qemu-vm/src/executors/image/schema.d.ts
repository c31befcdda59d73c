/* Generated from packages/nx-qemu-vm/src/executors/image/schema.json by tools/generate-types.ts. Do not edit: run `npm run gen:types`. */

/**
 * Builds a machine's Debian store (system.from "debian") with mmdebstrap into a read-only erofs image, dist/vm/<machine>/image/store.erofs, with its kernel and a manifest of the packages.
 */
export interface ImageExecutorSchema {
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
