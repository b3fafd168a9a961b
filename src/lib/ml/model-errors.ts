/**
 * @file The errors a model's files cause, which loading elsewhere or on another device would not fix: thrown by
 * every model source and by the adapter, recognised by the model worker (no WebGPU → WASM retry for them).
 */

/**
 * A problem with a model's files (missing, truncated, corrupt, files from different models): loading elsewhere or
 * on another device would not help. `path` is the file's full path or URL.
 */
export class ModelFileError extends Error {
  override readonly name: string = 'ModelFileError';
  readonly path: string;

  constructor(path: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.path = path;
  }
}

/** A required model file that is absent; `path` is the full path or URL that was checked. */
export class ModelFileMissingError extends ModelFileError {
  override readonly name: string = 'ModelFileMissingError';
}
