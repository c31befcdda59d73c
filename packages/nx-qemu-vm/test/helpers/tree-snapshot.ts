// Test helper: every file of an in-memory tree with its content, to compare a
// tree before and after a generator run.
import type { Tree } from '@nx/devkit';

export function snapshot(tree: Tree): Record<string, string | undefined> {
  return Object.fromEntries(
    tree
      .listChanges()
      .map((c) => [c.path, c.type === 'DELETE' ? undefined : c.content?.toString('utf8')] as const)
      .sort(([a], [b]) => a.localeCompare(b)),
  );
}
