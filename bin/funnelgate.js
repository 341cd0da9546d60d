#!/usr/bin/env node
// Funnelgate runs on Node.js 24 (TypeScript is executed directly through Node's type stripping). When an older
// system Node starts this file, hand over to the Node 24 that `npm ci` installed into node_modules.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
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
  const result = spawnSync(bundled, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  process.exit(result.status ?? 1);
}
await import('../src/cli/main.ts');
