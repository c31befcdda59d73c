/* Generated from packages/nx-qemu-vm/src/executors/initrd/schema.json by tools/generate-types.ts. Do not edit: run `npm run gen:types`. */

/**
 * Builds the machine's stage-1 initrd (dist/vm/<machine>/initrd/initrd.img), after checking the kernel's configuration.
 */
export interface InitrdExecutorSchema {
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
   * Set by the plugin: the /etc/hosts lines that name the machines on this machine's vlans, so that a change to them misses the cache. Not for users to set.
   */
  hosts?: string[];
}
