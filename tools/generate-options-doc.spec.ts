import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DOC_FILE, readSchema, renderOptionsDoc } from './generate-options-doc';

it('docs/options.md matches the options schema (npm run gen:docs fixes this)', () => {
  assert.equal(readFileSync(DOC_FILE, 'utf8'), renderOptionsDoc(readSchema()));
});

it('documents every option, nested ones included, with its default', () => {
  const doc = renderOptionsDoc(readSchema());
  for (const path of [
    'memorySize',
    'qemu.diskInterface',
    'forwardPorts[].host.port',
    'sharedDirectories.<key>.readOnly',
  ])
    assert.match(doc, new RegExp(`^#+ \`${path.replace(/[.[\]<>]/g, '\\$&')}\`$`, 'm'), path);
  assert.match(
    doc,
    /### `memorySize`\n\nGuest memory in MiB\. [^\n]*\n\n- Type: integer from 1 to 1001472\n- Default: `384`/,
  );
});
