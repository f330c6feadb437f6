// Copy the parts of the DSFR the pages use into static/dsfr (never committed, never a CDN).
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'node_modules', '@gouvfr', 'dsfr', 'dist');
const target = join(root, 'static', 'dsfr');

if (!existsSync(dist)) {
  console.error('DSFR not installed: run `npm ci` first.');
  process.exit(1);
}
rmSync(target, { recursive: true, force: true });
mkdirSync(target, { recursive: true });
for (const item of ['dsfr.min.css', 'dsfr.module.min.js', 'dsfr.nomodule.min.js', 'fonts', 'icons', 'favicon', 'utility/icons']) {
  const source = join(dist, item);
  if (!existsSync(source)) {
    console.error(`missing in the DSFR package: ${item}`);
    process.exit(1);
  }
  cpSync(source, join(target, item), { recursive: true });
}
console.log(`DSFR assets copied to ${target}`);
