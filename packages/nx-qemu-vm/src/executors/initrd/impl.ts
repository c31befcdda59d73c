// First: refuses a Node.js that cannot load our dependencies, with a clear message.
import '../../require-node';
import { join, relative, resolve } from 'node:path';
import type { InitrdExecutorSchema } from './schema';
import { machineExecutor } from '../machine-executor';
import { buildInitrd } from '../../initrd/initrd';
import { unpackPvhKernel } from '../../initrd/pvh-extract';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { ConfigError } from '../../config/errors';
import { unknownServiceUsers } from '../../guest/services';
import { unknownFileOwners } from '../../guest/files';
import { STORE_FACTORY } from '../../contract/host-guest';
import { publishDirectory } from '../../host/atomic-write';
import { withExtractedStore } from '../../image/extract-store';

export default machineExecutor<InitrdExecutorSchema>(
  async (_options, m, context) => {
    if (!m.machine.kernel.generatedInitrd) {
      console.log(
        `machine "${m.machine.name}" boots its own initrd (${m.machine.kernel.initrd}); nothing to build`,
      );
      return { success: true };
    }
    console.log(`building the stage-1 initrd for kernel ${m.machine.kernel.image}`);
    const log = (line: string) => console.log(`  ${line}`);
    const initrd =
      m.machine.system.from === 'debian'
        ? await withExtractedStore(m.machine.system.image.store, log, (store) => {
            // The services' accounts, checked against the image before a boot finds them missing.
            // Stage 1 creates the declared `users` (each with a group of its name) before it writes the files.
            const table = (name: string) => {
              const file = join(store, STORE_FACTORY, 'etc', name);
              const declared = Object.keys(m.machine.guest.users).map((u) => `\n${u}:x`);
              return (existsSync(file) ? readFileSync(file, 'utf8') : '') + declared.join('');
            };
            const issues = [
              ...unknownServiceUsers(m.machine, table('passwd')),
              ...unknownFileOwners(
                m.machine.name,
                m.machine.guest.files,
                table('passwd'),
                table('group'),
              ),
            ];
            if (issues.length) throw new ConfigError('workspace-vm.json', issues);
            return buildInitrd(m.machine, { log, store, workspaceRoot: m.workspaceRoot });
          })
        : await buildInitrd(m.machine, { log, workspaceRoot: m.workspaceRoot });
    const pvh = m.machine.kernel.pvh
      ? await unpackPvhKernel(resolve(context.root, m.machine.kernel.image))
      : undefined;
    if (pvh && 'why' in pvh) log(`booting the kernel as it is, not through PVH: ${pvh.why}`);
    const dir = join(m.dist, 'initrd');
    await publishDirectory(dir, (scratch) => {
      writeFileSync(join(scratch, 'manifest.txt'), initrd.manifest);
      writeFileSync(join(scratch, 'initrd.img'), initrd.image);
      if (pvh && 'elf' in pvh) writeFileSync(join(scratch, 'vmlinux'), pvh.elf);
    });
    if (pvh && 'elf' in pvh)
      log(
        `unpacked the kernel for PVH boot: ${relative(context.root, join(dir, 'vmlinux'))} (${(pvh.elf.length / 1024 / 1024).toFixed(1)} MiB); QEMU boots it without the guest decompressing itself`,
      );
    console.log(
      `wrote ${relative(context.root, join(dir, 'initrd.img'))} (${(initrd.image.length / 1024 / 1024).toFixed(1)} MiB, kernel ${initrd.kernelVersion})`,
    );
    return { success: true };
  },
  { warnOnRefusedToken: true },
);
