// The image target's plan: the mmdebstrap command that builds a machine's
// Debian store and the environment of its hook. Pure: the executor runs it.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { ResolvedMachine } from '../config/resolve';
import { STORE_FACTORY } from '../contract/host-guest';
import { shQuote } from '../quote/shell';
import { IMAGE_UUID } from '../config/defaults';

export { IMAGE_UUID };

/** The hook that turns mmdebstrap's chroot into the target's outputs (image-hook.sh). */
export const IMAGE_HOOK = join(__dirname, 'image-hook.sh');

/** What an image must not carry, a shell pattern a line, each with its reason (per-machine-files.txt). */
export const PER_MACHINE_FILES = join(__dirname, 'per-machine-files.txt');

/** Where in the chroot the hook writes the outputs, before they are copied out. */
export const HOOK_OUT = '/.nx-qemu-vm-out';

export interface ImagePlan {
  command: 'mmdebstrap';
  args: string[];
  env: Record<string, string>;
  suite: string;
  packages: string[];
}

/**
 * Another architecture's packages cannot run their maintainer scripts here
 * (that would take qemu-user-static and binfmt_misc, which containers often
 * lack): they are only unpacked, and the hook does what a store needs of
 * those scripts (merged /usr, the module index, the user database).
 */
export function imagePlan(
  r: ResolvedMachine,
  outDir: string,
  sourceDateEpoch = '0',
  hostArch = 'amd64',
): ImagePlan {
  if (r.system.from !== 'debian')
    throw new Error(`machine "${r.name}" has system.from "host": it has no image to build`);
  const { suite, packages, debianArch } = r.system;
  const foreign = debianArch !== hostArch;
  // mmdebstrap runs a hook with sh -c '<hook>' exec <chroot>: $1 is the chroot.
  // The hook writes inside the chroot, where it is root even in unshare mode;
  // mmdebstrap's sync-out then copies the outputs out as the calling account,
  // which owns them (a user namespace's root may not write the workspace).
  const hook = `sh ${shQuote(IMAGE_HOOK)} "$1" "$1"${HOOK_OUT}`;
  const copyOut = `sync-out ${HOOK_OUT} ${shQuote(outDir)}`;
  return {
    command: 'mmdebstrap',
    args: [
      // Essential packages and ours: the smallest system that boots, runs
      // stage 2 and the test agent (perl-base is Essential).
      ...(foreign ? ['--variant=extract', '--include=?essential'] : ['--variant=essential']),
      `--architectures=${debianArch}`,
      `--include=${packages.join(',')}`,
      // Root when run as root, else a user namespace (subuids), else fakechroot.
      '--mode=auto',
      ...(foreign
        ? [`--extract-hook=${hook}`, `--extract-hook=${copyOut}`]
        : [`--customize-hook=${hook}`, `--customize-hook=${copyOut}`]),
      // Nothing to keep: the hook wrote what we need.
      '--format=null',
      suite,
      '/dev/null',
    ],
    env: {
      SOURCE_DATE_EPOCH: sourceDateEpoch,
      IMAGE_UUID,
      IMAGE_FACTORY: STORE_FACTORY,
      IMAGE_PER_MACHINE_FILES: PER_MACHINE_FILES,
      IMAGE_UNPACKED_ONLY: foreign ? '1' : '0',
      // The kernel's postinst skips initramfs-tools: stage 1 is ours.
      INITRD: 'No',
    },
    suite,
    packages,
  };
}

/**
 * What a build of an image is, whichever machine it is for: the plan
 * (mmdebstrap's arguments, the hook's environment) and `facts`, what Nx hashes
 * beside it (the plugin's own files, the host's package index and tools).
 * Machines with the same key share one build.
 */
export function imageBuildKey(
  r: ResolvedMachine,
  facts: readonly string[],
  sourceDateEpoch = '0',
  hostArch = 'amd64',
): string {
  const { args, env } = imagePlan(r, '/out', sourceDateEpoch, hostArch);
  return createHash('sha256')
    .update(JSON.stringify({ args, env, facts }))
    .digest('hex')
    .slice(0, 32);
}
