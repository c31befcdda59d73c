import { join, relative } from 'node:path';
import { distDir } from '../../../config/defaults';
import { loadResolved } from '../../../config/load';
import { renderRunScript } from '../../../qemu/run-script';
import { writeFileAtomic } from '../../../util/atomic-write';

/** Validates, resolves and renders before writing anything, so a bad config writes nothing. */
export function writeMachineScripts(workspaceRoot: string, configPath: string, machine: string): string[] {
  const resolved = loadResolved(configPath);
  const r = resolved[machine];
  if (!r) throw new Error(`machine "${machine}" is not in ${configPath}; machines: ${Object.keys(resolved).join(', ')}`);
  const files = [[join(workspaceRoot, distDir(machine), 'bin', `run-${machine}-vm`), renderRunScript(r)]] as const;
  for (const [path, text] of files) writeFileAtomic(path, text, 0o755);
  return files.map(([path]) => relative(workspaceRoot, path));
}
