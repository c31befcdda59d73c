// The tests the e2e generator writes, checked as code without booting: the
// node:test one runs under `node --test` (its target's command) against a
// stand-in for nx-qemu-vm/testing; the Vitest one type-checks against the real
// nx-qemu-vm/testing types; the Jest one parses. Real boots through the
// generated test: see the e2e generator check in test/e2e/generators.spec.ts.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import ts from 'typescript';
import { type Tree, readNxJson, updateNxJson, writeJson } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { REPO_ROOT } from '../../../test/helpers/temp-workspace';
import { PLUGIN_NAME } from '../init/setup';
import { RUNNERS, type Runner } from './e2e-target';
import { e2eGenerator } from './generator';

/** A machine set whose machines answer as booted ones would; FAKE_WRONG_HOST names one that answers wrongly. */
const STAND_IN = `
export async function startMachines(names) {
  console.log('FAKE started ' + names.join(','));
  const machine = (name) => ({
    succeed: async (cmd) =>
      cmd === 'hostname' ? (process.env.FAKE_WRONG_HOST === name ? 'other' : name) + '\\n'
      : cmd === 'uname -r' ? '6.1.0-37-amd64\\n' : '',
    waitForService: async (service) => console.log('FAKE waited ' + name + '/' + service),
  });
  return {
    machines: Object.fromEntries(names.map((n) => [n, machine(n)])),
    shutdown: async () => console.log('FAKE shutdown'),
  };
}
`;

async function generated(runner: Runner, machines: Record<string, object>): Promise<Tree> {
  const tree = createTreeWithEmptyWorkspace({ formatter: 'none' });
  writeJson(tree, 'workspace-vm.json', { machines });
  updateNxJson(tree, { ...readNxJson(tree), plugins: [PLUGIN_NAME] });
  await e2eGenerator(tree, { project: 'api-e2e', machines: Object.keys(machines), runner });
  return tree;
}

describe('the tests the e2e generator writes', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('node:test: passes against answering machines, waits for services, and fails on a wrong answer', async () => {
    const tree = await generated('node', { server: { services: { web: {} } }, 'db-1': {} });
    const ws = mkdtempSync(join(tmpdir(), 'nxvm-e2e-gen-'));
    dirs.push(ws);
    for (const change of tree.listChanges()) {
      mkdirSync(dirname(join(ws, change.path)), { recursive: true });
      writeFileSync(join(ws, change.path), change.content!);
    }
    const pkg = join(ws, 'node_modules/nx-qemu-vm');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(join(pkg, 'package.json'), '{"exports":{"./testing":"./testing.mjs"}}');
    writeFileSync(join(pkg, 'testing.mjs'), STAND_IN);

    const runTarget = (env: Record<string, string> = {}) => {
      const [bin, ...args] = RUNNERS.node.command.split(' ');
      // A nested node --test must not think it reports to this one.
      const { NODE_TEST_CONTEXT: _, ...parentEnv } = process.env;
      const res = spawnSync(bin === 'node' ? process.execPath : bin, args, {
        cwd: join(ws, 'api-e2e'),
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...parentEnv, ...env },
      });
      return { status: res.status, output: res.stdout + res.stderr };
    };
    const good = runTarget();
    assert.equal(good.status, 0, good.output);
    assert.match(good.output, /FAKE started server,db-1/);
    assert.match(good.output, /FAKE waited server\/web/);
    assert.match(good.output, /# pass 2\n/);
    assert.match(good.output, /FAKE shutdown/);

    const bad = runTarget({ FAKE_WRONG_HOST: 'db-1' });
    assert.notEqual(bad.status, 0);
    assert.match(bad.output, /# pass 1\n# fail 1\n/);
    assert.match(bad.output, /FAKE shutdown/, 'the machines stop after a failure too');
  });

  it('Vitest: type-checks against the real nx-qemu-vm/testing types', async () => {
    // Machines without services: waitForService is not in the Machine type yet.
    const tree = await generated('vitest', { server: {}, 'db-1': {} });
    const file = join(REPO_ROOT, 'api-e2e/src/machines.e2e.test.ts');
    const text = tree.read('api-e2e/src/machines.e2e.test.ts', 'utf8')!;
    const vitestStub = join(REPO_ROOT, 'vitest-stub.d.ts');
    const stub = `declare module 'vitest' {
      type Fn = () => unknown;
      export function describe(name: string, fn: Fn): void;
      export function it(name: string, options: { timeout: number }, fn: Fn): void;
      export function beforeAll(fn: Fn, timeout: number): void;
      export function afterAll(fn: Fn): void;
      export function expect(value: unknown): { toBe(v: unknown): void; toMatch(r: RegExp): void };
    }`;
    const options: ts.CompilerOptions = {
      strict: true,
      noEmit: true,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      lib: ['lib.es2022.d.ts', 'lib.esnext.disposable.d.ts'],
      types: ['node'],
      typeRoots: [join(REPO_ROOT, 'node_modules/@types')],
      skipLibCheck: true,
      esModuleInterop: true,
      resolveJsonModule: true,
      baseUrl: REPO_ROOT,
      paths: { 'nx-qemu-vm/testing': ['packages/nx-qemu-vm/src/test-driver/index.ts'] },
    };
    const host = ts.createCompilerHost(options);
    const virtual: Record<string, string> = { [file]: text, [vitestStub]: stub };
    const getSourceFile = host.getSourceFile.bind(host);
    const fileExists = host.fileExists.bind(host);
    const readFile = host.readFile.bind(host);
    host.fileExists = (f) => f in virtual || fileExists(f);
    host.readFile = (f) => virtual[f] ?? readFile(f);
    host.getSourceFile = (f, v, ...rest) =>
      f in virtual ? ts.createSourceFile(f, virtual[f], v) : getSourceFile(f, v, ...rest);
    const program = ts.createProgram([file, vitestStub], options, host);
    const sourceFile = program.getSourceFile(file)!;
    // Only the generated file's own problems: the rest of the tree is type-checked by tsc -p.
    const problems = [
      ...program.getSyntacticDiagnostics(sourceFile),
      ...program.getSemanticDiagnostics(sourceFile),
    ].map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    assert.deepEqual(problems, []);
  });

  it('Jest: the test and its config parse as CommonJS', async () => {
    const tree = await generated('jest', { server: { services: { web: {} } } });
    for (const path of ['api-e2e/src/machines.e2e.test.cjs', 'api-e2e/jest.e2e.config.cjs']) {
      const res = spawnSync(process.execPath, ['--check', '-'], {
        input: tree.read(path, 'utf8')!,
        encoding: 'utf8',
      });
      assert.equal(res.status, 0, `${path}: ${res.stderr}`);
    }
  });
});
