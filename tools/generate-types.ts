// Writes the TypeScript types that mirror our JSON Schemas. The schemas are the
// single source of truth; `--check` fails when a committed file is stale.
import { readFileSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { compile } from 'json-schema-to-typescript';

const root = join(__dirname, '..');
const pluginSrc = join(root, 'packages/nx-qemu-vm/src');

export interface TypeTarget {
  schema: string;
  output: string;
}

export function typeTargets(): TypeTarget[] {
  const targets: TypeTarget[] = [
    {
      schema: join(pluginSrc, '../workspace-vm.schema.json'),
      output: join(pluginSrc, 'config/workspace-vm.generated.ts'),
    },
  ];
  // Executors and generators alike keep schema.json and schema.d.ts side by side.
  for (const kind of ['executors', 'generators']) {
    const dir = join(pluginSrc, kind);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir).sort()) {
      const schema = join(dir, name, 'schema.json');
      if (existsSync(schema)) targets.push({ schema, output: join(dir, name, 'schema.d.ts') });
    }
  }
  return targets;
}

export async function renderTypes(target: TypeTarget): Promise<string> {
  const schema = JSON.parse(readFileSync(target.schema, 'utf8'));
  const banner = `/* Generated from ${relative(root, target.schema)} by tools/generate-types.ts. Do not edit: run \`npm run gen:types\`. */`;
  return compile(schema, schema.title ?? 'Schema', {
    bannerComment: banner,
    additionalProperties: false,
    unreachableDefinitions: true,
    style: { singleQuote: true },
  });
}

async function main(): Promise<void> {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const target of typeTargets()) {
    const text = await renderTypes(target);
    const current = existsSync(target.output) ? readFileSync(target.output, 'utf8') : '';
    if (current === text) continue;
    if (check) {
      stale++;
      console.error(`stale: ${relative(root, target.output)} (run npm run gen:types)`);
    } else {
      writeFileSync(target.output, text);
      console.log(`wrote ${relative(root, target.output)}`);
    }
  }
  if (stale) process.exit(1);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
