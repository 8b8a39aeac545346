/**
 * Workaround for the Node bin: `@hokusai/model` imports tfjs-core's ESM gradient files (dist/*.js) while the
 * package name resolves to the CJS bundle. When the ESM files load first, the engine makes ESM `Tensor`s, whose
 * chained-op handler (set only by dist/base.js, never loaded there) is null, so gradients calling `dy.clone()`
 * (Cast's) crash with "Cannot read properties of null (reading 'clone')". Setting the ESM op handler, as
 * base.js does, fixes it; under vite (tests, browser) it is the handler base.js already set.
 */
import { setOpHandler } from '@tensorflow/tfjs-core/dist/tensor.js';
import * as esmOps from '@tensorflow/tfjs-core/dist/ops/ops.js';

setOpHandler(esmOps);
