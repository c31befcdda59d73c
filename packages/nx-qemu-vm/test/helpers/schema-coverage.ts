// Walks the option schema so tests can tell which options (and which enum,
// boolean and null values) a set of configs exercises. Option paths look like
// `qemu.drives[].format` and `sharedDirectories.*.readOnly`: `[]` is any array
// element and `*` any key of a map such as sharedDirectories.

export interface SchemaNode {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  properties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode | boolean;
  items?: SchemaNode;
}

export interface RootSchema extends SchemaNode {
  definitions: Record<string, SchemaNode>;
}

function deref(root: RootSchema, node: SchemaNode): SchemaNode {
  if (!node.$ref) return node;
  const m = /^#\/definitions\/(.+)$/.exec(node.$ref);
  if (!m || !root.definitions[m[1]]) throw new Error(`unsupported $ref ${node.$ref}`);
  return deref(root, root.definitions[m[1]]);
}

const join = (prefix: string, seg: string) =>
  seg === '[]' ? `${prefix}[]` : prefix ? `${prefix}.${seg}` : seg;

/** Children of a node: named properties, map values (`*`) and array items (`[]`). */
function children(root: RootSchema, node: SchemaNode): [string, SchemaNode][] {
  const out: [string, SchemaNode][] = Object.entries(node.properties ?? {}).map(([k, v]) => [
    k,
    deref(root, v),
  ]);
  if (node.additionalProperties && typeof node.additionalProperties === 'object')
    out.push(['*', deref(root, node.additionalProperties)]);
  if (node.items) out.push(['[]', deref(root, node.items)]);
  return out;
}

/** Every option path under `node`, with the (dereferenced) schema of each. */
export function optionPaths(
  root: RootSchema,
  node: SchemaNode,
  prefix = '',
): Map<string, SchemaNode> {
  const out = new Map<string, SchemaNode>();
  for (const [seg, child] of children(root, deref(root, node))) {
    const path = join(prefix, seg);
    out.set(path, child);
    for (const [p, n] of optionPaths(root, child, path)) out.set(p, n);
  }
  return out;
}

/**
 * Records every option path that `value` sets, with the JSON of each scalar
 * value seen there. An empty array or map sets its own path but not `[]`/`*`,
 * so coverage of element options needs at least one element.
 */
export function collectSetPaths(
  root: RootSchema,
  node: SchemaNode,
  value: unknown,
  seen: Map<string, Set<string>> = new Map(),
  prefix = '',
): Map<string, Set<string>> {
  const n = deref(root, node);
  const record = (path: string, v: unknown) => {
    if (!seen.has(path)) seen.set(path, new Set());
    if (v === null || typeof v !== 'object') seen.get(path)?.add(JSON.stringify(v));
  };
  if (Array.isArray(value)) {
    if (!n.items) return seen;
    for (const el of value) {
      record(join(prefix, '[]'), el);
      collectSetPaths(root, n.items, el, seen, join(prefix, '[]'));
    }
  } else if (value !== null && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      const named = n.properties?.[key];
      const map = typeof n.additionalProperties === 'object' ? n.additionalProperties : undefined;
      const child = named ?? map;
      if (!child) continue; // not an option (validation would have rejected it)
      const path = join(prefix, named ? key : '*');
      record(path, v);
      collectSetPaths(root, child, v, seen, path);
    }
  }
  return seen;
}

/**
 * The values a path must take somewhere for its behaviour to be covered:
 * each enum member, both booleans, and both null and non-null for nullable options.
 */
export function requiredValues(node: SchemaNode): string[] {
  const types = [node.type ?? []].flat();
  if (node.enum) return node.enum.map((v) => JSON.stringify(v));
  const out: string[] = [];
  if (types.includes('boolean')) out.push('true', 'false');
  if (types.includes('null')) out.push('null', '<non-null>');
  return out;
}

/** Values of `requiredValues` that `seen` lacks. (The nullable options are all scalars.) */
export function missingValues(node: SchemaNode, seen: Set<string> | undefined): string[] {
  const values = [...(seen ?? [])];
  return requiredValues(node).filter((v) =>
    v === '<non-null>' ? !values.some((s) => s !== 'null') : !values.includes(v),
  );
}
