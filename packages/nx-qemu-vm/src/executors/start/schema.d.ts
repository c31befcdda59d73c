/* Generated from packages/nx-qemu-vm/src/executors/start/schema.json by tools/generate-types.ts. Do not edit: run `npm run gen:types`. */

/**
 * Starts the machine with its console in this terminal (serial, unless a display is available and graphics is on). 'poweroff' in the guest or Ctrl-A X ends it. Each run's console log is kept under .vm/<machine>/logs.
 */
export interface StartExecutorSchema {
  /**
   * Machine name in workspace-vm.json. Defaults to the project name.
   */
  machine?: string;
  /**
   * Path of the machine file, relative to the workspace root.
   */
  configFile?: string;
  /**
   * Targets of this machine to run first, through a nested `nx run-many` whose output you see (the plugin fills in the scripts, initrd, boot disk and stateful disks). They are not dependsOn: Nx 24 stops passing keystrokes to an interactive task once other tasks have run before it in the same command.
   */
  prepare?: string[];
}
