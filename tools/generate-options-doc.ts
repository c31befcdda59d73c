// Writes docs/options.md, the reference of every option of workspace-vm.json,
// from the JSON Schema, which stays the single source of truth. `--check`
// fails when the committed file is stale (a test runs the same comparison).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(__dirname, '..');
export const SCHEMA_FILE = join(root, 'packages/nx-qemu-vm/workspace-vm.schema.json');
export const DOC_FILE = join(root, 'docs/options.md');

interface SchemaNode {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  default?: unknown;
  description?: string;
  examples?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxItems?: number;
  pattern?: string;
  required?: string[];
  properties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode | boolean;
  propertyNames?: { pattern?: string };
  items?: SchemaNode;
  oneOf?: SchemaNode[];
  anyOf?: SchemaNode[];
}

interface RootSchema extends SchemaNode {
  definitions: Record<string, SchemaNode>;
}

const code = (value: unknown) => `\`${JSON.stringify(value)}\``;

function deref(node: SchemaNode, schema: RootSchema): SchemaNode {
  if (!node.$ref) return node;
  const name = node.$ref.replace('#/definitions/', '');
  return { ...schema.definitions[name], ...node, $ref: undefined };
}

/** "integer from 1 to 65535", "string (not empty)", "one of `tcp`, `udp`", ... */
function describeType(node: SchemaNode, schema: RootSchema): string {
  if (node.enum) return `one of ${node.enum.map(code).join(', ')}`;
  const alternatives = node.oneOf ?? node.anyOf;
  if (alternatives)
    return alternatives.map((n) => describeType(deref(n, schema), schema)).join(', or ');
  const types = Array.isArray(node.type) ? node.type : node.type ? [node.type] : [];
  const parts = types.map((t) => {
    if (t === 'array' && node.items) {
      const item = deref(node.items, schema);
      const what = item.type === 'object' ? 'objects (below)' : describeType(item, schema);
      return `list of ${what}${node.maxItems !== undefined ? `, at most ${node.maxItems}` : ''}`;
    }
    if (
      t === 'object' &&
      node.additionalProperties &&
      typeof node.additionalProperties === 'object'
    )
      return `object keyed by ${node.propertyNames?.pattern ? `names matching \`${node.propertyNames.pattern}\`` : 'name'}`;
    if (t === 'null') return '`null`';
    let text = t;
    if (node.minimum !== undefined && node.maximum !== undefined)
      text += ` from ${node.minimum} to ${node.maximum}`;
    else if (node.minimum !== undefined) text += `, at least ${node.minimum}`;
    else if (node.maximum !== undefined) text += `, at most ${node.maximum}`;
    if (node.minLength) text += ', not empty';
    if (node.pattern) text += `, matching \`${node.pattern}\``;
    return text;
  });
  return parts.join(', or ');
}

function renderOption(
  path: string,
  node: SchemaNode,
  schema: RootSchema,
  out: string[],
  level: number,
): void {
  const n = deref(node, schema);
  out.push(`${'#'.repeat(level)} \`${path}\``, '');
  if (n.description) out.push(n.description, '');
  out.push(`- Type: ${describeType(n, schema)}`);
  if (n.default !== undefined) out.push(`- Default: ${code(n.default)}`);
  if (n.required?.length)
    out.push(`- Required fields: ${n.required.map((r) => `\`${r}\``).join(', ')}`);
  for (const example of n.examples ?? []) out.push(`- Example: ${code(example)}`);
  out.push('');
  // Members of objects, of list items and of map values get their own entries.
  const item = n.items ? deref(n.items, schema) : undefined;
  const value =
    n.additionalProperties && typeof n.additionalProperties === 'object'
      ? deref(n.additionalProperties, schema)
      : undefined;
  const [members, prefix] = n.properties
    ? [n.properties, `${path}.`]
    : item?.properties
      ? [item.properties, `${path}[].`]
      : value?.properties
        ? [value.properties, `${path}.<key>.`]
        : [undefined, ''];
  for (const [key, child] of Object.entries(members ?? {}))
    renderOption(`${prefix}${key}`, child, schema, out, Math.min(level + 1, 4));
}

export function renderOptionsDoc(schema: RootSchema): string {
  const machine = schema.definitions.machine;
  const out = [
    '# workspace-vm.json options',
    '',
    '<!-- Generated from packages/nx-qemu-vm/workspace-vm.schema.json by tools/generate-options-doc.ts. Do not edit: run `npm run gen:docs`. -->',
    '',
    schema.description ?? '',
    '',
    'The file holds one entry per machine under `machines`; the key is the machine name, which',
    'names its Nx project, its scripts (`run-<name>-vm`, `exec-<name>-vm`) and its disk files.',
    'Every option below is optional. Paths are relative to the workspace root unless absolute.',
    '',
    '```json',
    JSON.stringify(
      {
        $schema: './node_modules/nx-qemu-vm/workspace-vm.schema.json',
        machines: { vm: { memorySize: 1024, cores: 2 } },
      },
      null,
      2,
    ),
    '```',
    '',
    '## Machine options',
    '',
  ];
  for (const [key, node] of Object.entries(machine.properties ?? {}))
    renderOption(key, node, schema, out, 3);
  return `${out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}

export function readSchema(): RootSchema {
  return JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as RootSchema;
}

if (require.main === module) {
  const text = renderOptionsDoc(readSchema());
  const current = existsSync(DOC_FILE) ? readFileSync(DOC_FILE, 'utf8') : '';
  if (process.argv.includes('--check')) {
    if (current !== text) {
      console.error(`stale: ${relative(root, DOC_FILE)} (run npm run gen:docs)`);
      process.exit(1);
    }
  } else if (current !== text) {
    writeFileSync(DOC_FILE, text);
    console.log(`wrote ${relative(root, DOC_FILE)}`);
  }
}
