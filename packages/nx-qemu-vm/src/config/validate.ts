// Schema validation (ajv) followed by the checks a schema cannot express.
// Every problem in the file is reported at once; nothing downstream runs on
// a config that has any.
import Ajv, { type ErrorObject } from 'ajv';
import { closest, distance } from 'fastest-levenshtein';
import schema from './workspace-vm.schema.json';
import { ConfigError, type ConfigIssue, jsonPath } from './errors';
import type { ValidMachine } from './machine';
import { checkMachine } from './machine-checks';

export interface ValidConfig {
  machines: Record<string, ValidMachine>;
}

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true });
const validateFile = ajv.compile(schema);

/**
 * Validates a parsed workspace-vm.json. Returns a deep copy with every
 * default filled in, or throws a ConfigError listing every problem.
 */
export function validateConfig(raw: unknown, file = 'workspace-vm.json'): ValidConfig {
  const data = structuredClone(raw);
  const issues: ConfigIssue[] = [];
  if (!validateFile(data)) {
    for (const err of validateFile.errors ?? []) {
      const issue = describeAjvError(err, data);
      if (issue) issues.push(issue);
    }
  }
  const machines = (data as { machines?: unknown })?.machines;
  if (machines && typeof machines === 'object') {
    const names = Object.keys(machines);
    for (const name of names) {
      // A machine the schema rejected may be half-shaped: checking it further
      // would only add noise to the messages that matter.
      if (issues.some((i) => i.machine === name)) continue;
      issues.push(...checkMachine(name, (machines as Record<string, ValidMachine>)[name]));
    }
  }
  if (issues.length) throw new ConfigError(file, dedupe(issues));
  return data as ValidConfig;
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
  const at = (extra: string[] = [], value: unknown = valueAt(data, segments)) => ({
    machine,
    path: jsonPath([...segments, ...extra]),
    value,
  });
  const p = err.params as Record<string, unknown>;
  switch (err.keyword) {
    case 'additionalProperties': {
      const key = String(p.additionalProperty);
      const known = Object.keys((err.parentSchema as { properties?: object })?.properties ?? {});
      const near = known.length ? closest(key, known) : undefined;
      const hint =
        near && distance(key.toLowerCase(), near.toLowerCase()) <= Math.max(2, Math.floor(near.length / 3))
          ? ` Did you mean "${near}"?`
          : '';
      return {
        ...at([key], undefined),
        message: `unknown option "${key}".${hint} Allowed here: ${known.join(', ')}.`,
      };
    }
    case 'required':
      return { ...at([String(p.missingProperty)], undefined), message: 'is required but missing.' };
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
    case 'exclusiveMaximum':
      return { ...at(), message: `must be ${p.comparison} ${p.limit}.` };
    case 'minLength':
      return { ...at(), message: `must not be empty.` };
    case 'pattern': {
      if (err.propertyName !== undefined) {
        const what = segments.length === 1 && segments[0] === 'machines' ? 'machine name' : 'key';
        return {
          machine: what === 'machine name' ? err.propertyName : machine,
          path: jsonPath([...segments, err.propertyName]),
          message: `invalid ${what} "${err.propertyName}": must match ${p.pattern}.`,
        };
      }
      return { ...at(), message: `must match ${p.pattern}.` };
    }
    case 'propertyNames':
      return undefined; // reported by the nested `pattern` error, which names the key
    default:
      return { ...at(), message: err.message ?? err.keyword };
  }
}

export { ConfigError };
