// First: refuses a Node.js that cannot load our dependencies, with a clear message.
import '../../require-node';
import { copyFileSync, existsSync, linkSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { ImageExecutorSchema } from './schema';
import { machineExecutor } from '../machine-executor';
import { publishDirectory } from '../../host/atomic-write';
import { ToolError, runTool } from '../../host/run-tool';
import { throwIfInterrupted } from '../../host/interruption';
import { withFileLock } from '../../host/file-lock';
import { imageBuildKey, imagePlan } from '../../image/image-plan';
import { explainImageFailure } from '../../image/image-errors';
import { unshareProblemMessage, unshareProblems } from '../../image/unshare-checks';
import { readUnshareFacts } from '../../host/unshare-facts';
import { sharedImagesDir } from '../../config/defaults';
import type { ResolvedMachine } from '../../config/resolve';
import { hostInputs } from '../../plugin/target-inputs';

/** The line that says mmdebstrap runs: once per distinct system, however many machines share it. */
export const BUILDING_IMAGE = 'building the image with mmdebstrap';

export default machineExecutor<ImageExecutorSchema>(
  async (options, m, context) => {
    const r = m.machine;
    if (r.system.from !== 'debian') {
      console.log(
        `machine "${r.name}" runs the host's /usr (system.from "host"); nothing to build`,
      );
      return { success: true };
    }
    // Both tools are checked first: an hour of downloads must not end in "mkfs.erofs: not found".
    await runTool('mkfs.erofs', ['--help'], { allowFailure: true, debianPackage: 'erofs-utils' });
    // An ordinary account builds in a user namespace: say what is missing before mmdebstrap does not.
    const unshare = unshareProblems(readUnshareFacts());
    if (unshare.length) throw new Error(unshareProblemMessage(r.name, unshare));
    const epoch = process.env.SOURCE_DATE_EPOCH ?? '0';
    // Machines with the same system share one build: the first task to take
    // its lock runs mmdebstrap, the others wait for it and link its files.
    const key = imageBuildKey(r, await buildFacts(r, options.pluginDigest), epoch);
    const shared = join(context.root, sharedImagesDir, key);
    const sharedName = relative(context.root, shared);
    await withFileLock(
      `${shared}.lock`,
      () => console.log(`waiting for another task that builds the same image (${sharedName})`),
      async () => {
        if (existsSync(join(shared, 'store.erofs'))) {
          console.log(`the image of this system is built: ${sharedName}`);
          return;
        }
        await publishDirectory(shared, (scratch) => buildImage(r, scratch, epoch));
      },
    );
    const dir = join(m.dist, 'image');
    await publishDirectory(dir, (scratch) => {
      for (const file of readdirSync(shared)) linkOrCopy(join(shared, file), join(scratch, file));
    });
    const store = join(dir, 'store.erofs');
    console.log(
      `wrote ${relative(context.root, store)} (${(statSync(store).size / 1024 / 1024).toFixed(1)} MiB) and ${relative(context.root, join(dir, 'manifest.txt'))}`,
    );
    return { success: true };
  },
  { warnOnRefusedToken: true },
);

/** What Nx hashes beside the machine's system: the plugin's files, the host's package index and tools. */
async function buildFacts(r: ResolvedMachine, pluginDigest = ''): Promise<string[]> {
  const facts = [pluginDigest];
  for (const input of hostInputs('image', r.config))
    if (typeof input === 'object' && 'runtime' in input)
      facts.push((await runTool('sh', ['-c', input.runtime])).stdout);
  return facts;
}

async function buildImage(r: ResolvedMachine, outDir: string, epoch: string): Promise<void> {
  const plan = imagePlan(r, outDir, epoch);
  console.log(
    `${BUILDING_IMAGE} (Debian ${plan.suite}, ${r.system.from === 'debian' ? r.system.debianArch : ''}) for "${r.name}": ${plan.packages.join(' ')}`,
  );
  try {
    await runTool(plan.command, plan.args, {
      env: plan.env,
      echo: true,
      attached: true,
      debianPackage: 'mmdebstrap',
    });
  } catch (err) {
    throw err instanceof ToolError ? explainImageFailure(err, plan) : err;
  }
  throwIfInterrupted('the image build');
}

/** The shared build's files are never written again: a hard link is a copy that costs nothing. */
function linkOrCopy(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch {
    copyFileSync(from, to);
  }
}
