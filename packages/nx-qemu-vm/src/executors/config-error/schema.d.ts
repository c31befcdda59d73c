/* Generated from packages/nx-qemu-vm/src/executors/config-error/schema.json by tools/generate-types.ts. Do not edit: run `npm run gen:types`. */

/**
 * Set by the plugin on every target of a machine whose config has problems: fails at once, printing them. Other options (such as exec's --command) are accepted and ignored, so the problems are what the user sees.
 */
export interface ConfigErrorExecutorSchema {
  /**
   * Machine name in workspace-vm.json.
   */
  machine?: string;
  /**
   * The problems, as the config validation reports them.
   */
  message: string;
  [k: string]: unknown;
}
