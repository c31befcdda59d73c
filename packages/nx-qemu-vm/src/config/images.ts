// The image files the machines open, compared as real paths: one file attached
// twice, by one machine or two, in whatever spelling ("a.img", "./a.img", an
// absolute path, a symbolic link), would be opened twice for writing. QEMU
// refuses that only at boot, when it cannot lock the file, and two machines
// started one after the other would share a disk.
import { type ConfigIssue, jsonPath } from './errors';
import type { HostFacts } from '../host/host-facts';
import type { ValidMachine } from './valid-machine';
import { defaultDiskImage, defaultEfiVars, emptyDiskImage } from './defaults';

interface Attachment {
  machine: string;
  path: (string | number)[];
  file: string;
  writable: boolean;
}

function attachments(name: string, m: ValidMachine): Attachment[] {
  const at = (path: (string | number)[], file: string, writable = true) => ({
    machine: name,
    path,
    file,
    writable,
  });
  return [
    at(['diskImage'], m.diskImage ?? defaultDiskImage(name)),
    ...m.emptyDiskImages.map((_, i) => at(['emptyDiskImages', i], emptyDiskImage(name, i))),
    ...m.qemu.drives.map((d, i) =>
      at(['qemu', 'drives', i, 'file'], d.file, d.driveExtraOpts?.readonly !== 'on'),
    ),
    ...(m.useEFIBoot ? [at(['efiVars'], m.efiVars ?? defaultEfiVars(name))] : []),
  ];
}

/** Every image file that a second attachment names again, where either may write it. */
export function sharedImageIssues(
  machines: Record<string, ValidMachine>,
  host: Pick<HostFacts, 'realPath'>,
): ConfigIssue[] {
  const first = new Map<string, Attachment>();
  const issues: ConfigIssue[] = [];
  for (const [name, m] of Object.entries(machines))
    for (const a of attachments(name, m)) {
      const real = host.realPath(a.file);
      const before = first.get(real);
      if (!before) first.set(real, a);
      else if (before.writable || a.writable)
        issues.push({
          machine: a.machine,
          path: jsonPath(['machines', a.machine, ...a.path]),
          value: a.file,
          message: `is the same file as ${jsonPath(['machines', before.machine, ...before.path])} (${real}), and QEMU would open it twice for writing. Give each disk a file of its own.`,
        });
    }
  return issues;
}
