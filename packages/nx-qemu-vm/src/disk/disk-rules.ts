// The rules and messages about a user's stateful files that both the run
// script (standalone sh, no node) and the stateful targets (root-disk,
// empty-disks, efi-vars) apply: which variables override their paths, and
// when an image is refused, in which words. Their one home: the run script's
// shell is rendered from here, and the targets call these functions.
import type { ResolvedMachine } from '../config/resolve';

/** Variables that override the root disk's path, the first set one winning. */
export const ROOT_DISK_ENV = ['VM_DISK_IMAGE', 'NIX_DISK_IMAGE'] as const;
/** Variables that override the EFI variable store's path, the first set one winning. */
export const EFI_VARS_ENV = ['VM_EFI_VARS', 'NIX_EFI_VARS'] as const;

/** The shell expansion of the first set variable of `names`, else `fallback` (a shell word). Pure. */
export function shOverride(names: readonly string[], fallback: string): string {
  return names.reduceRight((inner, name) => `\${${name}:-${inner}}`, fallback);
}

/**
 * The file a new EFI variable store is copied from: the boot disk's vars
 * (they hold its boot entry), else the firmware's empty template; undefined
 * without UEFI. A relative path is relative to the workspace root.
 */
export function efiVarsTemplate(r: ResolvedMachine): string | undefined {
  if (!r.boot.efi || !r.efi) return undefined;
  return r.boot.loader ? r.paths.bootDiskEfiVars : r.efi.varsTemplate;
}

/** The first bytes of every qcow2 image, in hex. */
export const QCOW2_MAGIC = '514649fb';

/** `qemu-img check` statuses that let an image serve: 0 clean, 3 leaked clusters only. */
export const QCOW2_CHECK_USABLE: readonly number[] = [0, 3];
/** The `qemu-img check` status that says the image is corrupt. */
export const QCOW2_CHECK_DAMAGED = 2;

// Each message takes its parts as text, so the shell renders them with shell
// expansions (e.g. `$2 $(shown "$1")`) and the targets with values.

/** `label` names the image for people, e.g. "root disk .vm/vm/vm.qcow2"; `image` is its full path. */
export const notQcow2Message = (label: string, image: string) =>
  `${label} is not a qcow2 image (its first bytes say otherwise); it was left as it is. Move it away to start afresh, or convert it: qemu-img convert -O qcow2 ${image} <new image>.`;

/** `findings`: what qemu-img check found, e.g. "corruptions" or "2 corruptions". */
export const damagedMessage = (label: string, image: string, findings: string) =>
  `${label} is damaged: qemu-img check finds ${findings} (truncated, or written by something other than QEMU). It was left as it is. Keep a copy, then repair it with: qemu-img check -r all ${image}; or move it away to start afresh.`;

/** `reason`: the first line of qemu-img's complaint. */
export const unreadableMessage = (label: string, reason: string) =>
  `${label} cannot be read as a qcow2 image: ${reason}`;

/** `option`: what the user points at another image, e.g. "diskImage". */
export const notAFileMessage = (label: string, option: string) =>
  `${label} is not a file. Move it away (a new disk is made) or point ${option} at a qcow2 image.`;

/** The run script's check_qcow2 IMAGE LABEL, which applies the rules above before QEMU opens a disk. */
export function checkQcow2Sh(): string {
  const label = '$2 $(shown "$1")';
  return [
    '# check_qcow2 IMAGE LABEL: refuses an image that is not qcow2, or damaged,',
    '# naming the repair (qemu-img check reads it, and never writes).',
    'check_qcow2() {',
    `  magic=$(od -An -N4 -tx1 "$1" 2>/dev/null | tr -d ' \\n')`,
    `  [ "$magic" = ${QCOW2_MAGIC} ] ||`,
    `    die "${notQcow2Message(label, '$1')}"`,
    '  check_status=0',
    '  check_log=$(qemu-img check -f qcow2 "$1" 2>&1) || check_status=$?',
    '  case $check_status in',
    '    # 3: leaked clusters only, which waste space and harm nothing.',
    `    ${QCOW2_CHECK_USABLE.join(' | ')}) ;;`,
    `    ${QCOW2_CHECK_DAMAGED}) die "${damagedMessage(label, '$1', 'corruptions')}" ;;`,
    `    *) die "${unreadableMessage(label, `$(printf '%s\\n' "$check_log" | head -n 1)`)}" ;;`,
    '  esac',
    '}',
  ].join('\n');
}
