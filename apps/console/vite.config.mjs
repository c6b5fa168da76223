import path from 'node:path';

import { defineConfig } from 'vite';

const root = import.meta.dirname;

export default defineConfig({
  root,
  base: '/console/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: path.resolve(root, '../../dist/console'),
    emptyOutDir: true,
    // The service's Content-Security-Policy allows no inline script or data: script.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
