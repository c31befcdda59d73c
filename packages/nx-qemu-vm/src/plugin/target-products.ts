// The pure part of each cached target's output: what its executor computes
// from the machine's config before touching host files. Two configs with the
// same products give the same outputs (host inputs aside), which is how the
// spec proves that TARGET_FIELDS lists exactly the fields that matter.
import type { ResolvedMachine } from '../config/resolve';
import { initrdSpec } from '../initrd/initrd';
import { bootDiskSpec } from '../disk/boot-disk-inputs';
import { renderRunScript } from '../qemu/run-script';
import { renderExecScript } from '../qemu/exec-script';
import type { CachedTarget } from './target-inputs';
import { imagePlan } from '../image/image-plan';

// Stage 1 gets its module list from the kernel's index; any fixed list shows how the script depends on the config.
const SAMPLE_MODULES = { load: [{ name: 'virtio_blk', optional: false }] };

export function targetProduct(target: Exclude<CachedTarget, 'config'>, r: ResolvedMachine): string {
  switch (target) {
    case 'image':
      return r.system.from === 'debian' ? JSON.stringify(imagePlan(r, '/out')) : 'no image';
    case 'install':
      return JSON.stringify(r.installs.map(({ target, from, uuid }) => ({ target, from, uuid })));
    case 'build':
      return renderRunScript(r) + renderExecScript(r);
    case 'initrd': {
      if (!r.kernel.generatedInitrd) return 'the machine brings its own initrd';
      const { stage1, ...rest } = initrdSpec(r);
      return JSON.stringify({ ...rest, stage1: stage1(SAMPLE_MODULES) });
    }
    case 'boot-disk':
      return r.boot.loader ? JSON.stringify(bootDiskSpec(r)) : 'no boot disk';
  }
}
