// The golden cases under src/qemu/golden: each directory holds a complete
// workspace-vm.json (config.json), optionally the extra files its fake host has
// (fake-host.json, e.g. a BIOS or initrd the config names), and the committed
// outputs of every machine. Shared by golden.spec.ts (pure, fake host) and
// qemu-accepts.spec.ts (real host, real QEMU).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { HostFacts } from '../../src/host/host-facts';
import { type ResolvedMachine, resolveConfig } from '../../src/config/resolve';
import { type ValidConfig, validateConfig } from '../../src/config/validate';
import { buildQemuArgv } from '../../src/qemu/argv';
import { renderRunScript } from '../../src/qemu/run-script';
import { renderArgvListing } from '../../src/quote/argv-words';
import { fakeHost } from './fake-host';

export const GOLDEN_DIR = join(__dirname, '..', 'fixtures', 'golden');

/** Inputs of a case; every other file in its directory is an expected output. */
export const CASE_INPUTS = ['config.json', 'fake-host.json'];

/** A machine as written in a case's config.json, with the fields tests rewrite. */
export type RawMachine = Record<string, unknown> & {
  qemu?: { drives?: { file: string }[] };
  sharedDirectories?: Record<string, { source: string }>;
  store?: { source?: string };
};

export interface GoldenCase {
  name: string;
  dir: string;
  /** config.json exactly as written (no defaults filled). */
  raw: { machines: Record<string, RawMachine> };
  /** Paths that exist on this case's fake host besides the kernels and OVMF/AAVMF. */
  hostFiles: string[];
}

export function listGoldenCases(): GoldenCase[] {
  return readdirSync(GOLDEN_DIR, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort()
    .map((name) => {
      const dir = join(GOLDEN_DIR, name);
      const readJson = (file: string) => JSON.parse(readFileSync(join(dir, file), 'utf8'));
      const extra = existsSync(join(dir, 'fake-host.json'))
        ? (readJson('fake-host.json') as { files?: string[] })
        : {};
      return { name, dir, raw: readJson('config.json'), hostFiles: extra.files ?? [] };
    });
}

export function validateCase(c: GoldenCase): ValidConfig {
  return validateConfig(c.raw, `golden/${c.name}/config.json`);
}

export function resolveCase(
  c: GoldenCase,
  host: HostFacts = fakeHost({ files: c.hostFiles }),
): Record<string, ResolvedMachine> {
  return resolveConfig(validateCase(c), host);
}

/**
 * Names of the expected files. A one-machine case keeps the plain
 * `expected.argv`; with several machines each gets `expected.<name>.argv`.
 * Run scripts are always `run-<name>-vm`, the name they are built under.
 */
export function argvFileName(machine: string, machineCount: number): string {
  return machineCount === 1 ? 'expected.argv' : `expected.${machine}.argv`;
}

/** Renders every expected output of a case, file name -> text. */
export function renderGoldenCase(c: GoldenCase): Map<string, string> {
  const resolved = Object.values(resolveCase(c));
  const out = new Map<string, string>();
  for (const r of resolved) {
    // Files end in a newline so that editors and `git diff` treat them kindly.
    out.set(argvFileName(r.name, resolved.length), renderArgvListing(buildQemuArgv(r)) + '\n');
    out.set(`run-${r.name}-vm`, renderRunScript(r));
  }
  return out;
}

/** Files in a case directory that are outputs (so stale ones can be found). */
export function outputFilesOnDisk(c: GoldenCase): string[] {
  return readdirSync(c.dir)
    .filter((f) => !CASE_INPUTS.includes(f))
    .sort();
}
