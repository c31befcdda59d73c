// `"affected": { "legacy": true }` in nx.json (the Nx 23->24 migration writes
// it) makes `nx affected` select whole projects by the files inside their
// roots. workspace-vm.json lies in no project's root, so an edit to a machine
// then selects nothing at all: no machine, no test that boots one, and no
// error either. Seen with Nx 24.0.6: `nx show projects --affected` (with or
// without -t) and `nx affected -t config` or `-t test` select nothing after a
// change to a machine, where without the key they select that machine's
// targets and the tests that depend on them. We only say so: nx.json is the
// user's, and the key may be there on purpose.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_FILE } from '../config/load';
import { warnOnce } from './warn-once';

/** The warning for this parsed nx.json, or undefined when legacy affected is off. */
export function affectedLegacyWarning(nxJson: unknown): string | undefined {
  const affected = (nxJson as { affected?: unknown } | null | undefined)?.affected;
  if (!affected || typeof affected !== 'object') return undefined;
  // Nx tests the key for truth (`!nxJson.affected?.legacy`), so we do too.
  if (!(affected as { legacy?: unknown }).legacy) return undefined;
  return [
    `nx-qemu-vm: nx.json sets "affected": { "legacy": true } (the Nx 24 migration writes it).`,
    `In that mode \`nx affected\` picks projects by the files inside their roots, and ${CONFIG_FILE} is in none:`,
    `a change to a machine selects no machine and no task that depends on one, without any error`,
    `(\`nx affected -t <target>\` and \`nx show projects --affected\` leave them out).`,
    `Fix: remove "legacy" from "affected" in nx.json, or set it to false; NX_LEGACY_AFFECTED=false does so for one command.`,
  ].join('\n');
}

/** nx.json as Nx gave it to the plugin, or read from the workspace root when it did not. */
function nxJsonOf(workspaceRoot: string, given: unknown): unknown {
  if (given) return given;
  try {
    return JSON.parse(readFileSync(join(workspaceRoot, 'nx.json'), 'utf8'));
  } catch {
    return undefined; // no nx.json, or one Nx itself will complain about
  }
}

/** Prints the warning, once per process, when nx.json asks for legacy affected. */
export function warnIfAffectedLegacy(workspaceRoot: string, nxJson?: unknown): void {
  const warning = affectedLegacyWarning(nxJsonOf(workspaceRoot, nxJson));
  if (warning) warnOnce(warning);
}
