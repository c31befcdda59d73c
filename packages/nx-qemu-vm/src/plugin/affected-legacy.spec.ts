import { describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { affectedLegacyWarning, warnIfAffectedLegacy } from './affected-legacy';

describe('affected.legacy warning', () => {
  it('speaks when nx.json turns legacy affected on, and says what breaks and how to fix it', () => {
    const text = affectedLegacyWarning({ affected: { legacy: true } }) ?? '';
    assert.match(text, /"affected": \{ "legacy": true \}/);
    assert.match(text, /workspace-vm\.json is in none/);
    assert.match(text, /nx show projects --affected/);
    assert.match(text, /remove "legacy" from "affected" in nx\.json, or set it to false/);
  });

  it('is silent when legacy affected is off, absent, or nx.json is odd', () => {
    for (const nxJson of [
      { affected: { legacy: false } },
      { affected: {} },
      { affected: { defaultBase: 'main' } },
      { affected: null },
      { affected: 'legacy' },
      {},
      null,
      undefined,
      'not json',
    ])
      assert.equal(affectedLegacyWarning(nxJson), undefined, JSON.stringify(nxJson));
  });

  it('warns once per process, reading nx.json from the workspace root when Nx gives none', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nxqv-legacy-'));
    // Outside an Nx plugin worker, Nx's log channel prints with console.warn.
    const warn = mock.method(console, 'warn', () => undefined);
    try {
      writeFileSync(join(dir, 'nx.json'), JSON.stringify({ affected: { legacy: true } }));
      warnIfAffectedLegacy(dir);
      warnIfAffectedLegacy(dir, { affected: { legacy: true } });
      warnIfAffectedLegacy(join(dir, 'no-workspace-here'));
      warnIfAffectedLegacy(dir, { affected: { legacy: false } });
      assert.deepEqual(
        warn.mock.calls.map((c) => c.arguments[0]),
        [affectedLegacyWarning({ affected: { legacy: true } })],
      );
    } finally {
      warn.mock.restore();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
