/* Generated from packages/nx-qemu-vm/src/executors/serve/schema.json by tools/generate-types.ts. Do not edit: run `npm run gen:types`. */

/**
 * Runs the machine in the background, without a console, for as long as Nx needs it: a continuous target that reports ready once the guest has its network and has run its postBootCommands. Other targets depend on it with waitFor: ready, e.g. integration tests against a forwarded port. Its disks are used through throwaway overlays (-snapshot): Nx stops a continuous task by killing it, and that must not touch a user's disk. The console goes to .vm/<machine>/logs/serve-*.log.
 */
export interface ServeExecutorSchema {
  /**
   * Machine name in workspace-vm.json. Defaults to the project name.
   */
  machine?: string;
  /**
   * Path of the machine file, relative to the workspace root.
   */
  configFile?: string;
  /**
   * Seconds to wait for the guest to come up before giving up and stopping it.
   */
  bootTimeout?: number;
}
