/**
 * Vite build of the web demo. The page imports `@hokusai/model` straight from its TypeScript source (the workspace
 * package's `exports` points at `src/index.ts`), so the browser runs the same network and checkpoint code as Node.
 * `base: './'` makes the build relocatable: `hokusai serve` mounts it at `/`, but any static host works too.
 */
import { defineConfig } from 'vite';

export default defineConfig({
  base: './',
  resolve: {
    // One tfjs engine for the page and @hokusai/model (two copies would mean two registries of backends/kernels).
    dedupe: ['@tensorflow/tfjs-core'],
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // tfjs backends are large; the warning would only repeat what the bench figures say.
    chunkSizeWarningLimit: 2500,
  },
  server: {
    // `npm run dev -w packages/web-demo`: API and model files come from a running `hokusai serve` (default port 8080).
    proxy: {
      '/v1': process.env.HOKUSAI_API ?? 'http://127.0.0.1:8080',
      '/models': process.env.HOKUSAI_API ?? 'http://127.0.0.1:8080',
    },
  },
});
