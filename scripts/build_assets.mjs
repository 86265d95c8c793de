#!/usr/bin/env node
// Builds the portal front end (gateway/static) into gateway/static/dist, which the gateway serves:
//
//   node scripts/build_assets.mjs            (scripts/setup.sh runs it for `make run`/`make test`)
//   node scripts/build_assets.mjs --force    (rebuild even if nothing changed)
//
// - app.js is bundled by esbuild into minified ES modules with content hashes in their names
//   (app-XXXXXXXX.js, chunk-XXXXXXXX.js). Code splitting: the staff pages (pages/ops-*.js, loaded
//   by app.js with import()) become chunks of their own that only staff download; so do the
//   Insights page and Chart.js (charts.js, loaded by chart-view.js when a chart comes near the
//   screen), which customers download only when they need them.
// - styles.css is minified and hashed the same way; the translations (i18n/<lang>.json), the icons
//   and the web app manifest get a hash in their names too. i18n.js, which fetches
//   `./i18n/${lang}.json`, is given the hashed names at bundle time (see i18nNames below).
// - index.html is written with the hashed names, <link rel="modulepreload"> for the scripts the
//   entry imports and a preload of the English translations (always needed, as the fallback), so
//   the browser fetches them in parallel instead of one after the other.
// - sw.js (the service worker) gets the build's version and the list of files that make up the
//   app shell; its name stays the same (a browser checks that address for updates).
// - Every text file gets a gzip (.gz) and a brotli (.br) copy next to it, compressed once here,
//   which the gateway sends to browsers that accept them (gateway/service.py, _static).
//
// Hashed files are immutable, so the gateway lets browsers cache them for a year. A rebuild adds
// new hashed files beside the old ones and replaces index.html, sw.js and assets.json last (each
// atomically), so a portal running while someone rebuilds never serves a page whose scripts are
// gone; hashed files no build refers to are deleted an hour after they were written.
// Nothing is rebuilt when the inputs (gateway/static, this script, package-lock.json, esbuild's
// version) have the same hash as the last build (assets.json's "inputs"). assets.json's
// "sources_at" says when the sources were last read: the gateway serves the build only while no
// source file is newer, and the sources themselves otherwise (gateway/static_files.py).

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import * as esbuild from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SRC = path.join(ROOT, 'gateway', 'static');
const OUT = path.join(SRC, 'dist');
const STALE_AFTER_MS = 60 * 60 * 1000;
const COMPRESSIBLE = /\.(js|css|json|html|svg|webmanifest)$/;
const HASHED = /-[A-Z0-9]{8}\.[a-z]+$/; // what the gateway treats as immutable (keep in step)

const force = process.argv.includes('--force');

function hash8(bytes) {
  // 8 characters of base32 (A-Z, 2-7), like esbuild's [hash]
  const digest = createHash('sha256').update(bytes).digest();
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of digest) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < 8) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    if (out.length === 8) break;
  }
  return out;
}

function hashedName(relative, bytes) {
  const ext = path.extname(relative);
  return `${relative.slice(0, -ext.length)}-${hash8(bytes)}${ext}`;
}

/** All source files (not the build output), sorted, as paths relative to gateway/static. */
function sourceFiles(dir = SRC, prefix = '') {
  const found = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const relative = prefix + entry.name;
    if (entry.name.startsWith('.') || relative === 'dist') continue;
    if (entry.isDirectory()) found.push(...sourceFiles(path.join(dir, entry.name), `${relative}/`));
    else found.push(relative);
  }
  return found.sort();
}

function inputsHash() {
  const digest = createHash('sha256');
  digest.update(`esbuild ${esbuild.version}\n`);
  digest.update(fs.readFileSync(fileURLToPath(import.meta.url)));
  // the npm packages bundled in (Chart.js): another version is another build
  digest.update(fs.readFileSync(path.join(ROOT, 'package-lock.json')));
  for (const file of sourceFiles()) {
    digest.update(`\n${file}\n`);
    digest.update(fs.readFileSync(path.join(SRC, file)));
  }
  return digest.digest('hex').slice(0, 16);
}

/** Writes a file atomically (a temporary name, then rename), with its .gz and .br copies. */
function writeOut(relative, bytes) {
  const target = path.join(OUT, relative);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const variants = [['', bytes]];
  // tiny files are not worth it, but scripts always get their copies (esbuild's shared helper
  // chunk can be a hundred bytes), so every script is sent the same way
  if (COMPRESSIBLE.test(relative) && (bytes.length > 256 || relative.endsWith('.js'))) {
    variants.push(['.gz', zlib.gzipSync(bytes, { level: 9 })]);
    variants.push(['.br', zlib.brotliCompressSync(bytes, {
      params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
    })]);
  }
  // the compressed copies first: the gateway offers them only once the plain file exists
  for (const [suffix, data] of variants.reverse()) {
    const temporary = `${target}${suffix}.tmp-${process.pid}`;
    fs.writeFileSync(temporary, data);
    fs.renameSync(temporary, target + suffix);
  }
}

/** Rewrites i18n.js's `./i18n/${lang}.json` so it asks for the hashed copies. */
function i18nPlugin(i18nNames) {
  return {
    name: 'portal-i18n-names',
    setup(build) {
      build.onLoad({ filter: /[\\/]gateway[\\/]static[\\/]i18n\.js$/ }, async (args) => {
        const source = await fs.promises.readFile(args.path, 'utf8');
        const pattern = /`\.\/i18n\/\$\{(\w+)\}\.json`/g;
        if (!pattern.test(source)) {
          throw new Error('gateway/static/i18n.js no longer fetches `./i18n/${lang}.json`: '
            + 'update i18nPlugin in scripts/build_assets.mjs to give it the hashed file names');
        }
        const names = JSON.stringify(i18nNames);
        const contents = source.replace(pattern, (_, variable) => `(${names}[${variable}] || \`./i18n/\${${variable}}.json\`)`);
        return { contents, loader: 'js' };
      });
    },
  };
}

async function build() {
  // When the sources were last read: the gateway serves the build only while no source file is
  // newer than this (else the sources themselves; gateway/static_files.py).
  const sourcesAt = Date.now();
  const inputs = inputsHash();
  const manifestPath = path.join(OUT, 'assets.json');
  if (!force && fs.existsSync(manifestPath) && fs.existsSync(path.join(OUT, 'index.html'))) {
    try {
      const last = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
      if (last.inputs === inputs) {
        writeOut('assets.json', Buffer.from(`${JSON.stringify({ ...last, sources_at: sourcesAt }, null, 2)}\n`));
        console.log('[build_assets] gateway/static/dist is up to date');
        return;
      }
    } catch {
      // unreadable: build again
    }
  }
  const began = Date.now();
  const files = {}; // source name (as index.html and the manifest refer to it) -> served name
  const written = new Set(); // every file of this build, relative to dist/

  // 1. Files copied under a hashed name: translations, icons.
  const copied = sourceFiles().filter((f) => /^i18n\/[\w-]+\.json$/.test(f) || /\.(svg|png)$/.test(f));
  const i18nNames = {};
  for (const file of copied) {
    const bytes = fs.readFileSync(path.join(SRC, file));
    const name = hashedName(file, bytes);
    writeOut(name, bytes);
    written.add(name);
    files[file] = name;
    const lang = /^i18n\/([\w-]+)\.json$/.exec(file);
    if (lang) {
      i18nNames[lang[1]] = `./${name}`;
      writeOut(file, bytes); // the unhashed address keeps working (served with no-cache)
      written.add(file);
    }
  }

  // 2. The web app manifest, pointing at the hashed icons.
  const webManifest = JSON.parse(fs.readFileSync(path.join(SRC, 'manifest.webmanifest'), 'utf8'));
  for (const icon of webManifest.icons || []) {
    const source = icon.src.replace(/^\/static\//, '');
    if (!files[source]) throw new Error(`manifest.webmanifest: no icon ${icon.src}`);
    icon.src = `/static/${files[source]}`;
  }
  const manifestBytes = Buffer.from(JSON.stringify(webManifest));
  files['manifest.webmanifest'] = hashedName('manifest.webmanifest', manifestBytes);
  writeOut(files['manifest.webmanifest'], manifestBytes);
  written.add(files['manifest.webmanifest']);

  // 3. Scripts and styles.
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: { app: path.join(SRC, 'app.js'), styles: path.join(SRC, 'styles.css') },
    bundle: true,
    splitting: true,
    format: 'esm',
    minify: true,
    target: 'es2022', // what the sources use (?? , 60_000); every current browser
    entryNames: '[name]-[hash]',
    chunkNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    // files the styles refer to with url(./…): copied with a hash in the name
    loader: { '.svg': 'file', '.png': 'file', '.woff2': 'file' },
    outdir: OUT,
    write: false,
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
    plugins: [i18nPlugin(i18nNames)],
  });
  const outputs = result.metafile.outputs;
  let entry = null;
  let css = null;
  for (const file of result.outputFiles) {
    const name = path.relative(OUT, file.path).split(path.sep).join('/');
    if (name.endsWith('.map')) continue;
    writeOut(name, Buffer.from(file.contents));
    written.add(name);
    const meta = outputs[path.relative(ROOT, file.path).split(path.sep).join('/')];
    if (meta && meta.entryPoint === 'gateway/static/app.js') entry = name;
    if (meta && meta.entryPoint === 'gateway/static/styles.css') css = name;
  }
  if (!entry || !css) throw new Error('esbuild did not produce the app and styles entries');
  files['app.js'] = entry;
  files['styles.css'] = css;
  // The chunks the entry imports statically (needed before anything renders) and the ones it
  // loads with import(): the staff pages (lazyChunks), and customer code only some pages need
  // (onDemandChunks: the Insights page; Chart.js, loaded when a chart is about to be seen).
  // Only the static ones are preloaded and precached.
  const imports = outputs[`gateway/static/dist/${entry}`].imports;
  const staticChunks = imports.filter((i) => i.kind === 'import-statement').map((i) => path.basename(i.path));
  const dynamicChunks = new Set();
  for (const [name, meta] of Object.entries(outputs)) {
    if (!name.endsWith('.js')) continue;
    for (const i of meta.imports) if (i.kind === 'dynamic-import') dynamicChunks.add(path.basename(i.path));
  }
  const lazyChunks = [...dynamicChunks].filter((c) => c.startsWith('ops-'));
  const onDemandChunks = [...dynamicChunks].filter((c) => !c.startsWith('ops-'));

  // 4. index.html: hashed names, preloads, the build's version.
  const version = hash8(Buffer.from([...written].sort().join('\n')));
  let html = fs.readFileSync(path.join(SRC, 'index.html'), 'utf8');
  html = html.replace(/(src|href)="\/static\/([^"]+)"/g, (whole, attr, name) => {
    if (!files[name]) throw new Error(`index.html refers to /static/${name}, which the build does not produce`);
    return `${attr}="/static/${files[name]}"`;
  });
  const preloads = [
    `<meta name="portal-build" content="${version}">`,
    ...staticChunks.map((c) => `<link rel="modulepreload" href="/static/${c}">`),
    `<link rel="preload" href="/static/${files['i18n/en.json']}" as="fetch" type="application/json" crossorigin>`,
  ].map((line) => `  ${line}\n`).join('');
  html = html.replace(/(\s*)<\/head>/, (whole) => `\n${preloads.trimEnd()}${whole}`);
  writeOut('index.html', Buffer.from(html));

  // 5. The service worker: the version and the app shell (not the staff chunks).
  const shell = ['/', ...[entry, ...staticChunks, css].map((name) => `/static/${name}`)];
  const ifCached = [...Object.values(i18nNames).map((name) => name.slice(2)), files['manifest.webmanifest'],
    ...Object.keys(files).filter((f) => /\.(svg|png)$/.test(f)).map((f) => files[f])]
    .map((name) => `/static/${name}`);
  let worker = fs.readFileSync(path.join(SRC, 'sw.js'), 'utf8');
  const placeholders = {
    VERSION: JSON.stringify(version),
    SHELL: JSON.stringify(shell),
    IF_CACHED: JSON.stringify(ifCached),
  };
  for (const [name, value] of Object.entries(placeholders)) {
    const pattern = new RegExp(`^const ${name} = .*;$`, 'm');
    if (!pattern.test(worker)) throw new Error(`sw.js has no line "const ${name} = …;" for the build to fill in`);
    worker = worker.replace(pattern, () => `const ${name} = ${value};`);
  }
  writeOut('sw.js', Buffer.from(worker));

  // 6. The build manifest last: what was built, from which inputs.
  writeOut('assets.json', Buffer.from(`${JSON.stringify({
    inputs, version, files, staticChunks, lazyChunks, onDemandChunks, sources_at: sourcesAt, built_at: new Date().toISOString(),
  }, null, 2)}\n`));

  // 7. Hashed files no build refers to any more, once they are an hour old.
  const keep = new Set([...written, 'index.html', 'sw.js', 'assets.json']);
  const now = Date.now();
  const prune = (dir, prefix = '') => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const relative = prefix + entry.name;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        prune(full, `${relative}/`);
        continue;
      }
      const base = relative.replace(/\.(gz|br)$/, '');
      const leftover = /\.tmp-\d+$/.test(relative);
      if ((leftover || (HASHED.test(base) && !keep.has(base)))
          && now - fs.statSync(full).mtimeMs > STALE_AFTER_MS) {
        fs.rmSync(full, { force: true });
      }
    }
  };
  prune(OUT);

  const size = (name) => fs.statSync(path.join(OUT, name)).size;
  const gz = (name) => (fs.existsSync(path.join(OUT, `${name}.gz`)) ? size(`${name}.gz`) : size(name));
  const firstLoad = [entry, ...staticChunks, css, files['i18n/en.json'], 'index.html'];
  console.log(`[build_assets] built gateway/static/dist in ${Date.now() - began} ms (version ${version}): `
    + `first load ${(firstLoad.reduce((n, f) => n + size(f), 0) / 1024).toFixed(1)} KB, `
    + `${(firstLoad.reduce((n, f) => n + gz(f), 0) / 1024).toFixed(1)} KB gzipped; `
    + `staff chunks: ${lazyChunks.join(', ')}; on demand: ${onDemandChunks.join(', ')}`);
}

build().catch((err) => {
  console.error(`[build_assets] ${err && err.message ? err.message : err}`);
  process.exit(1);
});
