/* Generated from packages/nx-qemu-vm/src/executors/warm/schema.json by tools/generate-types.ts. Do not edit: run `npm run gen:types`. */

/**
 * Saves the machine's warm states for warmStart (dist/vm/<machine>/warm/state for exec, warm/test-state for the test API): boots it to the end of stage 1's driver loading, once as each starts it, and saves QEMU's state there.
 */
export interface WarmExecutorSchema {
  /**
   * Machine name in workspace-vm.json. Defaults to the project name.
   */
  machine?: string;
  /**
   * Path of the machine file, relative to the workspace root.
   */
  configFile?: string;
  /**
   * The machine's 1-based position in workspace-vm.json, set by the plugin. Its vlan addresses depend on it, so it is part of the cache key.
   */
  position?: number;
  /**
   * Set by the plugin: a digest of the plugin's own files, so that a new version of the plugin misses the cache. Not for users to set.
   */
  pluginDigest?: string;
  /**
   * Seconds the boot to the warm point and the save may take together.
   */
  timeout?: number;
}
