import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkTty, ocrImage, recognizeText, switchTtyCommand, ttyTextCommand } from './screen';

it('reads a virtual console folded at its width, and switches to it', () => {
  assert.equal(
    ttyTextCommand(2),
    `w=$(od -An -tu1 -j1 -N1 /dev/vcsa2 2>/dev/null | tr -d ' '); fold -w "\${w:-80}" /dev/vcs2`,
  );
  assert.match(switchTtyCommand(3), /chvt 3/);
  for (const bad of [0, 64, 1.5, Number.NaN, -1])
    assert.throws(() => checkTty(bad), /not a virtual console number/);
});

it('turns a screenshot grey, inverted and scaled up for OCR', () => {
  // 2x1 pixels: white, then pure red.
  const ppm = Buffer.concat([
    Buffer.from('P6\n2 1\n255\n'),
    Buffer.from([255, 255, 255, 255, 0, 0]),
  ]);
  const pgm = ocrImage(ppm, 2);
  const head = 'P5\n4 2\n255\n';
  assert.equal(pgm.subarray(0, head.length).toString('latin1'), head);
  const red = 255 - Math.round(255 * 0.299);
  assert.deepEqual([...pgm.subarray(head.length)], [0, 0, red, red, 0, 0, red, red]);
  assert.throws(() => ocrImage(Buffer.from('P3\n1 1\n255\n0 0 0\n')), /not a binary 8-bit PPM/);
  assert.throws(() => ocrImage(Buffer.from('P6\n4 4\n255\n\0\0\0')), /cut short/);
});

it('says which package reads the screen when tesseract is missing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nxvm-ocr-'));
  const path = process.env.PATH;
  try {
    writeFileSync(join(dir, 'x.pgm'), 'P5\n1 1\n255\n\0');
    process.env.PATH = dir;
    await assert.rejects(recognizeText(join(dir, 'x.pgm')), /apt-get install tesseract-ocr/);
  } finally {
    process.env.PATH = path;
    rmSync(dir, { recursive: true, force: true });
  }
});
