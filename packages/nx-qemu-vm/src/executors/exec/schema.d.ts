/* Generated from packages/nx-qemu-vm/src/executors/exec/schema.json by tools/generate-types.ts. Do not edit: run `npm run gen:types`. */

/**
 * Boots the machine with a fresh TMPDIR, runs one shell command as root in the guest, streams its output and powers off. Fails when the command fails, printing its exit status.
 */
export interface ExecExecutorSchema {
  /**
   * Shell command to run in the guest, e.g. --command='uname -a'.
   */
  command: string;
  /**
   * Seconds to wait for the command before the machine is stopped.
   */
  timeout?: number;
  /**
   * Machine name in workspace-vm.json. Defaults to the project name.
   */
  machine?: string;
  /**
   * Path of the machine file, relative to the workspace root.
   */
  configFile?: string;
}
