/* Generated from packages/nx-qemu-vm/src/executors/boot-disk/schema.json by tools/generate-types.ts. Do not edit: run `npm run gen:types`. */

/**
 * Builds dist/vm/<machine>/boot-disk/disk.img (a 60 MiB GPT qcow2 with GRUB, the kernel and the initrd) and, with useEFIBoot, efi-vars.fd beside it.
 */
export interface BootDiskExecutorSchema {
  /**
   * Machine name in workspace-vm.json. Defaults to the project name.
   */
  machine?: string;
  /**
   * Path of the machine file, relative to the workspace root.
   */
  configFile?: string;
  /**
   * Seconds the builder VM may take.
   */
  timeout?: number;
  /**
   * Set by the plugin: a digest of the plugin's own files, so that a new version of the plugin misses the cache. Not for users to set.
   */
  pluginDigest?: string;
}
