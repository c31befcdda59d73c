// A bound on how deeply workspace-vm.json nests, checked before anything walks
// it. Copying, schema validation, the text checks and JSON.stringify all
// recurse; a file nested thousands of levels deep would overflow the stack in
// any of them, with "Maximum call stack size exceeded" naming nothing.
import { type ConfigIssue, jsonPath } from './errors';

/**
 * The deepest option sits 7 levels down
 * (machines.<name>.qemu.drives[i].driveExtraOpts.<key>): four times that leaves
 * room for any schema growth and still bounds every walk.
 */
export const MAX_NESTING = 28;

/**
 * The first place (in a depth-first walk, iterative so that it cannot
 * overflow itself) where the value nests deeper than MAX_NESTING, as an issue.
 */
export function nestingIssue(raw: unknown): ConfigIssue | undefined {
  const stack: { value: unknown; path: (string | number)[] }[] = [{ value: raw, path: [] }];
  while (stack.length) {
    const { value, path } = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (path.length >= MAX_NESTING) {
      const machine = path[0] === 'machines' && path.length > 1 ? String(path[1]) : undefined;
      return {
        machine,
        path: jsonPath(path),
        message: `nests deeper than ${MAX_NESTING} levels (arrays and objects inside each other); no option of workspace-vm.json is deeper than 7. Remove the nesting.`,
      };
    }
    const entries = Array.isArray(value) ? [...value.entries()] : Object.entries(value);
    for (const [key, child] of entries.reverse())
      stack.push({ value: child, path: [...path, key] });
  }
  return undefined;
}
