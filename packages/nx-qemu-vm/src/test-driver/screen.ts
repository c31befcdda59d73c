// The screen and the virtual consoles, read as NixOS's test driver reads
// them: a console's text from the guest's /dev/vcsN, folded at its width;
// the screen's text by OCR of a screenshot (tesseract, a host package only
// the tests that read the screen need); and QEMU's human monitor.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import type { QmpClient } from '../qemu/qmp';

const QMP_TIMEOUT_MS = 30_000;
/** Screens under this many pixels per line of text are scaled up first: tesseract reads 8x16 VGA glyphs badly. */
const OCR_SCALE = 3;

export function checkTty(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 63)
    throw new RangeError(`not a virtual console number: ${n} (1 to 63)`);
  return n;
}

/**
 * Prints virtual console N as lines of its width. /dev/vcsN holds the screen's
 * characters without line ends; the second byte of /dev/vcsaN is the width
 * (80 when it cannot be read). Not stty -F /dev/ttyN: the terminal opened
 * from a session leader (a command run under setsid(1), say) could become
 * its controlling one, and login(1) starting there at that moment fails to
 * take it and exits.
 */
export function ttyTextCommand(n: number): string {
  const tty = checkTty(n);
  return `w=$(od -An -tu1 -j1 -N1 /dev/vcsa${tty} 2>/dev/null | tr -d ' '); fold -w "\${w:-80}" /dev/vcs${tty}`;
}

/** Makes virtual console N the one on the screen (and the keyboard's), with kbd's or busybox's chvt. */
export function switchTtyCommand(n: number): string {
  const tty = checkTty(n);
  return `if command -v chvt >/dev/null; then chvt ${tty}; else busybox chvt ${tty}; fi`;
}

/**
 * A screenshot (binary PPM, as QEMU's screendump writes it) made easy for
 * tesseract, which reads 8x16 VGA glyphs badly as they are: grey, inverted
 * (consoles are light on dark, OCR wants dark on light), and scaled up
 * OCR_SCALE times. The result is a binary PGM, which tesseract reads too.
 */
export function ocrImage(ppm: Buffer, scale = OCR_SCALE): Buffer {
  const header = /^P6\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(ppm.subarray(0, 64).toString('latin1'));
  if (!header || header[3] !== '255') throw new Error('not a binary 8-bit PPM image');
  const [width, height] = [Number(header[1]), Number(header[2])];
  const pixels = ppm.subarray(header[0].length);
  if (pixels.length < width * height * 3) throw new Error('PPM image is cut short');
  const outWidth = width * scale;
  const head = Buffer.from(`P5\n${outWidth} ${height * scale}\n255\n`, 'latin1');
  const out = Buffer.alloc(head.length + outWidth * height * scale);
  head.copy(out);
  const row = Buffer.alloc(outWidth);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const grey = (pixels[i] * 299 + pixels[i + 1] * 587 + pixels[i + 2] * 114) / 1000;
      row.fill(255 - Math.round(grey), x * scale, (x + 1) * scale);
    }
    for (let k = 0; k < scale; k++) row.copy(out, head.length + (y * scale + k) * outWidth);
  }
  return out;
}

/**
 * The text tesseract reads in an image file. Node's own execFile, not execa:
 * this module is loaded by tests that Jest runs as CommonJS, and execa is an
 * ES module.
 */
export function recognizeText(image: string): Promise<string> {
  return new Promise((resolveText, reject) => {
    execFile(
      'tesseract',
      [image, '-', '--psm', '6'],
      // One thread: machines and tests already keep the cores busy.
      { env: { ...process.env, OMP_THREAD_LIMIT: '1' }, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT')
          reject(
            new Error(
              'reading the screen needs tesseract. Install it: apt-get install tesseract-ocr',
            ),
          );
        else if (err)
          reject(new Error(`tesseract failed (${err.message.split('\n')[0]}): ${stderr.trim()}`));
        else resolveText(stdout);
      },
    );
  });
}

/** A scratch directory for one screenshot, removed afterwards. */
export async function withScratchDir<T>(use: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'nxvm-screen-'));
  try {
    return await use(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The screen as QEMU shows it, in QEMU's own binary PPM. */
export async function screendumpPpm(qmp: QmpClient, file: string): Promise<void> {
  await qmp.execute('screendump', { filename: file, format: 'ppm' }, QMP_TIMEOUT_MS);
}

/** An HMP command through QMP, as QEMU's monitor would answer it. */
export async function humanMonitorCommand(qmp: QmpClient, command: string): Promise<string> {
  if (command.includes('\n'))
    throw new TypeError('sendMonitorCommand: one command, without a newline');
  const out = await qmp.execute(
    'human-monitor-command',
    { 'command-line': command },
    QMP_TIMEOUT_MS,
  );
  // HMP's answer is a string (empty when the command prints nothing).
  return typeof out === 'string' ? out : '';
}
