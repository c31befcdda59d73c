// Runs the machine's preparation targets through a nested Nx, before the
// console starts. Nx 24's pseudo-terminal loses keyboard input for an
// interactive task when other tasks ran before it in the same command (seen
// in tmux: the shell never got what was typed), so `start` is the only task
// of its command and asks Nx for the rest itself. The cache still applies.
import { dirname, join } from 'node:path';
import { runAttached } from '../../../host/attached';

/** The nested command: pure, so its shape is tested. */
export function prepareCommand(
  nxBin: string,
  project: string,
  targets: readonly string[],
): string[] {
  return [
    nxBin,
    'run-many',
    '--targets',
    targets.join(','),
    '--projects',
    project,
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

export async function runPreparation(
  workspaceRoot: string,
  project: string,
  targets: readonly string[],
): Promise<boolean> {
  if (!targets.length) return true;
  const nxPackage = require.resolve('nx/package.json', { paths: [workspaceRoot] });
  const nxBin = join(dirname(nxPackage), 'dist/bin/nx.js');
  const result = await runAttached(process.execPath, prepareCommand(nxBin, project, targets), {
    cwd: workspaceRoot,
    env: nestedEnv(process.env),
    extendEnv: false,
    stdin: 'ignore',
    stdout: 'inherit',
    stderr: 'inherit',
  });
  return result.exitCode === 0;
}
