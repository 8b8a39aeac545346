// Public entry of @hokusai/losses: Keras .h5 VGG reader, VGG16/19 feature network, Gram, content/style/TV losses,
// PerceptualLoss, default loss weights, and the converted weights format used by the weights cache.
// The losses are differentiated (training, pixel optimisation): tfjs-core's gradients are registered here too, not
// only by @hokusai/model (a module runs once, so the two imports register them once).
import '@tensorflow/tfjs-core/dist/register_all_gradients';
export * from './layers.ts';
export * from './keras-h5.ts';
export * from './vgg.ts';
export * from './gram.ts';
export * from './content-loss.ts';
export * from './style-loss.ts';
export * from './total-variation.ts';
export * from './lattice.ts';
export * from './stability-loss.ts';
export * from './reduce.ts';
export * from './perceptual-loss.ts';
export * from './default-weights.ts';
export * from './weights-format.ts';
