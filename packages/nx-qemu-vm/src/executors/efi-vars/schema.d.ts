/* Generated from packages/nx-qemu-vm/src/executors/efi-vars/schema.json by tools/generate-types.ts. Do not edit: run `npm run gen:types`. */

/**
 * Creates the machine's writable EFI variable store (efiVars) from the boot disk's or the firmware's template when it is missing. Never overwrites it.
 */
export interface EfiVarsExecutorSchema {
  /**
   * Machine name in workspace-vm.json. Defaults to the project name.
   */
  machine?: string;
  /**
   * Path of the machine file, relative to the workspace root.
   */
  configFile?: string;
}
