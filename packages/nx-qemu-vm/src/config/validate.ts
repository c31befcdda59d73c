// Schema validation (ajv) followed by the checks a schema cannot express.
// Every problem in the file is reported at once; nothing downstream runs on
// a config that has any.
import Ajv, { type ErrorObject } from 'ajv';
import { closest, distance } from 'fastest-levenshtein';
import schema from '../../workspace-vm.schema.json';
import { ConfigError, type ConfigIssue, jsonPath } from './errors';
import type { ValidMachine } from './valid-machine';
import { checkMachine } from './machine-checks';
import { nestingIssue } from './nesting';
import { vlanCapacityIssues } from './network';

export interface ValidConfig {
  machines: Record<string, ValidMachine>;
}

// verbose: errors carry their parent schema, which lists the keys to suggest from.
const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, verbose: true });
const validateFile = ajv.compile(schema);

/**
 * Validates a parsed workspace-vm.json. Returns a deep copy with every
 * default filled in, or throws a ConfigError listing every problem.
 */
export function validateConfig(raw: unknown, file = 'workspace-vm.json'): ValidConfig {
  const tooDeep = nestingIssue(raw);
  if (tooDeep) throw new ConfigError(file, [tooDeep]);
  const data = structuredClone(raw);
  const issues: ConfigIssue[] = [];
  if (!validateFile(data)) issues.push(...withoutEchoes(validateFile.errors ?? [], data));
  const machines = (data as { machines?: unknown })?.machines;
  if (machines && typeof machines === 'object') {
    const schemaIssues = [...issues];
    for (const [name, m] of Object.entries(machines as Record<string, ValidMachine>)) {
      if (schemaIssues.some((i) => i.machine === name && i.path === jsonPath(['machines', name])))
        continue;
      issues.push(...semanticIssues(name, m, schemaIssues));
    }
    issues.push(...vlanCapacityIssues(machines as Record<string, { vlans?: unknown }>));
  }
  if (issues.length) throw new ConfigError(file, dedupe(issues));
  return data as ValidConfig;
}

/**
 * The cross-field checks also run on a machine with schema errors, so one pass
 * reports everything. A check that trips over a malformed section is dropped,
 * as is any finding inside a section the schema already rejected.
 */
function semanticIssues(name: string, m: ValidMachine, schemaIssues: ConfigIssue[]): ConfigIssue[] {
  const rejected = schemaIssues.filter((i) => i.machine === name).map((i) => i.path);
  let found: ConfigIssue[];
  try {
    found = checkMachine(name, m);
  } catch (err) {
    // On a machine the schema accepted, a check that trips is a bug of ours, never a pass.
    if (!rejected.length) throw err;
    return [];
  }
  const within = (path: string, parent: string) =>
    path === parent || path.startsWith(`${parent}.`) || path.startsWith(`${parent}[`);
  return found.filter((f) => !rejected.some((r) => within(f.path, r) || within(r, f.path)));
}

/**
 * A misspelt required key shows up twice: as unknown and as missing. The
 * "unknown ... did you mean" message says it all, so the echo is dropped.
 */
function withoutEchoes(errors: ErrorObject[], data: unknown): ConfigIssue[] {
  const described = errors.flatMap((err) => {
    const issue = describeAjvError(err, data);
    return issue ? [{ err, issue }] : [];
  });
  const suggested = new Set<string>();
  for (const { err, issue } of described) {
    const near = /Did you mean "([^"]+)"/.exec(issue.message);
    if (err.keyword === 'additionalProperties' && near)
      suggested.add(`${err.instancePath}/${near[1]}`);
  }
  return described
    .filter(
      ({ err }) =>
        !(
          err.keyword === 'required' &&
          suggested.has(`${err.instancePath}/${String(err.params.missingProperty)}`)
        ),
    )
    .map(({ issue }) => issue);
}

function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.path}\u0000${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function pointerSegments(pointer: string): string[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function valueAt(data: unknown, segments: string[]): unknown {
  let cur: unknown = data;
  for (const seg of segments) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

function describeAjvError(err: ErrorObject, data: unknown): ConfigIssue | undefined {
  const segments = pointerSegments(err.instancePath);
  const machine = segments[0] === 'machines' && segments.length > 1 ? segments[1] : undefined;
  // The value shown is the one at the reported path (the unknown key's own value, say).
  const at = (extra: string[] = []) => ({
    machine,
    path: jsonPath([...segments, ...extra]),
    value: valueAt(data, [...segments, ...extra]),
  });
  const p = err.params as Record<string, unknown>;
  switch (err.keyword) {
    case 'additionalProperties': {
      const key = String(p.additionalProperty);
      const known = Object.keys((err.parentSchema as { properties?: object })?.properties ?? {});
      const near = known.length ? closest(key, known) : undefined;
      const hint =
        near &&
        distance(key.toLowerCase(), near.toLowerCase()) <= Math.max(2, Math.floor(near.length / 3))
          ? ` Did you mean "${near}"?`
          : '';
      return {
        ...at([key]),
        message: `unknown option "${key}".${hint} Allowed here: ${known.join(', ')}.`,
      };
    }
    case 'required':
      return { ...at([String(p.missingProperty)]), message: 'is required but missing.' };
    case 'enum':
      return {
        ...at(),
        message: `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}.`,
      };
    case 'type':
      return { ...at(), message: `must be of type ${[p.type].flat().join(' or ')}.` };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum': {
      const { minimum, maximum } = (err.parentSchema ?? {}) as {
        minimum?: number;
        maximum?: number;
      };
      const range =
        minimum !== undefined && maximum !== undefined
          ? ` (allowed: ${minimum} to ${maximum})`
          : '';
      return { ...at(), message: `must be ${String(p.comparison)} ${String(p.limit)}${range}.` };
    }
    case 'minLength':
      return { ...at(), message: `must not be empty.` };
    case 'pattern': {
      if (err.propertyName !== undefined) {
        const what = segments.length === 1 && segments[0] === 'machines' ? 'machine name' : 'key';
        return {
          machine: what === 'machine name' ? err.propertyName : machine,
          path: jsonPath([...segments, err.propertyName]),
          message: `invalid ${what} "${err.propertyName}": must match ${String(p.pattern)}.`,
        };
      }
      return { ...at(), message: `must match ${String(p.pattern)}.` };
    }
    case 'propertyNames':
      return undefined; // reported by the nested `pattern` error, which names the key
    default:
      return { ...at(), message: err.message ?? err.keyword };
  }
}

export { ConfigError };
