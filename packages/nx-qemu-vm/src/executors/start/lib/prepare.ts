// Runs the machine's preparation targets through a nested Nx, before the
// console starts. Nx 24's pseudo-terminal loses keyboard input for an
// interactive task when other tasks ran before it in the same command (seen
// in tmux: the shell never got what was typed), so `start` is the only task
// of its command and asks Nx for the rest itself. The cache still applies.
import { runAttached } from '../../../host/attached';
import { nestedEnv, nxBin, prepareCommand } from '../../../host/nested-nx';

export async function runPreparation(
  workspaceRoot: string,
  project: string,
  targets: readonly string[],
): Promise<boolean> {
  if (!targets.length) return true;
  const result = await runAttached(
    process.execPath,
    prepareCommand(nxBin(workspaceRoot), [project], targets),
    {
      cwd: workspaceRoot,
      env: nestedEnv(process.env),
      extendEnv: false,
      stdin: 'ignore',
      stdout: 'inherit',
      stderr: 'inherit',
    },
  );
  return result.exitCode === 0;
}
