// `npm start` runs this first: build the console when web/dist is missing (a checkout without `npm ci`'s build).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const index = fileURLToPath(new URL('./dist/index.html', import.meta.url));
if (!existsSync(index)) {
  process.stderr.write('The web console is not built yet: building it (npm run build:web)...\n');
  const result = spawnSync('npm', ['run', '--silent', 'build:web'], { stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write('Could not build the web console; the API still works. See the output above.\n');
  }
}
