// Which kernel modules the initrd must carry, and in what order stage 1 loads
// them. The answer comes from the index files depmod writes next to the
// modules, read the way modprobe reads them, so the guest needs no modprobe
// and no depmod run of its own: busybox insmod in the planned order suffices.
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { runToolBuffer } from '../host/run-tool';
import { hasElfMagic } from '../formats/elf';
import { SETUP_BASE, readX86BootHeader } from '../formats/x86-boot-header';

export interface KernelModule {
  /** Normalised name ("-" written as "_"). */
  name: string;
  /** As written in modules.dep: relative to the modules directory. */
  path: string;
  /** Hard dependencies (normalised names), in modules.dep order. */
  deps: readonly string[];
}

export interface ModuleIndex {
  modules: ReadonlyMap<string, KernelModule>;
  /** Normalised names of modules compiled into the kernel image. */
  builtin: ReadonlySet<string>;
  /** Module -> names or aliases to load before (pre) and after (post) it. */
  softdeps: ReadonlyMap<string, { pre: readonly string[]; post: readonly string[] }>;
  /** Exact (wildcard-free) alias -> module names, in modules.alias order. */
  aliases: ReadonlyMap<string, readonly string[]>;
}

export interface ModulePlan {
  /** In load order: every module after the ones it needs. */
  load: { name: string; path: string; optional: boolean }[];
  /** Wanted modules that are built in (normalised names): nothing to load. */
  builtin: string[];
  /** Wanted names found neither as modules nor built in, as the caller spelt them. */
  missing: string[];
}

/** The kernel treats "-" and "_" in module names as the same character. */
export function normaliseModuleName(name: string): string {
  return name.replace(/-/g, '_');
}

export function moduleNameFromPath(path: string): string {
  return normaliseModuleName(basename(path).replace(/\.ko(\.(xz|zst|gz))?$/, ''));
}

function lines(text: string): string[][] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split(/\s+/));
}

export function parseModuleIndex(text: {
  dep: string;
  builtin: string;
  softdep: string;
  alias: string;
}): ModuleIndex {
  const modules = new Map<string, KernelModule>();
  for (const [head, ...deps] of lines(text.dep)) {
    if (!head.endsWith(':'))
      throw new Error(`modules.dep: expected "path: deps..." but found ${JSON.stringify(head)}`);
    const path = head.slice(0, -1);
    const name = moduleNameFromPath(path);
    // depmod lists a name once; if an override directory shadowed it, the
    // first line is the one modprobe uses.
    if (!modules.has(name)) modules.set(name, { name, path, deps: deps.map(moduleNameFromPath) });
  }

  const builtin = new Set(lines(text.builtin).map(([path]) => moduleNameFromPath(path)));

  const softdeps = new Map<string, { pre: string[]; post: string[] }>();
  for (const [keyword, module, ...rest] of lines(text.softdep)) {
    if (keyword !== 'softdep' || module === undefined) continue;
    const entry = softdeps.get(normaliseModuleName(module)) ?? { pre: [], post: [] };
    // Names before the first "pre:"/"post:" belong to neither list, and
    // modprobe ignores them; so do we. Several lines for one module add up,
    // since depmod writes one line per MODULE_SOFTDEP in the module.
    let list: string[] | undefined;
    for (const token of rest) {
      if (token === 'pre:') list = entry.pre;
      else if (token === 'post:') list = entry.post;
      else list?.push(normaliseModuleName(token));
    }
    softdeps.set(normaliseModuleName(module), entry);
  }

  const aliases = new Map<string, string[]>();
  for (const [keyword, pattern, module] of lines(text.alias)) {
    // Wildcard aliases match hardware ids, which only udev needs; softdeps
    // name plain aliases such as crypto-crc32c.
    if (keyword !== 'alias' || module === undefined || /[*?[]/.test(pattern)) continue;
    const key = normaliseModuleName(pattern);
    const names = aliases.get(key) ?? [];
    const name = normaliseModuleName(module);
    if (!names.includes(name)) names.push(name);
    aliases.set(key, names);
  }
  return { modules, builtin, softdeps, aliases };
}

export function readModuleIndex(modulesDir: string): ModuleIndex {
  const read = (file: string) => readFileSync(join(modulesDir, file), 'utf8');
  return parseModuleIndex({
    dep: read('modules.dep'),
    builtin: read('modules.builtin'),
    softdep: read('modules.softdep'),
    alias: read('modules.alias'),
  });
}

/**
 * A softdep names a module or an alias; like modprobe, a real module name
 * wins, otherwise every module carrying that exact alias is a candidate.
 * Built-in candidates need no loading, and unresolvable ones are skipped:
 * a soft dependency is a wish, not a requirement.
 */
function softdepCandidates(index: ModuleIndex, name: string): string[] {
  if (index.modules.has(name)) return [name];
  if (index.builtin.has(name)) return [];
  return (index.aliases.get(name) ?? []).filter((m) => index.modules.has(m));
}

export function planModules(index: ModuleIndex, wanted: readonly string[]): ModulePlan {
  const roots: string[] = [];
  const builtin: string[] = [];
  const missing: string[] = [];
  for (const raw of wanted) {
    const name = normaliseModuleName(raw);
    const list = index.modules.has(name) ? roots : index.builtin.has(name) ? builtin : missing;
    const entry = list === missing ? raw : name;
    if (!list.includes(entry)) list.push(entry);
  }

  const hardDeps = (name: string) => {
    const deps = index.modules.get(name)!.deps;
    // Silently dropping one would only surface as an insmod failure in the guest.
    const lost = deps.find((d) => !index.modules.has(d));
    if (lost)
      throw new Error(
        `modules.dep: ${name} depends on ${lost}, which has no line of its own; run depmod for this kernel`,
      );
    return deps;
  };
  const required = new Set<string>();
  const addRequired = (name: string) => {
    if (required.has(name)) return;
    required.add(name);
    hardDeps(name).forEach(addRequired);
  };
  roots.forEach(addRequired);

  // modprobe's order: a module's pre softdeps, then its dependencies (last
  // listed first, as modules.dep puts the deepest ones last), the module,
  // then its post softdeps. Mirroring it keeps us on the well-trodden path.
  const preferred: string[] = [];
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    const soft = index.softdeps.get(name);
    soft?.pre.flatMap((s) => softdepCandidates(index, s)).forEach(visit);
    [...hardDeps(name)].reverse().forEach(visit);
    preferred.push(name);
    soft?.post.flatMap((s) => softdepCandidates(index, s)).forEach(visit);
  };
  roots.forEach(visit);

  // Softdeps may form cycles (A pre: B, B post: A), which can pull a module
  // ahead of a hard dependency. Re-emitting with hard dependencies first
  // keeps the preferred order wherever it is consistent and fixes it where not.
  const load: ModulePlan['load'] = [];
  const emitted = new Set<string>();
  const emit = (name: string) => {
    if (emitted.has(name)) return;
    emitted.add(name);
    [...hardDeps(name)].reverse().forEach(emit);
    load.push({ name, path: index.modules.get(name)!.path, optional: !required.has(name) });
  };
  preferred.forEach(emit);
  return { load, builtin, missing };
}

/**
 * Returns a module as an uncompressed ELF object. Debian ships plain .ko
 * files, other kernels compress them; busybox insmod cannot decompress, so
 * the initrd must carry them uncompressed.
 */
export async function readModuleObject(modulesDir: string, relPath: string): Promise<Buffer> {
  const file = relPath.startsWith('/') ? relPath : join(modulesDir, relPath);
  let data: Buffer;
  if (file.endsWith('.ko')) data = readFileSync(file);
  else if (file.endsWith('.ko.gz')) data = gunzipSync(readFileSync(file));
  else if (file.endsWith('.ko.xz'))
    data = (await runToolBuffer('xz', ['-dc', '--', file], { debianPackage: 'xz-utils' })).stdout;
  else if (file.endsWith('.ko.zst'))
    data = (await runToolBuffer('zstd', ['-dcq', '--', file], { debianPackage: 'zstd' })).stdout;
  else throw new Error(`${file}: not a kernel module (expected .ko, .ko.xz, .ko.zst or .ko.gz)`);
  if (!hasElfMagic(data)) throw new Error(`${file}: does not decompress to an ELF object`);
  return data;
}

/** Room for the version string past the last place its pointer can put it. */
const VERSION_STRING_MAX = 256;

/** Reads the version out of an x86 bzImage header; undefined for anything else. */
export function kernelVersionFromHeader(head: Buffer): string | undefined {
  const header = readX86BootHeader(head);
  if ('why' in header || header.kernelVersionAt === undefined) return undefined;
  const start = header.kernelVersionAt;
  const end = head.indexOf(0, start);
  if (start >= head.length || end < 0) return undefined;
  // The string reads like "6.1.0-56-amd64 (debian-kernel@...) #1 SMP ...".
  const version = head.toString('latin1', start, end).split(' ')[0];
  return /^\d+\.\d+\S*$/.test(version) ? version : undefined;
}

/**
 * The kernel's release string, which names its /lib/modules directory.
 * Debian's file name says it (vmlinuz-<version>); any other name is read
 * from the image header, which only x86 images have.
 */
export function kernelVersionFromImage(imagePath: string): string | undefined {
  const fromName = /^vmlinu[xz]-(.+)$/.exec(basename(imagePath));
  if (fromName) return fromName[1];
  // The pointer is 16 bits, so the string starts within the first 64 KiB.
  const head = Buffer.alloc(SETUP_BASE + 0x10000 + VERSION_STRING_MAX);
  const fd = openSync(imagePath, 'r');
  try {
    const n = readSync(fd, head, 0, head.length, 0);
    return kernelVersionFromHeader(head.subarray(0, n));
  } finally {
    closeSync(fd);
  }
}
