#!/usr/bin/env node
// Funnelgate runs on Node.js 24 (TypeScript is executed directly through Node's type stripping). When an older
// system Node starts this file, hand over to the Node 24 that `npm ci` installed into node_modules.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  const bundled = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  if (!existsSync(bundled)) {
    console.error(
      `funnelgate needs Node.js 24 (this is ${process.version}). Run \`npm ci\` in the project first.`,
    );
    process.exit(1);
  }
  // Not spawnSync: the wrapper must pass stop signals on, or a SIGTERM to it would orphan the real server.
  const child = spawn(bundled, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => child.kill(signal));
  }
  child.on('exit', (code, signal) => {
    process.exit(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 1));
  });
} else {
  await import('../src/cli/main.ts');
}
