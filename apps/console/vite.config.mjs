import path from 'node:path';

import { defineConfig } from 'vite';

const root = import.meta.dirname;

export default defineConfig({
  root,
  base: '/console/',
  // The project's one typed client (clients/typescript), shared with the agents' side.
  resolve: { alias: { '@app/client': path.resolve(root, '../../clients/typescript/src/index.ts') } },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: path.resolve(root, '../../dist/console'),
    emptyOutDir: true,
    // The service's Content-Security-Policy allows no inline script or data: script.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
