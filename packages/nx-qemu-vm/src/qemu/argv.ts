// One readable pass from a resolved machine to QEMU's argument list.
import type { ResolvedMachine } from '../config/resolve';
import { type ResolvedDrive, ideSlots } from '../config/drives';
import { ARCH_PROFILES } from '../config/defaults';
import {
  type ArgvItem,
  type Part,
  arg,
  args,
  hostPath,
  mergeLiterals,
  optionList,
  userWords,
} from '../quote/argv-words';
import { qemuEscape } from '../quote/qemu';
import { CONTROL_PORT, GUEST_AGENT_PORT, SERIAL_BUS } from '../contract/host-guest';

/**
 * The control port reads the FIFO <control_dir>/control.in, which the run
 * script writes to; the guest agent listens on a socket beside it. Both live
 * in the run's private control directory.
 */
function serialPortArgs(r: ResolvedMachine): ArgvItem[] {
  const dir = { var: 'control_dir', qemu: true } as const;
  return [
    ...args('-device', `virtio-serial-pci,id=${SERIAL_BUS}`, '-chardev'),
    arg('pipe,id=nxvm-control,path=', dir, '/control'),
    ...args(
      '-device',
      `virtserialport,bus=${SERIAL_BUS}.0,chardev=nxvm-control,name=${CONTROL_PORT}`,
    ),
    ...(r.guestAgent
      ? [
          arg('-chardev'),
          arg('socket,id=qga0,path=', dir, '/qga.sock,server=on,wait=off'),
          ...args(
            '-device',
            `virtserialport,bus=${SERIAL_BUS}.0,chardev=qga0,name=${GUEST_AGENT_PORT}`,
          ),
        ]
      : []),
  ];
}

function driveArgs(r: ResolvedMachine): ArgvItem[] {
  const iface = r.qemu.diskInterface;
  const out: ArgvItem[] = iface === 'scsi' ? args('-device', 'lsi53c895a,id=scsi0') : [];
  const extras = (o: Record<string, string>) =>
    Object.keys(o)
      .sort()
      .map((k) => [k, o[k]] as const);
  r.drives.forEach((d: ResolvedDrive, i) => {
    const id = `drive${i + 1}`;
    const model =
      iface === 'scsi'
        ? `scsi-hd,bus=scsi0.0,scsi-id=${i}`
        : iface === 'ide'
          ? `ide-hd,${ideSlots(r.qemu.machine)[i]}`
          : 'virtio-blk-pci';
    out.push(
      arg('-drive'),
      arg(
        ...optionList([
          ['id', id],
          ['if', 'none'],
          ['file', d.file],
          ['format', d.format],
          ...extras(d.driveExtraOpts),
        ]),
      ),
      arg('-device'),
      arg(`${model},`, ...optionList([['drive', id], ...extras(d.deviceExtraOpts)])),
    );
  });
  return out;
}

function networkArgs(r: ResolvedMachine): ArgvItem[] {
  const out: ArgvItem[] = [];
  const user = r.network.user;
  if (user.default) out.push(arg('-netdev'), arg(...user.netdev), ...args('-device', user.device));
  else out.push(...userWords(user.words));
  for (const v of r.network.vlans)
    out.push(arg('-netdev'), arg(...v.netdev), ...args('-device', v.device));
  return out;
}

function shareArgs(r: ResolvedMachine): ArgvItem[] {
  return r.shares.flatMap((s) => [
    arg('-virtfs'),
    arg(
      ...mergeLiterals([
        'local,path=',
        ...s.source,
        `,security_model=${s.securityModel},mount_tag=${qemuEscape(s.tag)}`,
        s.readOnly ? ',readonly=on' : '',
      ]),
    ),
  ]);
}

function bootArgs(r: ResolvedMachine): ArgvItem[] {
  const out: ArgvItem[] = [];
  if (!r.boot.loader)
    out.push(
      arg('-kernel'),
      // The run script picks the unpacked kernel or the image (run-script.ts).
      arg({ var: 'boot_kernel' }),
      arg('-initrd'),
      arg(...hostPath(r.kernel.initrd, false)),
      arg('-append'),
      arg(r.kernel.params.join(' '), { ifSet: 'QEMU_KERNEL_PARAMS', prefix: ' ' }),
    );
  if (r.efi)
    out.push(
      arg('-drive'),
      arg(`if=pflash,format=${r.efi.format},unit=0,readonly=on,file=${qemuEscape(r.efi.code)}`),
      arg('-drive'),
      arg('if=pflash,format=raw,unit=1,file=', { var: 'efi_vars', qemu: true }),
    );
  if (r.bios) out.push(arg('-bios'), arg(...hostPath(r.bios, false)));
  return out;
}

export function buildQemuArgv(r: ResolvedMachine): ArgvItem[] {
  const accel: Part = r.qemu.accel === 'auto' ? { var: 'accel' } : r.qemu.accel;
  return [
    arg(r.qemu.binary),
    ...args('-name', r.name, '-machine', r.qemu.machine),
    arg('-accel'),
    arg(accel),
    ...args('-cpu', r.qemu.cpu, '-m', String(r.memorySize), '-smp', String(r.cores)),
    ...args('-device', 'virtio-rng-pci'),
    // warmStart: a restored kernel reseeds its random generator when the
    // generation ID changes (a new one each QEMU start). In cold boots too, so
    // that both modes give the guest the same devices and memory.
    ...(r.warmStart ? args('-device', 'vmgenid') : []),
    ...networkArgs(r),
    ...shareArgs(r),
    ...driveArgs(r),
    ...args(...ARCH_PROFILES[r.arch].devices),
    ...serialPortArgs(r),
    ...bootArgs(r),
    ...(r.graphics ? [] : args('-nographic')),
    ...userWords(r.qemu.options),
    { split: 'QEMU_OPTS' },
    { passArgs: true },
  ];
}
