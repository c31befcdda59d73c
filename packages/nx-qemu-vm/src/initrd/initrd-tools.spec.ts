// Stage 1 runs the tools at the paths where the initrd builder puts them; its
// shebang and first lines must name them literally, so this holds them together.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { INITRD_HOST_TOOLS } from './initrd-tools';

it("stage 1 calls each tool at the initrd's path for it", () => {
  const stage1 = readFileSync(join(__dirname, '..', 'guest', 'stage-1-init.sh'), 'utf8');
  for (const tool of INITRD_HOST_TOOLS)
    assert.ok(stage1.includes(`${tool.initrdPath} `), `stage-1-init.sh runs ${tool.initrdPath}`);
});
