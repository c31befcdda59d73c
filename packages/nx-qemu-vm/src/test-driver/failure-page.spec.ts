import { it } from 'node:test';
import assert from 'node:assert/strict';
import { renderFailurePage } from './failure-page';

const page = (over: Partial<Parameters<typeof renderFailurePage>[0]> = {}) =>
  renderFailurePage({
    machine: 'server',
    title: 'machine "server": command failed with status 7: exit 7\n--- stdout ---\n<b>out</b>',
    takenAt: '2026-12-03T17:00:00.000Z',
    consoleLog: 'Linux version 6.1\n\x1b[1;31mred\x1b[0m <script>alert(1)</script>\r\nlast line\n',
    screenshots: [
      { file: 'screenshot-1-login.png', caption: '/tmp/x/login.png' },
      { file: 'screen.png', caption: 'the screen when the artifacts were taken' },
    ],
    ...over,
  });

it('shows what failed, the transcript, every screenshot and the console, escaped', () => {
  const html = page({ transcript: '0.0 s  succeed("exit 7")  status 7' });
  assert.match(html, /^<!doctype html>/);
  assert.match(
    html,
    /<title>server: machine &#34;server&#34;: command failed with status 7: exit 7<\/title>/,
  );
  assert.match(html, /&#60;b&#62;out&#60;\/b&#62;/, 'the message is text, not markup');
  assert.match(html, /succeed\(&#34;exit 7&#34;\) {2}status 7/);
  assert.match(html, /<img src="screenshot-1-login.png"/);
  assert.match(
    html,
    /<figcaption>final screen: the screen when the artifacts were taken<\/figcaption>/,
  );
  // Three console lines, escapes and carriage returns gone, markup escaped.
  assert.match(
    html,
    /<pre id="console"><span>Linux version 6.1<\/span><span>red &#60;script&#62;alert\(1\)&#60;\/script&#62;<\/span><span>last line<\/span><\/pre>/,
  );
  assert.match(html, /<span id="count">3 lines<\/span>/);
  assert.equal(html.match(/<script>/g)?.length, 1, 'only the search script runs');
  assert.doesNotMatch(html, /https?:\/\//, 'nothing is fetched');
});

it('says what is missing, and refuses image names that leave the directory', () => {
  const html = page({ screenshots: [], consoleLog: '' });
  assert.match(html, /\(no transcript\)/);
  assert.match(html, /\(none: the machine has no display, or none was taken\)/);
  for (const file of ['../x.png', '/etc/passwd', 'a b.png', 'javascript:alert(1)'])
    assert.throws(
      () => page({ screenshots: [{ file, caption: 'x' }] }),
      /not a plain relative image name/,
    );
});
