// Node module resolve hook for the `hokusai` bin: tfjs-core's ESM files (pulled in by
// `@tensorflow/tfjs-core/dist/register_all_gradients`) use extensionless relative imports such as './gradients',
// which bundlers accept but Node's ESM resolver rejects (and `dist/gradients` is also a directory). Retry those
// with `.js` so the CLI loads the same code the tests (vite) load.
export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    const fromTfjs = typeof context.parentURL === 'string' && context.parentURL.includes('/node_modules/@tensorflow/');
    if (fromTfjs && specifier.startsWith('.') && !specifier.endsWith('.js')) {
      return nextResolve(`${specifier}.js`, context);
    }
    throw error;
  }
}
