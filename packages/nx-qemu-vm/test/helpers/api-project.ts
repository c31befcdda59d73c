// A workspace's own service, as a team has it: a project `api` whose build
// (cached, with declared outputs) copies its source to dist/apps/api, where
// a machine's `install` takes it from.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Writes apps/api/src/`file` (main.js), the service's one source file. */
export function writeApiMain(root: string, main: string, file = 'main.js'): void {
  mkdirSync(join(root, 'apps/api/src'), { recursive: true });
  writeFileSync(join(root, 'apps/api/src', file), main);
}

/** The project `api` with its build target, and its source. */
export function writeApiProject(root: string, main: string, file = 'main.js'): void {
  writeApiMain(root, main, file);
  writeFileSync(
    join(root, 'apps/api/project.json'),
    JSON.stringify({
      name: 'api',
      targets: {
        build: {
          command: `mkdir -p dist/apps/api && cp apps/api/src/${file} dist/apps/api/`,
          cache: true,
          inputs: ['{projectRoot}/src/**/*'],
          outputs: ['{workspaceRoot}/dist/apps/api'],
        },
      },
    }),
  );
}
