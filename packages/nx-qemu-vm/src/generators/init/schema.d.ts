/* Generated from packages/nx-qemu-vm/src/generators/init/schema.json by tools/generate-types.ts. Do not edit: run `npm run gen:types`. */

/**
 * Sets up nx-qemu-vm in a workspace: registers the plugin in nx.json and, when there is none yet, writes a workspace-vm.json with one headless machine `vm`. Safe to run again: it never overwrites an existing workspace-vm.json.
 */
export interface InitGeneratorSchema {
  /**
   * Leave the written files as generated instead of passing them through the workspace's formatter (prettier or oxfmt), if it has one.
   */
  skipFormat?: boolean;
  /**
   * Leave nx.json's Nx Cloud settings alone. By default, a workspace that has not decided about Nx Cloud gets `neverConnectToCloud: true`, Nx's only switch for the hosted-cache recommendations it prints after slow runs (a first VM boot is one).
   */
  keepCloudAdvice?: boolean;
}
