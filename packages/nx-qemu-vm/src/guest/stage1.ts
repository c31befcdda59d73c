// Renders /init of the generated initrd (stage 1): a header of this machine's
// values, then the static program guest/stage-1-init.sh.
import type { ResolvedMachine } from '../config/resolve';
import type { ResolvedFileSystem } from '../config/shares';
import { shAssignments, shCall, shFunction } from '../quote/shell';
import { shellFile } from '../util/shell-file';
import { SEED_GROUP, SEED_PASSWD } from '../config/workload-checks';
import { guestFiles, renderPutFiles } from './files';
import { guestUsers, renderPutUsers } from './passwords';

/** Where the initrd keeps what stage 1 copies into the new root's /run. */
export const INITRD_STAGE2 = '/nx-qemu-vm/stage-2-init';
/** The test API's guest agent (guest/agent.pl); stage 1 copies it to <run dir>/agent. */
export const INITRD_AGENT = '/nx-qemu-vm/agent.pl';
/** Stage 2 as a systemd service (guest/nx-qemu-vm.service), with "init": "systemd". */
export const INITRD_STAGE2_UNIT = '/nx-qemu-vm/nx-qemu-vm.service';
/** With "init": "systemd", the network's unit (guest/nx-qemu-vm-network.service). */
export const INITRD_NETWORK_UNIT = '/nx-qemu-vm/nx-qemu-vm-network.service';
export const INITRD_ALTERNATIVES = '/nx-qemu-vm/etc-alternatives';
/** The declared services' program (guest/services.ts); stage 1 copies it to <run dir>/services. */
export const INITRD_SERVICES = '/nx-qemu-vm/services';
/** With "init": "systemd", the services' units; stage 1 installs them in /run/systemd/system. */
export const INITRD_UNITS = '/nx-qemu-vm/units';
export const RUN_DIR = '/run/nx-qemu-vm';
export const STAGE1_FAILED = 'nx-qemu-vm: stage 1 failed';
/** QEMU's fw_cfg item that marks an exec boot; see exec-script.ts. */
export const FW_CFG_MODE = 'opt/nx-qemu-vm/mode';
/**
 * Warm starts (M9): fw_cfg's item that is 0 while the host saves a machine
 * and 1 in every copy restored from that state, and the console line at which
 * stage 1 waits to be saved.
 */
export const FW_CFG_WARM = 'opt/nx-qemu-vm/warm';
export const WARM_POINT = 'nx-qemu-vm: warm point';
/**
 * The disk drivers wantedModules may list. A warm state is saved before any
 * of them loads, so that the saved kernel has read nothing of any disk.
 */
export const BLOCK_DRIVERS = ['virtio_blk', 'sym53c8xx', 'sd_mod', 'ahci', 'ata_piix'] as const;
/** Where a Debian image keeps its root tree beside /usr as the packages left it, relative to the store. */
export const STORE_FACTORY = 'share/nx-qemu-vm/factory';

export interface Stage1Modules {
  /** Module names in load order; each is /lib/modules/<name>.ko in the initrd. */
  load: { name: string; optional: boolean }[];
}

/** Mount calls for file systems below `prefix`; shared with stage 2 for the late ones. */
export function renderMounts(fileSystems: readonly ResolvedFileSystem[], prefix: string): string[] {
  const lines: string[] = [];
  for (const f of fileSystems) {
    if (f.mountPoint === '/') continue;
    let options = f.options;
    if (f.fsType === 'overlay') {
      // The layers are named by their path in the final root.
      options = options.map((o) => o.replace(/^(lowerdir|upperdir|workdir)=/, `$1=${prefix}`));
      const dirs = options
        .filter((o) => /^(upperdir|workdir)=/.test(o))
        .map((o) => o.slice(o.indexOf('=') + 1));
      lines.push(shCall('mkdir', '-p', ...dirs));
    }
    lines.push(shCall('mount_fs', f.device, prefix + f.mountPoint, f.fsType, options.join(',')));
  }
  return lines;
}

/**
 * The lines stage 1 keeps in the guest's /etc/hosts, between its markers:
 * the machine's own name, and every machine it shares a vlan with.
 */
export function renderHostsBlock(r: ResolvedMachine): string {
  const own = `${r.primaryIPAddress} ${r.name}`;
  return [own, ...r.hosts.map((h) => `${h.address} ${h.name}`)].map((l) => `${l}\n`).join('');
}

/**
 * /init of the generated initrd: a header of this machine's values, then the
 * static program guest/stage-1-init.sh.
 */
export function renderStage1(
  r: ResolvedMachine,
  modules: Stage1Modules,
  rootTimeoutSeconds = 30,
): string {
  const root = r.fileSystems.find((f) => f.mountPoint === '/');
  if (!root) throw new Error('resolved machine has no root file system');
  const early = r.fileSystems.filter((f) => f.neededForBoot);
  const header = shAssignments({
    modules: modules.load.map((m) => `${m.name}${m.optional ? ':optional' : ''}`).join(' '),
    root_device: root.device,
    root_fstype: root.fsType,
    root_options: root.options.join(','),
    root_timeout: rootTimeoutSeconds,
    store_target: r.store.target,
    ninep: `trans=virtio,version=9p2000.L,msize=${r.msize}`,
    merged_usr: r.store.target === '/usr',
    factory: r.system.from === 'debian' ? `${r.store.target}/${STORE_FACTORY}` : '',
    init: r.kernel.init,
    run_dir: RUN_DIR,
    stage2: INITRD_STAGE2,
    agent: INITRD_AGENT,
    stage2_unit: r.kernel.systemd ? INITRD_STAGE2_UNIT : '',
    network_unit: r.kernel.systemd ? INITRD_NETWORK_UNIT : '',
    alternatives: INITRD_ALTERNATIVES,
    failed_marker: STAGE1_FAILED,
    fw_cfg_mode: FW_CFG_MODE,
    warm_item: FW_CFG_WARM,
    warm_point: WARM_POINT,
    block_drivers: BLOCK_DRIVERS.join(' '),
    services_program: r.services.length ? INITRD_SERVICES : '',
    units_dir: r.kernel.systemd && r.services.length ? INITRD_UNITS : '',
    hosts_block: renderHostsBlock(r),
    host_name: r.name,
    gettys: r.guest.gettys.join(' '),
    seed_passwd: SEED_PASSWD.map((l) => `${l}\n`).join(''),
    seed_group: SEED_GROUP.map((l) => `${l}\n`).join(''),
  });
  return [
    '#!/bin/busybox sh\n',
    `# Generated by nx-qemu-vm: this machine's values, then guest/stage-1-init.sh.\n`,
    header,
    shFunction('mount_early', renderMounts(early, '/mnt-root')),
    shFunction('put_users', renderPutUsers(guestUsers(r.name, r.guest.users))),
    shFunction('put_files', renderPutFiles(guestFiles(r.guest.files))),
    shellFile('guest/stage-1-init.sh'),
  ].join('');
}
