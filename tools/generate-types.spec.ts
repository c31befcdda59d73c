import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { renderTypes, typeTargets } from './generate-types';

it('the committed TypeScript types match their JSON Schemas (npm run gen:types fixes this)', async () => {
  const targets = typeTargets();
  assert.ok(targets.length >= 2, 'the options schema and at least one executor schema');
  for (const target of targets) {
    const expected = await renderTypes(target);
    assert.equal(
      readFileSync(target.output, 'utf8'),
      expected,
      `${relative(process.cwd(), target.output)} is stale`,
    );
  }
});
