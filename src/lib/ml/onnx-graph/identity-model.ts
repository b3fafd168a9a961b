/**
 * The smallest ONNX model a session accepts: one float in, the same float out. Creating a session from it starts
 * a runtime without loading any real model (ort-web-runtime.ts).
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** Input and output names of {@link identityModelBytes}. */
export const IDENTITY_INPUT = 'x';
export const IDENTITY_OUTPUT = 'y';

/** An opset-17 model with a single Identity node over a float tensor of shape [1]. */
export function identityModelBytes(): Uint8Array {
  const tensor = (name: string): onnxProto.onnx.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimValue: 1 }] } } },
  });
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'prompt-vs-finetune-playground',
    graph: {
      name: 'runtime-start',
      node: [{ opType: 'Identity', input: [IDENTITY_INPUT], output: [IDENTITY_OUTPUT] }],
      input: [tensor(IDENTITY_INPUT)],
      output: [tensor(IDENTITY_OUTPUT)],
    },
  }).finish();
}
