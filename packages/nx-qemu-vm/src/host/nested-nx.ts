// A nested Nx: `start` and the test API build what machines need through
// `nx run-many`, so the cache applies. Pure parts only (no process is started
// here), so that nx-qemu-vm/testing can use them under any test runner.
import { dirname, join } from 'node:path';

/** Nx's own CLI script in the workspace's node_modules. */
export function nxBin(workspaceRoot: string): string {
  const nxPackage = require.resolve('nx/package.json', { paths: [workspaceRoot] });
  return join(dirname(nxPackage), 'dist/bin/nx.js');
}

/** The nested command: pure, so its shape is tested. */
export function prepareCommand(
  bin: string,
  projects: readonly string[],
  targets: readonly string[],
): string[] {
  return [
    bin,
    'run-many',
    '--targets',
    targets.join(','),
    '--projects',
    projects.join(','),
    '--output-style=static',
  ];
}

/** The task's own Nx variables would make the nested Nx believe it is a forked task. */
export function nestedEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(env).filter(
      ([k]) => !/^NX_(TASK_|FORKED_|TERMINAL_OUTPUT|STREAM_OUTPUT|PREFIX_OUTPUT)/.test(k),
    ),
  );
}
