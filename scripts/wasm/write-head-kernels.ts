/**
 * @file `npm run wasm`: compiles src/lib/ml/head-kernels.wat and writes src/lib/ml/head-kernels-binary.ts. Run it
 * after editing the .wat file; a unit test fails while the committed binary is out of date.
 */
import { writeFile } from 'node:fs/promises';
import { compileHeadKernels, HEAD_KERNELS_MODULE, headKernelsModuleText } from './head-kernels.ts';

const binary = await compileHeadKernels();
await writeFile(HEAD_KERNELS_MODULE, headKernelsModuleText(binary));
console.log(`wrote src/lib/ml/head-kernels-binary.ts (${binary.length} bytes of WebAssembly)`);
