// What the e2e generator writes, as data: the target that runs a project's
// machine tests, and per test runner its command, its devDependencies and the
// values its templates (files/<runner>/) are rendered with. Pure: no tree.
import type { TargetConfiguration } from '@nx/devkit';
import type { E2EGeneratorSchema } from './schema';

export type Runner = NonNullable<E2EGeneratorSchema['runner']>;

export interface RunnerSetup {
  /** Run in the project's root, so each runner finds the project's test files and nothing else. */
  command: string;
  /** Added to the workspace's devDependencies when missing (an existing version is kept). */
  devDependencies: Record<string, string>;
}

/**
 * Versions are those package.spec.ts proves nx-qemu-vm/testing with on Node
 * 20 and 22: Vitest 4.1 with Vite 8.3 (Vitest installs Vite as a peer, and a
 * newer major may drop Node 20), and Jest 30.5.
 */
export const RUNNERS: Record<Runner, RunnerSetup> = {
  // Node 20 takes no glob: with no path, `node --test` runs every *.test.mjs
  // (and Node's other test file names) under the working directory.
  node: { command: 'node --test', devDependencies: {} },
  vitest: {
    command: 'vitest run --config vitest.e2e.config.mjs',
    devDependencies: { vitest: '~4.1.12', vite: '~8.3.8' },
  },
  jest: {
    command: 'jest --config jest.e2e.config.cjs',
    devDependencies: { jest: '~30.5.2' },
  },
};

export const RUNNER_NAMES = Object.keys(RUNNERS) as Runner[];

/**
 * The test target. dependsOn builds every machine a boot needs first; the
 * `dependentTasksOutputFiles` input (transitive: `prepare` itself has no
 * outputs, the steps under it do) puts every machine change into the hash, so
 * the cache and `nx affected -t` see it, as the README's "A test target" shows.
 * A cached result replays without booting anything.
 */
export function e2eTarget(
  runner: Runner,
  machines: readonly string[],
  prepareTarget: string,
): TargetConfiguration {
  return {
    executor: 'nx:run-commands',
    options: { command: RUNNERS[runner].command, cwd: '{projectRoot}' },
    dependsOn: [{ projects: [...machines], target: prepareTarget }],
    inputs: ['default', { dependentTasksOutputFiles: '**/*', transitive: true }],
    outputs: [],
    cache: true,
  };
}

/** A JavaScript string literal in single quotes, for names the templates print into code. */
export function quote(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
}

export interface MachineTemplateData {
  name: string;
  /** A variable name for it: machine names may hold `-` or start with a digit. */
  id: string;
  /** How to pick it from `vms.machines`: `.server` or `['db-1']`. */
  access: string;
  /** Names of its `services` in workspace-vm.json, each awaited before its checks. */
  services: string[];
}

/** Words a machine's variable must not be: JavaScript's reserved words and the templates' own names. */
const TAKEN = new Set(
  (
    'arguments await break case catch class const continue debugger default delete do else enum ' +
    'eval export extends false finally for function if implements import in instanceof interface ' +
    'let new null package private protected public return static super switch this throw true ' +
    'try typeof var void while with yield undefined ' +
    'after afterAll assert before beforeAll describe expect it module require startMachines test vms'
  ).split(' '),
);

export function machineTemplateData(name: string, services: string[]): MachineTemplateData {
  const camel = name
    .replace(/[-_]+([a-z0-9])/g, (_, c: string) => c.toUpperCase())
    .replace(/-/g, '');
  const id = /^[0-9]/.test(camel) ? `vm${camel}` : TAKEN.has(camel) ? `${camel}Vm` : camel;
  const access = /^[a-z_$][\w$]*$/i.test(name) ? `.${name}` : `[${quote(name)}]`;
  return { name, id, access, services };
}

/** Everything the templates print, so a template holds no logic beyond loops. */
export function templateData(
  project: string,
  target: string,
  machines: Array<{ name: string; services: string[] }>,
) {
  const names = machines.map((m) => m.name);
  return {
    project,
    target,
    machineList: names.join(', '),
    names: `[${names.map(quote).join(', ')}]`,
    union: names.map(quote).join(' | '),
    machines: machines.map((m) => machineTemplateData(m.name, m.services)),
    quote,
  };
}
