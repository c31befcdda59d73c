// The page a person opens when a test fails: dist/vm/<m>/test-artifacts/<when>-<what>/index.html,
// with what failed, the test's transcript, every screenshot, and the console
// log with a search box. One self-contained file beside its images: it opens
// from the file system, with no server and nothing fetched.
import { stripVTControlCharacters } from 'node:util';

export interface FailurePage {
  machine: string;
  /** What failed: the error's message, or the label of a capture. */
  title: string;
  /** When the artifacts were taken (ISO time). */
  takenAt: string;
  /** The test's steps with their timings, when there is a transcript. */
  transcript?: string;
  consoleLog: string;
  /** Images beside index.html, in the order they were taken; the last one is the final screen. */
  screenshots: { file: string; caption: string }[];
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Relative image names only: the page must not reach outside its directory. */
const imageSrc = (file: string) => {
  if (!/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(file) || file.split('/').includes('..'))
    throw new Error(`not a plain relative image name: ${JSON.stringify(file)}`);
  return file.split('/').map(encodeURIComponent).join('/');
};

// Filters the console log's lines as one types, and counts the matches.
const SEARCH_SCRIPT = `
const box = document.getElementById('search');
const lines = [...document.querySelectorAll('#console > span')];
const count = document.getElementById('count');
box.addEventListener('input', () => {
  const q = box.value.toLowerCase();
  let n = 0;
  for (const l of lines) {
    const hit = !q || l.textContent.toLowerCase().includes(q);
    l.hidden = !hit;
    if (q && hit) n++;
  }
  count.textContent = q ? n + ' matching lines' : lines.length + ' lines';
});`;

/** Terminal escapes and other control characters, which a console log is full of and a page cannot show. */
const plainText = (text: string) =>
  stripVTControlCharacters(text)
    .replace(/\r\n?/g, '\n')
    .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');

export function renderFailurePage(page: FailurePage): string {
  const consoleLines = plainText(page.consoleLog).split('\n');
  if (consoleLines[consoleLines.length - 1] === '') consoleLines.pop();
  const shots = page.screenshots.map(
    (s, i) =>
      `<figure><img src="${imageSrc(s.file)}" alt="${escapeHtml(s.caption)}"><figcaption>${
        i === page.screenshots.length - 1 ? 'final screen: ' : ''
      }${escapeHtml(s.caption)}</figcaption></figure>`,
  );
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(`${page.machine}: ${page.title.split('\n')[0]}`)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
pre { background: #f6f6f6; padding: .8em; overflow-x: auto; font: 12px/1.35 ui-monospace, monospace; }
#console > span { display: block; white-space: pre-wrap; }
figure { display: inline-block; margin: 0 1em 1em 0; }
img { max-width: 100%; border: 1px solid #ccc; image-rendering: pixelated; }
input { font: inherit; padding: .2em .4em; width: 30em; }
</style>
</head>
<body>
<h1>machine "${escapeHtml(page.machine)}"</h1>
<p>artifacts taken ${escapeHtml(page.takenAt)}</p>
<h2>What failed</h2>
<pre>${escapeHtml(page.title)}</pre>
<h2>Transcript</h2>
${page.transcript ? `<pre>${escapeHtml(page.transcript)}</pre>` : '<p>(no transcript)</p>'}
<h2>Screenshots</h2>
${shots.length ? shots.join('\n') : '<p>(none: the machine has no display, or none was taken)</p>'}
<h2>Console log</h2>
<p><input id="search" type="search" placeholder="search the console log" aria-label="search the console log"> <span id="count">${consoleLines.length} lines</span></p>
<pre id="console">${consoleLines.map((l) => `<span>${escapeHtml(l)}</span>`).join('')}</pre>
<script>${SEARCH_SCRIPT}</script>
</body>
</html>
`;
}
