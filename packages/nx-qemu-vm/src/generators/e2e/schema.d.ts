/* Generated from packages/nx-qemu-vm/src/generators/e2e/schema.json by tools/generate-types.ts. Do not edit: run `npm run gen:types`. */

/**
 * Gives a project a test target that boots machines of workspace-vm.json: it depends on their `prepare` targets, reruns when a machine changes, and runs the project's tests with node:test, Vitest or Jest. Creates the project, with a first passing test, when it does not exist; in an existing project it replaces only that target. Safe to run again: existing test files are kept.
 */
export interface E2EGeneratorSchema {
  /**
   * The project that holds the tests, e.g. `api-e2e`. Created when the workspace has no project of that name.
   */
  project: string;
  /**
   * Machines of workspace-vm.json the tests boot, comma-separated on the command line: `--machines=server,client`.
   */
  machines: string[];
  /**
   * Test runner: `node` (node:test, nothing to install), `vitest` or `jest` (added to devDependencies when missing).
   */
  runner?: 'node' | 'vitest' | 'jest';
  /**
   * Name of the test target to write.
   */
  target?: string;
  /**
   * Root of the project when it is created, relative to the workspace root. Default: `<appsDir>/<project>` (`apps/<project>` when the workspace has an `apps` folder, as `nx g` generators place applications).
   */
  directory?: string;
  /**
   * Leave package.json alone: do not add the test runner to devDependencies.
   */
  skipPackageJson?: boolean;
  /**
   * Leave the written files as generated instead of passing them through the workspace's formatter (prettier or oxfmt), if it has one.
   */
  skipFormat?: boolean;
}
