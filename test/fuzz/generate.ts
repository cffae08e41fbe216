/** Case `index` of run `seed`: an area, a class within it, then the class draws the rest. */
import { ADMIN_CLASSES } from './cases-admin.ts';
import { BATCH_CLASSES } from './cases-batches.ts';
import { CHAT_CLASSES } from './cases-chat.ts';
import { EDGE_CLASSES, type Operation } from './cases-edge.ts';
import { FILES_CLASSES } from './cases-files.ts';
import { UPLOAD_CLASSES } from './cases-upload.ts';
import type { CaseDraft, FuzzCase } from './case-types.ts';
import { Random } from './random.ts';

type Maker = (random: Random, operations: readonly Operation[]) => CaseDraft;

const AREAS: ReadonlyArray<readonly [number, ReadonlyArray<readonly [number, Maker]>]> = [
  [34, UPLOAD_CLASSES],
  [24, FILES_CLASSES],
  [15, CHAT_CLASSES],
  [10, ADMIN_CLASSES],
  [17, EDGE_CLASSES],
  [4, BATCH_CLASSES],
];

export function generateCase(seed: number, index: number, operations: readonly Operation[]): FuzzCase {
  const random = Random.forCase(seed, index);
  const classes = random.weighted(AREAS);
  const make = random.weighted(classes);
  const draft = make(random, operations);
  return { ...draft, owed: draft.owed ?? 'answer', index };
}
