// Bundles the sidebar (after `npm ci`).
//
//   node build.mjs <outdir>                        app.js, app.css and index.html (the agents'
//                                                  sidebar) and console.js, console.css and
//                                                  console.html (the leads' insights): the files
//                                                  debriefd serves under /app/
//   node build.mjs <outdir> --freshdesk <appdir>   the same, and the Freshdesk app's bundle
//   node build.mjs --freshdesk <appdir>            only the Freshdesk app's bundle
//
// The Freshdesk bundle is the same panel behind Freshworks' request proxy
// (src/transport_freshdesk_main.ts): <appdir>/scripts/app.js and <appdir>/styles/app.css, the
// layout of an app's app/ folder on Freshworks' platform, whose index.html
// (deploy/apps/freshdesk/app/index.html) loads them. deploy/apps/freshdesk/package.sh uses it.
//
// The output depends only on the sources and the locked packages: no hashes, timestamps or
// absolute paths, so two builds of the same tree give the same bytes.

import { copyFile, mkdir, rename } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const usage = 'usage: node build.mjs <outdir> [--freshdesk <appdir>] | --freshdesk <appdir>';

let outArg;
let freshdeskArg;
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--freshdesk') {
    freshdeskArg = args[++i];
    if (!freshdeskArg) {
      console.error(usage);
      process.exit(2);
    }
  } else if (outArg === undefined && !args[i].startsWith('-')) {
    outArg = args[i];
  } else {
    console.error(usage);
    process.exit(2);
  }
}
if (outArg === undefined && freshdeskArg === undefined) {
  console.error(usage);
  process.exit(2);
}

const common = {
  absWorkingDir: here,
  bundle: true,
  minify: true,
  format: 'iife',
  platform: 'browser',
  // The browsers the helpdesks themselves support.
  target: ['chrome109', 'edge109', 'firefox115', 'safari15.6'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  define: { 'process.env.NODE_ENV': '"production"' },
  // Licence comments of the bundled packages stay, at the end of each file.
  legalComments: 'eof',
  charset: 'utf8',
  sourcemap: false,
  metafile: false,
  logLevel: 'warning',
};

if (outArg !== undefined) {
  const outdir = resolve(outArg);
  await mkdir(outdir, { recursive: true });
  await esbuild.build({
    ...common,
    entryPoints: { app: 'src/main.tsx', console: 'src/console_main.tsx' },
    outdir,
    entryNames: '[name]',
  });
  await copyFile(join(here, 'src', 'index.html'), join(outdir, 'index.html'));
  await copyFile(join(here, 'src', 'console.html'), join(outdir, 'console.html'));
}

if (freshdeskArg !== undefined) {
  const appdir = resolve(freshdeskArg);
  const scripts = join(appdir, 'scripts');
  const styles = join(appdir, 'styles');
  await mkdir(scripts, { recursive: true });
  await mkdir(styles, { recursive: true });
  // One IIFE: the panel (main.tsx, imported once the installation is signed in) is bundled in,
  // not split into a chunk, and its CSS gathered beside the script.
  await esbuild.build({
    ...common,
    entryPoints: { app: 'src/transport_freshdesk_main.ts' },
    outdir: scripts,
    entryNames: '[name]',
  });
  await rename(join(scripts, 'app.css'), join(styles, 'app.css'));
}
