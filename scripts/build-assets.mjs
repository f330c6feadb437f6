// Copy the parts of the DSFR the pages use into static/dsfr (never committed, never a CDN),
// build one stylesheet holding only the DSFR components and icon families the templates use,
// and write brotli/gzip variants of every text file under static/ (served by
// consult/static_assets.py when the browser accepts them and they are not older than the file).
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, posix, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'node_modules', '@gouvfr', 'dsfr', 'dist');
const target = join(root, 'static', 'dsfr');
const BUNDLE = 'consult-dsfr.min.css';

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

function walk(dir, keep) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!['node_modules', '.venv', '__pycache__', 'tests', 'migrations'].includes(entry.name)) out.push(...walk(path, keep));
    } else if (keep(entry.name)) {
      out.push(path);
    }
  }
  return out;
}

// Every fr-* class the templates, the Python code (classes built in views) and the scripts name.
const sources = ['templates', 'consult', 'forums', 'surveys', 'retex', 'synthesis', 'territorial', 'static/js', 'static/synthesis']
  .map((d) => join(root, d))
  .filter(existsSync)
  .flatMap((d) => walk(d, (name) => /\.(html|py|js)$/.test(name)));
const used = new Set();
for (const file of sources) {
  for (const match of readFileSync(file, 'utf8').matchAll(/\bfr-[a-z0-9_-]+/g)) used.add(match[0]);
}
const blockOf = (cls) => cls.split(/__|--/)[0];
const usedBlocks = new Set([...used].map(blockOf));

// A component is kept when it owns a block the pages use: the block belongs to the component
// whose stylesheet names it most (header.css also styles .fr-btn, but button.css owns it).
const components = readdirSync(join(dist, 'component'), { withFileTypes: true })
  .filter((e) => e.isDirectory() && existsSync(join(dist, 'component', e.name, `${e.name}.main.min.css`)))
  .map((e) => e.name);
const owner = new Map();
for (const name of components) {
  const css = readFileSync(join(dist, 'component', name, `${name}.main.min.css`), 'utf8');
  const counts = new Map();
  for (const m of css.matchAll(/\.(fr-[a-z0-9_-]+)/g)) {
    const block = blockOf(m[1]);
    counts.set(block, (counts.get(block) || 0) + 1);
  }
  for (const [block, count] of counts) {
    if (!owner.has(block) || owner.get(block).count < count) owner.set(block, { name, count });
  }
}
const full = readFileSync(join(dist, 'dsfr.main.min.css'), 'utf8');
const kept = components
  .filter((name) => [...usedBlocks].some((block) => owner.get(block)?.name === name))
  // The cascade order of the full DSFR stylesheet (later components override earlier ones).
  .map((name) => ({ name, css: readFileSync(join(dist, 'component', name, `${name}.main.min.css`), 'utf8') }))
  .sort((a, b) => full.indexOf(a.css.slice(-120)) - full.indexOf(b.css.slice(-120)));

// Icon families holding an fr-icon-* class the pages use.
const iconRoot = join(dist, 'utility', 'icons');
const families = readdirSync(iconRoot, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => ({ name: e.name, file: join(iconRoot, e.name, `${e.name}.main.min.css`) }))
  .filter((f) => existsSync(f.file))
  .map((f) => ({ ...f, css: readFileSync(f.file, 'utf8') }));
const icons = [...used].filter((c) => c.startsWith('fr-icon-'));
const keptFamilies = families.filter((f) => icons.some((icon) => f.css.includes(`.${icon}:`) || f.css.includes(`.${icon},`) || f.css.includes(`.${icon}{`)));

// url() references are rewritten from each source file's folder to the bundle's (the dist root,
// mirrored by static/dsfr) and fingerprinted the way consult/static_assets.py names files, so
// fonts and icons are cached a year too.
const hashOf = (path) => createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 12);
function rebase(css, fromDir) {
  return css.replace(/url\((['"]?)([^'")]+)\1\)/g, (all, quote, url) => {
    if (/^(data:|https?:|\/|#)/.test(url)) return all;
    const clean = url.split(/[?#]/)[0];
    const rel = relative(dist, join(fromDir, clean)).split(sep).join(posix.sep);
    const copied = join(target, rel);
    if (!existsSync(copied)) throw new Error(`${url} (from ${fromDir}) is not copied into static/dsfr`);
    const hashed = rel.replace(/(\.[A-Za-z0-9]+)$/, `.${hashOf(copied)}$1`);
    return `url(${quote}${hashed}${quote})`;
  });
}
const parts = [
  rebase(readFileSync(join(dist, 'core', 'core.main.min.css'), 'utf8'), join(dist, 'core')),
  ...kept.map((c) => rebase(c.css, join(dist, 'component', c.name))),
  ...keptFamilies.map((f) => rebase(f.css, join(iconRoot, f.name))),
];
const bundle = parts.join('\n');
writeFileSync(join(target, BUNDLE), bundle);

const defined = new Set([...bundle.matchAll(/\.(fr-[a-z0-9_-]+)/g)].map((m) => m[1]));
const missing = [...used].filter((c) => !defined.has(c) && !c.endsWith('-') && !c.startsWith('fr-scheme'));
console.log(`DSFR assets copied to ${target}`);
console.log(`${BUNDLE}: core + ${kept.map((c) => c.name).join(', ')} + icons ${keptFamilies.map((f) => f.name).join(', ')}`);
console.log(`  ${bundle.length} bytes (the full dsfr.min.css + icons.min.css: ${statSync(join(dist, 'dsfr.min.css')).size + statSync(join(iconRoot, 'icons.min.css')).size})`);
if (missing.length) console.log(`  classes named in the code but not defined by the bundle (JS states, custom): ${missing.sort().join(' ')}`);

// A partial plotly.js holding only the trace types the charts draw (synthesis/charts.py,
// static/js/surveys-charts.js): bar, scatter (always in plotly's core), heatmap, choroplethmap.
const PLOTLY_TRACES = ['bar', 'heatmap', 'choroplethmap'];
const vendor = join(root, 'static', 'vendor');
mkdirSync(vendor, { recursive: true });
// plotly.js imports maplibre's stylesheet; like plotly's own bundles, it is injected by the
// script (the chart pages allow inline styles for plotly), so no second request.
const inlineCss = {
  name: 'inline-css',
  setup(builder) {
    builder.onLoad({ filter: /\.css$/ }, (args) => ({
      contents: `(function(){if(typeof document==='undefined')return;var s=document.createElement('style');s.textContent=${JSON.stringify(readFileSync(args.path, 'utf8'))};document.head.appendChild(s);})();`,
      loader: 'js',
    }));
  },
};
await build({
  stdin: {
    contents: `var Plotly = require('plotly.js/lib/core');\nPlotly.register([${PLOTLY_TRACES.map((t) => `require('plotly.js/lib/${t}')`).join(', ')}]);\nmodule.exports = Plotly;`,
    resolveDir: root,
    loader: 'js',
  },
  bundle: true,
  minify: true,
  format: 'iife',
  globalName: 'Plotly',
  target: 'es2016',
  define: { global: 'window', 'define.amd': 'false' },
  alias: { stream: 'stream-browserify' },
  plugins: [inlineCss],
  legalComments: 'eof',
  logLevel: 'warning',
  outfile: join(vendor, 'plotly.min.js'),
});
console.log(`plotly.js partial bundle (${PLOTLY_TRACES.join(', ')}, scatter): ${statSync(join(vendor, 'plotly.min.js')).size} bytes`);

// Pre-compressed variants, written after their source so the server sees them as fresh.
const TEXT = /\.(css|js|mjs|svg|json|txt|webmanifest|html|xml)$/;
let count = 0;
for (const file of walk(join(root, 'static'), (name) => TEXT.test(name))) {
  const data = readFileSync(file);
  if (data.length < 512) continue;
  writeFileSync(`${file}.br`, brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length } }));
  writeFileSync(`${file}.gz`, gzipSync(data, { level: 9 }));
  count += 1;
}
console.log(`brotli and gzip variants written for ${count} files under static/`);
