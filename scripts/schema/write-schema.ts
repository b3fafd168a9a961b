/**
 * @file `npm run schema`: writes docs/experiment.schema.json and the settings tables of docs/experiment-file.md from
 * the validator's declarations (src/lib/core/experiment/json-schema.ts). A unit test fails when either committed
 * file is out of date.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { experimentJsonSchemaText, replaceSettingsBlock } from '../../src/lib/core/experiment/json-schema.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const schemaFile = path.join(root, 'docs/experiment.schema.json');
const docFile = path.join(root, 'docs/experiment-file.md');

await writeFile(schemaFile, experimentJsonSchemaText());
await writeFile(docFile, replaceSettingsBlock(await readFile(docFile, 'utf8')));
console.log('wrote docs/experiment.schema.json and the settings tables of docs/experiment-file.md');
