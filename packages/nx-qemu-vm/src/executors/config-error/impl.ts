// Every target of a machine with config problems runs this (plugin/broken-machine.ts):
// the plugin found the problems while building the project graph and, rather
// than fail every Nx command of the workspace, left them here to be printed.
// First: refuses a Node.js that cannot load our dependencies, with a clear message.
import '../../require-node';
import type { ConfigErrorExecutorSchema } from './schema';

export default function configErrorExecutor(
  options: ConfigErrorExecutorSchema,
): Promise<{ success: boolean }> {
  console.error(options.message);
  return Promise.resolve({ success: false });
}
