// The image target's plan: the mmdebstrap command that builds a machine's
// Debian store and the environment of its hook. Pure: the executor runs it.
import { join } from 'node:path';
import type { ResolvedMachine } from '../config/resolve';
import { STORE_FACTORY } from '../guest/stage1';
import { shQuote } from '../quote/shell';

/** Fixed, so that two builds of the same packages give the same bytes. */
export const IMAGE_UUID = '6e782d71-656d-752d-766d-73746f726500';

/** The hook that turns mmdebstrap's chroot into the target's outputs (image-hook.sh). */
export const IMAGE_HOOK = join(__dirname, 'image-hook.sh');

export interface ImagePlan {
  command: 'mmdebstrap';
  args: string[];
  env: Record<string, string>;
  suite: string;
  packages: string[];
}

export function imagePlan(r: ResolvedMachine, outDir: string, sourceDateEpoch = '0'): ImagePlan {
  if (r.system.from !== 'debian')
    throw new Error(`machine "${r.name}" has system.from "host": it has no image to build`);
  const { suite, packages, debianArch } = r.system;
  return {
    command: 'mmdebstrap',
    args: [
      // Essential packages and ours: the smallest system that boots, runs
      // stage 2 and the test agent (perl-base is Essential).
      '--variant=essential',
      `--architectures=${debianArch}`,
      `--include=${packages.join(',')}`,
      // Root when run as root, else a user namespace (subuids), else fakechroot.
      '--mode=auto',
      // mmdebstrap runs the hook with sh -c '<hook>' exec <chroot>: $1 is the chroot.
      `--customize-hook=sh ${shQuote(IMAGE_HOOK)} "$1" ${shQuote(outDir)}`,
      // Nothing to keep: the hook wrote what we need.
      '--format=null',
      suite,
      '/dev/null',
    ],
    env: {
      SOURCE_DATE_EPOCH: sourceDateEpoch,
      IMAGE_UUID,
      IMAGE_FACTORY: STORE_FACTORY,
      // The kernel's postinst skips initramfs-tools: stage 1 is ours.
      INITRD: 'No',
    },
    suite,
    packages,
  };
}
