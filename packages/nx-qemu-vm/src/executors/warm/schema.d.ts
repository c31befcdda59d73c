/* Generated from packages/nx-qemu-vm/src/executors/warm/schema.json by tools/generate-types.ts. Do not edit: run `npm run gen:types`. */

/**
 * Saves a warm state for warmStart: with `for` "exec", exec's (dist/vm/<machine>/warm/state), booted to the end of stage 1's driver loading as exec starts it; with "test", the test API's (dist/vm/<machine>/test-warm): at the end of stage 1 (test-state), or, with warmStart "ready", booted until its agent answers and saved with the disks it wrote (ready-state).
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
   * Whose state to save: exec's, or the test API's (startMachines). The plugin sets it: the `warm` target saves exec's, `test-warm` the test API's.
   */
  for?: 'exec' | 'test';
  /**
   * The machine's 1-based position in workspace-vm.json, set by the plugin. Its vlan addresses depend on it, so it is part of the cache key.
   */
  position?: number;
  /**
   * Set by the plugin: a digest of the plugin's own files, so that a new version of the plugin misses the cache. Not for users to set.
   */
  pluginDigest?: string;
  /**
   * Seconds the boot to the warm point (or until ready) and the save may take together.
   */
  timeout?: number;
}
