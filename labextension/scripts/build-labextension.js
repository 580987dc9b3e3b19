#!/usr/bin/env node
/*
 * Builds the prebuilt labextension (what `jupyter labextension build .` does),
 * without any network access.
 *
 * `jupyter labextension build` in JupyterLab >= 4.6 resolves the core package
 * metadata by version and may try to download it. We pass it explicitly:
 *
 *   1. $JC_CORE_PACKAGE_FILE, if set;
 *   2. the installed JupyterLab's staging/package.json, found with the
 *      `python` on PATH (so shared package versions match the JupyterLab the
 *      extension will run in);
 *   3. @jupyterlab/core-meta from node_modules (a dependency of
 *      @jupyter/builder).
 *
 * Usage: node scripts/build-labextension.js [--development] [--source-map] [--watch]
 */
'use strict';

const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const here = path.resolve(__dirname, '..');

function fromPython() {
  const code =
    'import os, jupyterlab; ' +
    "print(os.path.join(os.path.dirname(jupyterlab.__file__), 'staging', 'package.json'))";
  for (const exe of [process.env.PYTHON, 'python', 'python3'].filter(Boolean)) {
    const res = spawnSync(exe, ['-c', code], { encoding: 'utf8' });
    if (res.status === 0) {
      const file = res.stdout.trim();
      if (file && fs.existsSync(file)) {
        return file;
      }
    }
  }
  return null;
}

function fromNodeModules() {
  try {
    return require.resolve('@jupyterlab/core-meta/core.package.json', { paths: [here] });
  } catch {
    return null;
  }
}

function corePackageFile() {
  const env = process.env.JC_CORE_PACKAGE_FILE;
  if (env) {
    if (!fs.existsSync(env)) {
      throw new Error(`JC_CORE_PACKAGE_FILE=${env} does not exist`);
    }
    return { file: env, source: 'JC_CORE_PACKAGE_FILE' };
  }
  const py = fromPython();
  if (py) {
    return { file: py, source: 'installed jupyterlab' };
  }
  const nm = fromNodeModules();
  if (nm) {
    return { file: nm, source: '@jupyterlab/core-meta' };
  }
  throw new Error(
    'Cannot find the JupyterLab core package file: install jupyterlab in the ' +
      'Python on PATH, or set JC_CORE_PACKAGE_FILE.'
  );
}

function main() {
  const { file, source } = corePackageFile();
  const builder = require.resolve('@jupyter/builder/lib/build-labextension.js', { paths: [here] });
  const args = [builder, '--core-package-file', file, ...process.argv.slice(2), here];
  console.log(`Building labextension with core package file from ${source}: ${file}`);
  const res = spawnSync(process.execPath, args, { cwd: here, stdio: 'inherit' });
  if (res.error) {
    throw res.error;
  }
  process.exit(res.status === null ? 1 : res.status);
}

try {
  main();
} catch (err) {
  console.error(`build-labextension: ${err.message}`);
  process.exit(1);
}
