// The repository's layer rule: the README's "Layers" block lists the folders
// (and the few files at the top of src/) from top to bottom, and an import may
// only run sideways (within one entry) or down. The README is the one home of
// the order; this reads it, so that the text a newcomer reads is the rule the
// tests enforce.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

export const ROOT = join(__dirname, '..');
const SRC = 'packages/nx-qemu-vm/src';

/** The entries of the README's layer block, top first: paths from the repository root. */
export function readLayerOrder(readme: string): string[] {
  const start = readme.indexOf('<!-- layers:begin -->');
  const end = readme.indexOf('<!-- layers:end -->');
  if (start < 0 || end < start) throw new Error('README.md has no <!-- layers:begin/end --> block');
  return readme
    .slice(start, end)
    .split('\n')
    .map((line) => /^ {2}(\S+)\s{2,}/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined)
    .map((name) => name.replace(/\/$/, ''))
    .map((name) => (/^(tools|bench)(\/|$)/.test(name) ? name : `packages/nx-qemu-vm/${name}`));
}

/** Every TypeScript file under `dir` (a path from the root), node_modules and fixtures left out. */
function* sources(dir: string): Generator<string> {
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'fixtures') continue;
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) yield* sources(path);
    else if (/\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts')) yield path;
  }
}

/**
 * The repository files a file uses: its relative imports, and in the package
 * the static files it reads at run time, by `shellFile('guest/x.sh')` or
 * `join(__dirname, '..', 'guest', ...)`, which are dependencies the type
 * checker does not see. Imports of packages are not ours, except the package
 * itself by name ('nx-qemu-vm'), which tsconfig maps to src/index.ts: from
 * inside src/ that would reach the top layer, so it counts as src/index.ts.
 */
export function importsOf(file: string, text: string): string[] {
  const info = ts.preProcessFile(text, true, true);
  const specifiers = info.importedFiles.map((f) => f.fileName);
  const inSrc = file.startsWith(`${SRC}/`);
  if (inSrc) {
    const fromSrc = relative(dirname(join(ROOT, file)), join(ROOT, SRC)) || '.';
    for (const m of text.matchAll(/shellFile\('([^']+)'\)/g)) specifiers.push(`${fromSrc}/${m[1]}`);
    for (const m of text.matchAll(/join\(__dirname, '\.\.', '([a-z-]+)', '([^']+)'\)/g))
      specifiers.push(`../${m[1]}/${m[2]}`);
  }
  const out: string[] = [];
  for (const fileName of specifiers) {
    if (inSrc && /^nx-qemu-vm(\/|$)/.test(fileName)) {
      out.push(`${SRC}/index.ts`);
      continue;
    }
    if (!fileName.startsWith('.')) continue;
    const base = resolve(ROOT, dirname(file), fileName);
    const found = [`${base}.ts`, `${base}.d.ts`, join(base, 'index.ts'), base].find(
      (f) => existsSync(f) && statSync(f).isFile(),
    );
    out.push(
      relative(ROOT, found ?? base)
        .split(sep)
        .join('/'),
    );
  }
  return out;
}

/**
 * The layer entry a file belongs to: the longest entry that is it, holds it,
 * or matches it with `*` standing for one path segment. A spec belongs where
 * the file it tests does.
 */
function entryOf(file: string, order: readonly string[]): string | undefined {
  const subject = file.replace(/\.spec\.ts$/, '.ts');
  const matches = (entry: string) => {
    const pattern = entry.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]+');
    return new RegExp(`^${pattern}(/|$)`).test(subject);
  };
  return order.filter(matches).sort((a, b) => b.length - a.length)[0];
}

export interface LayerReport {
  files: number;
  imports: number;
  /** Imports that run up the order, or reach a file no entry names. */
  violations: string[];
  /** Import cycles among the package's own files (specs left out). */
  cycles: string[][];
}

/**
 * Checks every file of the package, the tools and the benchmarks against the
 * order. A spec may also import the package's test helpers and fixtures
 * (`test/`), which sit above everything it tests.
 */
export function checkLayers(order: readonly string[]): LayerReport {
  const rank = (file: string) => {
    const e = entryOf(file, order);
    return e === undefined ? -1 : order.indexOf(e);
  };
  const files = [
    ...sources(SRC),
    ...sources('packages/nx-qemu-vm/test'),
    ...sources('tools'),
    ...sources('bench'),
  ];
  const graph = new Map<string, string[]>();
  const violations: string[] = [];
  let imports = 0;
  for (const file of files) {
    const targets = importsOf(file, readFileSync(join(ROOT, file), 'utf8'));
    graph.set(file, targets);
    const from = rank(file);
    if (from < 0) violations.push(`${file}: in no layer of the README's list`);
    for (const target of targets) {
      imports++;
      const to = rank(target);
      const isSpec = file.endsWith('.spec.ts');
      if (isSpec && target.startsWith('packages/nx-qemu-vm/test/')) continue;
      if (to < 0) violations.push(`${file} -> ${target}: in no layer of the README's list`);
      else if (to < from)
        violations.push(
          `${file} -> ${target}: ${entryOf(file, order)} imports ${entryOf(target, order)}, which is above it`,
        );
    }
  }
  const production = (f: string) => f.startsWith(`${SRC}/`) && !f.endsWith('.spec.ts');
  return { files: files.length, imports, violations, cycles: findCycles(graph, production) };
}

/** Cycles among the files `keep` selects, each once, by depth-first search. */
function findCycles(graph: Map<string, string[]>, keep: (f: string) => boolean): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[][] = [];
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (!keep(next)) continue;
      if (state.get(next) === 'open') cycles.push(stack.slice(stack.indexOf(next)));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of [...graph.keys()].filter(keep).sort()) if (!state.has(file)) visit(file);
  return cycles;
}

if (require.main === module) {
  const order = readLayerOrder(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  const report = checkLayers(order);
  console.log(`${report.files} files, ${report.imports} imports, ${order.length} layers`);
  for (const v of report.violations) console.log(`upward: ${v}`);
  for (const c of report.cycles) console.log(`cycle: ${c.join(' -> ')}`);
  process.exitCode = report.violations.length + report.cycles.length ? 1 : 0;
}
