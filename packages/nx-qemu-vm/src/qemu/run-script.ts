// Renders bin/run-<name>-vm: a standalone POSIX sh script that does what the
// NixOS start script does, without node or Nx. Everything host-specific that
// can change between runs (workspace location, TMPDIR, overrides) is read at
// run time, so the same bytes work in every clone and can be cached remotely.
import type { ResolvedMachine } from '../config/resolve';
import { buildQemuArgv } from './argv';
import { escapedVar, escapedVarsUsed, shArgvLines, shWord } from './argv-sh';
import { shAssignments, shQuote } from '../quote/shell';
import { FW_CFG_WARM } from '../contract/host-guest';
import { READY_SUFFIXES, readyDiskSuffixes } from './warm-files';
import { hostPath } from '../quote/argv-words';
import { ACCEL_MARK } from './accel-line';
import { shellFile } from '../host/shell-file';
import { ARCH_PROFILES } from '../config/defaults';
import { VLAN_NET_VAR } from '../config/network';
import { installVar } from '../config/drives';
import { emptyDiskLayouts, renderLayoutStamp, rootDiskLayout } from '../disk/layout';
import {
  EFI_VARS_ENV,
  ROOT_DISK_ENV,
  checkQcow2Sh,
  efiVarsTemplate,
  notAFileMessage,
  shOverride,
} from '../disk/disk-rules';

/**
 * The kernel parameters a TCG guest's clock needs (ArchProfile.tcgKernelParams),
 * once the accelerator is known, unless the machine's kernelParams or
 * QEMU_KERNEL_PARAMS set the same one (a user's own choice wins). A boot
 * loader's command line is on its disk, where -append does not reach.
 */
function tcgKernelParams(r: ResolvedMachine): string[] {
  if (r.qemu.accel === 'kvm' || r.boot.loader) return [];
  const keyOf = (param: string) => param.split('=')[0];
  const params = ARCH_PROFILES[r.arch].tcgKernelParams.filter(
    (p) => !r.kernel.params.some((own) => keyOf(own) === keyOf(p)),
  );
  if (!params.length) return [];
  const adds = params.map(
    (p) =>
      `case " \${QEMU_KERNEL_PARAMS:-} " in *" ${keyOf(p)}="*) ;; *) QEMU_KERNEL_PARAMS="\${QEMU_KERNEL_PARAMS:+$QEMU_KERNEL_PARAMS }${p}" ;; esac`,
  );
  return [
    "# Under TCG the guest keeps time by a clock that a snapshot's restore brings back exactly, not the TSC.",
    ...(r.qemu.accel === 'tcg'
      ? adds
      : ['case $accel in', 'tcg | tcg,*)', ...adds.map((a) => `  ${a}`), '  ;;', 'esac']),
  ];
}

/**
 * Which accelerator this run uses, said in one line: VM_ACCEL, or the probe's
 * answer for this machine's QEMU and kernel; a fixed `accel` is only said.
 */
function accelChoice(r: ResolvedMachine): string {
  const say = `${shAssignments({ accel_mark: ACCEL_MARK }).trimEnd()}\n${shellFile('qemu/run-vm-say-accel.sh').trimEnd()}`;
  if (r.qemu.accel !== 'auto')
    return `${say}\nsay_accel ${r.qemu.accel} ${shQuote(`accel is "${r.qemu.accel}" in workspace-vm.json`)}`;
  const call = [ARCH_PROFILES[r.arch].kvmHosts.join(' '), r.qemu.binary, r.qemu.machine, r.qemu.cpu]
    .map(shQuote)
    .join(' ');
  return [
    say,
    shellFile('qemu/run-vm-probe-accel.sh').trimEnd(),
    'if [ -n "${VM_ACCEL:-}" ]; then',
    '  accel=$VM_ACCEL',
    "  accel_why='VM_ACCEL is set'",
    'else',
    `  probe_accel ${call} ${shWord(hostPath(r.kernel.image, false))}`,
    'fi',
    'say_accel "$accel" "$accel_why"',
  ].join('\n');
}

/** Sets boot_kernel: the kernel unpacked for PVH where it is there and may be used, or the image. */
function bootKernelChoice(r: ResolvedMachine): string[] {
  if (!r.kernel.pvh) return ['boot_kernel=$kernel_file'];
  const pvh = shWord(hostPath(r.kernel.pvh, false));
  if (r.graphics)
    return [
      '# A kernel entered through PVH gets no text screen from the firmware: the',
      "# display would keep the BIOS's last words instead of tty1. So the kernel",
      '# boots as it is, unless nothing looks at the screen (VM_NO_SCREEN=1, set',
      '# by the exec script): then through PVH, as on a machine without a display.',
      'boot_kernel=$kernel_file',
      `if [ "\${VM_NO_SCREEN:-}" = 1 ] && [ -r ${pvh} ]; then boot_kernel=${pvh}; fi`,
    ];
  return [
    '# The initrd target unpacks the kernel when it can: QEMU then enters it',
    '# through PVH, and the guest is spared its own decompression.',
    `boot_kernel=${pvh}`,
    '[ -r "$boot_kernel" ] || boot_kernel=$kernel_file',
  ];
}

/** The kernel and initrd must be readable before anything starts; QEMU's own message comes too late. */
function readableChecks(r: ResolvedMachine): string[] {
  const initrdFix = r.kernel.generatedInitrd
    ? `build it: npx nx run ${r.name}:initrd`
    : 'check the initrd option';
  const kernelFix =
    r.system.from === 'debian'
      ? `build the image: npx nx run ${r.name}:image`
      : 'check the kernel option (default: the newest /boot/vmlinuz-*, Debian package linux-image-amd64)';
  return [
    `kernel_file=${shWord(hostPath(r.kernel.image, false))}`,
    `[ -r "$kernel_file" ] || die "cannot read the kernel $kernel_file; ${kernelFix}"`,
    ...bootKernelChoice(r),
    ...(r.system.from === 'debian'
      ? [
          `[ -r ${shWord(hostPath(r.system.image.store, false))} ] || die ${shQuote('cannot read the store image ')}${shWord(hostPath(r.system.image.store, false))}${shQuote(`; build it: npx nx run ${r.name}:image`)}`,
        ]
      : []),
    `initrd_file=${shWord(hostPath(r.kernel.initrd, false))}`,
    `[ -r "$initrd_file" ] || die "cannot read the initrd $initrd_file; ${initrdFix}"`,
  ];
}

/** The size the guest sees of an install image swapped after a ready state's restore: larger than any. */
const INSTALL_DISK_SIZE = '1T';

/**
 * A ready state's disks (warmStart "ready"): the save makes new ones beside
 * the state file, and a restore takes those, under -snapshot, or refuses
 * before anything is created when one is missing or damaged (the caller
 * then boots cold on the machine's own disks: warm-unfit).
 */
function readyDisks(r: ResolvedMachine): string[] {
  if (r.warmStart !== 'ready') return [];
  const disks = readyDiskSuffixes(r.paths.emptyDisks.length);
  const rebuild = shQuote(`npx nx run ${r.name}:test-warm`);
  return [
    'case ${VM_WARM:-} in',
    '  ready-*)',
    '    if [ -z "${VM_WARM_FILE:-}" ] || [ -z "${USE_TMPDIR:-}" ] || [ ! -d "${TMPDIR:-}" ]; then',
    '      die "VM_WARM=$VM_WARM needs VM_WARM_FILE, and TMPDIR with USE_TMPDIR (the test API sets them)"',
    '    fi',
    `    disk_image=$VM_WARM_FILE${READY_SUFFIXES.root}`,
    '    ;;',
    'esac',
    'if [ "${VM_WARM:-}" = ready-restore ]; then',
    `  for ready_file in "$VM_WARM_FILE" "$VM_WARM_FILE${READY_SUFFIXES.key}"${disks.map((d) => ` "$VM_WARM_FILE${d}"`).join('')}; do`,
    '    if [ ! -f "$ready_file" ]; then',
    '      : >"$TMPDIR/warm-unfit"',
    `      die "the state is incomplete: $ready_file is missing; rebuild it with: "${rebuild}`,
    '    fi',
    '  done',
    `  for ready_file in${disks.map((d) => ` "$VM_WARM_FILE${d}"`).join('')}; do`,
    '    if ! (check_qcow2 "$ready_file" "saved disk") 2>/dev/null; then',
    '      : >"$TMPDIR/warm-unfit"',
    `      die "the state's disk $ready_file is damaged; rebuild it with: "${rebuild}`,
    '    fi',
    '  done',
    'fi',
  ];
}

/**
 * What a ready state's guest has read from the read-only images (its system,
 * the install images): part of the state's key, as the guest's caches hold it.
 */
function readyDiskContents(r: ResolvedMachine): string[] {
  if (r.warmStart !== 'ready' || r.system.from !== 'debian')
    return ['ready_states=0', 'ready_pending_key=', 'ready_disk_contents() { :; }'];
  const pendingKey = `ready_pending_key=$VM_WARM_FILE${READY_SUFFIXES.pendingKey}`;
  const files = [
    shWord(hostPath(r.system.image.store, false)),
    // Swapped after the restore, or read before the save.
    ...(r.installsAfterRestore ? [] : r.installs.map((_, i) => `"$${installVar(i)}"`)),
  ];
  return [
    'ready_states=1',
    `ready_disk_contents() { cat -- ${files.join(' ')}; }`,
    `case \${VM_WARM:-} in ready-save) ${pendingKey} ;; esac`,
  ];
}

/** The serial console as the kernel names it, e.g. ttyS0,115200n8. */
export function serialConsole(r: ResolvedMachine): string {
  return `${ARCH_PROFILES[r.arch].serial},115200n8`;
}

export function renderRunScript(r: ResolvedMachine): string {
  const prog = `run-${r.name}-vm`;
  const argv = buildQemuArgv(r);
  const efiTemplateFile = efiVarsTemplate(r);
  const efiTemplate = efiTemplateFile === undefined ? undefined : hostPath(efiTemplateFile, false);
  const lines: string[] = [
    '#!/bin/sh',
    `# ${prog}: starts the QEMU virtual machine "${r.name}".`,
    '# Generated by nx-qemu-vm from workspace-vm.json. Do not edit; rebuild with',
    `#   npx nx run ${r.name}:build`,
    '#',
    '# Environment (all optional):',
    `#   ${ROOT_DISK_ENV.join(', ').padEnd(31)}root disk; default: diskImage in workspace-vm.json`,
    `#   ${EFI_VARS_ENV.join(', ').padEnd(31)}writable EFI variable store`,
    "#   TMPDIR with USE_TMPDIR=1       keep this run's scratch files in $TMPDIR (default: a new directory)",
    '#   SHARED_DIR                     host directory mounted at /tmp/shared (default: $TMPDIR/xchg)',
    '#   QEMU_OPTS                      extra QEMU arguments, split on spaces',
    '#   QEMU_NET_OPTS                  extra user-network options, e.g. hostfwd=tcp:127.0.0.1:8080-:80',
    '#   QEMU_KERNEL_PARAMS             extra kernel parameters',
    "#   VM_WORKSPACE_ROOT              workspace root; default: found from this script's location",
    ...(r.network.vlans.length
      ? [
          '#   VM_VLAN_NET                    multicast group of the vlans, e.g. 230.1.2; default: from the workspace path',
        ]
      : []),
    '#   VM_STOP_TIMEOUT                seconds a clean power-off may take on SIGTERM/SIGINT/SIGHUP (default 10)',
    ...(r.qemu.accel === 'auto'
      ? ['#   VM_ACCEL                       kvm or tcg, skipping the KVM probe']
      : []),
    '# Arguments are passed to QEMU.',
    '# shellcheck disable=SC2317 # helpers that traps call, or that this machine does not need',
    '# shellcheck disable=SC2016,SC1003 # a $ or \\ in a single-quoted value from the config is literal',
    'set -eu',
    '# A closed stdout or stderr (the terminal or Nx gone) must not end this script',
    '# before it has stopped the machine: writes there fail instead.',
    "trap '' PIPE",
    `prog=${shQuote(prog)}`,
    shellFile('qemu/run-vm-lib.sh').trimEnd(),
    // check_qcow2 applies the stateful targets' qcow2 rules, in their words: it is
    // rendered from disk/disk-rules.ts, between the two files of static helpers.
    checkQcow2Sh(),
    shellFile('qemu/run-vm-processes.sh').trimEnd(),
    '',
    'script_dir=$(CDPATH=\'\' cd -- "$(dirname -- "$0")" && pwd -P)',
    'ws=${VM_WORKSPACE_ROOT:-$(CDPATH=\'\' cd -- "$script_dir/../../../.." && pwd -P)}',
    `need ${shQuote(r.qemu.binary)} ${r.qemu.debianPackage}`,
    'need qemu-img qemu-utils',
    'need flock util-linux',
    'need setpriv util-linux',
    'need setsid util-linux',
    'need mkfifo coreutils',
    ...(r.network.needsNetcat ? ['need nc netcat-openbsd'] : []),
    ...(r.qemu.accel === 'auto' ? ['need timeout coreutils'] : []),
    '',
    '# The root disk is created on first start and never replaced.',
    `disk_image_default=${shWord(hostPath(r.paths.diskImage, false))}`,
    `disk_image=$(abs_path "${shOverride(ROOT_DISK_ENV, '$disk_image_default')}")`,
    ...readyDisks(r),
    ...(r.diskSize === null
      ? [
          '[ -e "$disk_image" ] || die "root disk $disk_image does not exist, and diskSize is null so it is not created"',
        ]
      : [
          `[ -e "$disk_image" ] || create_disk "$disk_image" ${r.diskSize} ${shQuote(renderLayoutStamp(rootDiskLayout(r)!))} 'root disk'`,
        ]),
    `[ -f "$disk_image" ] || die "${notAFileMessage('root disk $(shown "$disk_image")', 'diskImage')}"`,
    ...(r.boot.loader ? [] : readableChecks(r)),
    '',
    "# The run's scratch directory (xchg, the control channel, overlays): a new",
    '# private one, removed when the machine stops, unless USE_TMPDIR says to use $TMPDIR.',
    'own_tmpdir=0',
    'if [ -z "${TMPDIR:-}" ] || [ -z "${USE_TMPDIR:-}" ]; then',
    '  TMPDIR=$(mktemp -d "${TMPDIR:-/tmp}/nx-qemu-vm.XXXXXXXXXX")',
    '  own_tmpdir=1',
    '  trap \'rm -rf -- "$TMPDIR"\' EXIT',
    'fi',
    'TMPDIR=$(abs_path "$TMPDIR")',
    'control_dir=$TMPDIR/control',
    'mkdir -p -- "$TMPDIR/xchg"',
  ];
  if (
    r.shares.some(
      (s) =>
        s.tag === 'shared' &&
        s.source.some((p) => typeof p !== 'string' && 'var' in p && p.var === 'shared_dir'),
    )
  )
    lines.push('shared_dir=$(abs_path "${SHARED_DIR:-$TMPDIR/xchg}")');
  // QEMU's own message for a missing share names its option syntax, not the config.
  for (const { option, path } of r.hostDirectories)
    lines.push(
      `[ -d ${shWord(hostPath(path, false))} ] || die ${shQuote(`the directory of ${option} does not exist: `)}${shWord(hostPath(path, false))}${shQuote('. Create it, or fix the option.')}`,
    );
  if (r.boot.loader)
    lines.push(
      '',
      '# Each run boots a throwaway overlay of the cached boot disk.',
      `boot_disk=${shWord(hostPath(r.paths.bootDisk, false))}`,
      `[ -e "$boot_disk" ] || die "boot disk $boot_disk is missing. Build it: npx nx run ${r.name}:boot-disk"`,
      'qemu-img create -q -f qcow2 -F qcow2 -b "$boot_disk" "$TMPDIR/disk.img"',
    );
  if (r.boot.efi && efiTemplate)
    lines.push(
      '',
      '# EFI variables must be writable; they persist between runs.',
      `efi_vars_default=${shWord(hostPath(r.paths.efiVars, false))}`,
      `efi_vars=$(abs_path "${shOverride(EFI_VARS_ENV, '$efi_vars_default')}")`,
      'if [ ! -e "$efi_vars" ]; then',
      `  efi_template=${shWord(efiTemplate)}`,
      `  [ -e "$efi_template" ] || die "EFI variable template $efi_template is missing.${r.boot.loader ? ` Build it: npx nx run ${r.name}:boot-disk` : ''}"`,
      '  mkdir -p -- "$(dirname -- "$efi_vars")"',
      '  cp -- "$efi_template" "$efi_vars.tmp-$$"',
      '  chmod 0644 -- "$efi_vars.tmp-$$"',
      '  publish_new "$efi_vars.tmp-$$" "$efi_vars" || :',
      'fi',
    );
  const empties = emptyDiskLayouts(r);
  r.paths.emptyDisks.forEach((path, i) => {
    if (i === 0)
      lines.push('', '# Empty data disks are created once and kept, like the root disk.');
    lines.push(`empty${i}=${shWord(hostPath(path, false))}`);
    // Saving a warm state touches none of the user's disks, and a ready state
    // has its own beside it (see run-vm-warm.sh).
    if (r.warmStart === 'ready')
      lines.push(
        `case \${VM_WARM:-} in save) empty${i}=$TMPDIR/warm-empty${i}.qcow2 ;; ready-*) empty${i}=$VM_WARM_FILE${READY_SUFFIXES.empty(i)} ;; esac`,
      );
    else if (r.warmStart)
      lines.push(`if [ "\${VM_WARM:-}" = save ]; then empty${i}=$TMPDIR/warm-empty${i}.qcow2; fi`);
    lines.push(
      `[ -e "$empty${i}" ] || create_disk "$empty${i}" ${empties[i].sizeMiB} ${shQuote(renderLayoutStamp(empties[i]))} 'empty disk'`,
    );
  });
  r.installs.forEach((install, i) => {
    const v = installVar(i);
    if (i === 0)
      lines.push(
        '',
        "# The workspace's files (install): read-only images the install target builds.",
      );
    lines.push(`${v}=${shWord(hostPath(install.image, false))}`);
    // A warm state is saved before any disk is read: it holds none of these files.
    if (r.warmStart)
      lines.push(
        `if [ "\${VM_WARM:-}" = save ]; then ${v}=$TMPDIR/warm-${v}.erofs; : >"$${v}"; fi`,
      );
    lines.push(
      `[ -r "$${v}" ] || die ${shQuote(`the files of ${install.target} for ${install.to} (`)}"$${v}"${shQuote(`) are missing. Build them: npx nx run ${r.name}:install`)}`,
    );
    // One size whatever the image's: a ready state's guest learned it before its save.
    if (r.installsAfterRestore)
      lines.push(
        `qemu-img create -q -f qcow2 -F raw -b "$${v}" "$TMPDIR/${v}.qcow2" ${INSTALL_DISK_SIZE}`,
        `${v}=$TMPDIR/${v}.qcow2`,
      );
  });
  if (r.network.vlans.length)
    lines.push(
      '',
      "# The workspace's vlans are its own: their multicast group comes from its path,",
      '# unless VM_VLAN_NET names another (the test API gives each set of machines its own).',
      `${VLAN_NET_VAR}=\${VM_VLAN_NET:-$(printf '%s' "$ws" | cksum | awk '{ printf "230.%d.%d", int($1 / 256) % 256, $1 % 256 }')}`,
      `check_vlan_net "$${VLAN_NET_VAR}"`,
    );
  lines.push('', accelChoice(r), ...tcgKernelParams(r));
  if (r.graphics)
    lines.push(
      '',
      '# No display: run on the serial port, and make it the preferred console,',
      '# unless the arguments choose a display (the test API passes -display none).',
      'if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && ! has_arg -display "$@"; then',
      '  set -- -nographic "$@"',
      `  QEMU_KERNEL_PARAMS="\${QEMU_KERNEL_PARAMS:-} console=${serialConsole(r)}"`,
      'fi',
    );
  if (r.warmStart)
    lines.push(
      '',
      shAssignments({
        machine: r.name,
        qemu_binary: r.qemu.binary,
        fw_cfg_warm: FW_CFG_WARM,
      }).trimEnd(),
      ...readyDiskContents(r),
      shellFile('qemu/run-vm-warm.sh').trimEnd(),
    );
  const escaped = escapedVarsUsed(argv);
  lines.push(
    '',
    ...escaped.map((v) => `${escapedVar(v)}=$(qemu_escape "$${v}")`),
    'cd -- "$TMPDIR"',
    '# The disks the guest writes to: is there room left on their file systems?',
    'check_disks() {',
    '  check_space "$disk_image"',
    ...r.paths.emptyDisks.map((_, i) => `  check_space "$empty${i}"`),
    '}',
    '# The QEMU command, in place of the subshell that calls it. setsid: in a',
    '# process group of its own, QEMU gets no signal meant for this script (a',
    "# terminal's Ctrl-C, timeout's TERM), which stops it cleanly instead; setpriv:",
    '# it dies with this script, however the script ends. env --block-signal: a',
    "# tree-kill (Nx's, on Ctrl-C, signals the leaves first) must not quit QEMU",
    '# under a running guest; the script powers the guest off instead.',
    'run_qemu() {',
    '  # shellcheck disable=SC2086,SC2016',
    '  exec setsid setpriv --pdeathsig KILL -- env --block-signal=INT,TERM,HUP -- ' +
      shArgvLines(argv).join(' \\\n    '),
    '}',
    shellFile('qemu/run-vm-main.sh').trimEnd(),
    '',
  );
  return lines.join('\n');
}
