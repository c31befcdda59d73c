// A project `client` whose `probe` target runs a command once a machine's
// serve target reports ready, as a team's integration tests would.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function addProbeProject(root: string, machine: string, command: string): void {
  mkdirSync(join(root, 'client'));
  writeFileSync(
    join(root, 'client/project.json'),
    JSON.stringify({
      name: 'client',
      targets: {
        probe: {
          command,
          dependsOn: [{ projects: [machine], target: 'serve', waitFor: 'ready' }],
        },
      },
    }),
  );
}
