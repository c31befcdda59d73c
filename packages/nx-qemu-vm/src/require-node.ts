// Every entry point of the package (the plugin, each executor and generator)
// imports this module first. Our compiled CommonJS loads execa, an ES module,
// with require(), which Node does without a flag from 20.19 (in the 20 line)
// and 22.12 on. On an older Node that would fail deep inside a stack trace;
// this says instead what is needed.

export const SUPPORTED_NODE = 'Node.js 20.19 or newer (in the 20 line), or 22.12 or newer';

/** Whether a Node of this version loads ES modules with require() by default. */
function versionRequiresModules(version: string): boolean {
  const [major, minor] = version.split('.').map(Number);
  return major === 20 ? minor >= 19 : major === 22 ? minor >= 12 : major > 22;
}

/**
 * Why this Node cannot run the plugin, or undefined when it can. Pure.
 * The version decides; process.features.require_module can only add a yes:
 * Jest gives tests a copy of `process` in which it reads false on Node 20.20.
 */
export function nodeProblem(
  version: string,
  requireModule: boolean | undefined,
): string | undefined {
  if (requireModule === true || versionRequiresModules(version)) return undefined;
  return `nx-qemu-vm needs ${SUPPORTED_NODE}; this is Node.js ${version}. Install a newer Node.js (22 LTS, say) and run the command again.`;
}

const problem = nodeProblem(
  process.versions.node,
  (process.features as { require_module?: boolean }).require_module,
);
if (problem) {
  const error = new Error(problem);
  // The message is all a person needs; a stack trace would bury it.
  error.stack = problem;
  throw error;
}
