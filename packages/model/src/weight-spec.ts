/**
 * Weight specifications shared by both architectures: every trainable tensor's name, shape and initialiser
 * (PyTorch defaults: conv weights kaiming-uniform with a=√5, i.e. U(±1/√fan_in); conv biases U(±1/√fan_in);
 * instance-norm gamma 1 and beta 0). Conv kernels are stored in tfjs layout [kh, kw, in, out]
 * (transposed convs: [kh, kw, out, in], as tf.conv2dTranspose wants them).
 */
export interface WeightSpec {
  name: string;
  shape: number[];
  init: 'uniform' | 'ones' | 'zeros';
  /** fan_in for 'uniform' (bound 1/√fan_in). */
  fanIn: number;
}

export function convSpecs(prefix: string, k: number, cin: number, cout: number, bias: boolean): WeightSpec[] {
  const fanIn = k * k * cin;
  const specs: WeightSpec[] = [{ name: `${prefix}.weight`, shape: [k, k, cin, cout], init: 'uniform', fanIn }];
  if (bias) specs.push({ name: `${prefix}.bias`, shape: [cout], init: 'uniform', fanIn });
  return specs;
}

export function normSpecs(prefix: string, c: number): WeightSpec[] {
  return [
    { name: `${prefix}.weight`, shape: [c], init: 'ones', fanIn: 0 },
    { name: `${prefix}.bias`, shape: [c], init: 'zeros', fanIn: 0 },
  ];
}

export function shapeSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
