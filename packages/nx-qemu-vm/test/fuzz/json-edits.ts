// Edits of a parsed JSON value by path, for the fuzz specs: every path into a
// value, and a copy with one path set or removed.
export type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

/** Every path into the value, the root included (so mutations hit existing keys too). */
export function paths(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  const out = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...prefix, i])));
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  return out;
}

/** A copy of the value with `path` set to `value` (objects made on the way), or removed when undefined. */
export function mutate(machine: Json, path: (string | number)[], value: Json | undefined): Json {
  if (path.length === 0) return value ?? {};
  const copy = (machine && typeof machine === 'object' ? structuredClone(machine) : {}) as Record<
    string | number,
    Json
  >;
  let node: Record<string | number, Json> = copy;
  for (const seg of path.slice(0, -1)) {
    if (!node[seg] || typeof node[seg] !== 'object') node[seg] = {};
    node = node[seg] as Record<string | number, Json>;
  }
  const last = path[path.length - 1];
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
}
