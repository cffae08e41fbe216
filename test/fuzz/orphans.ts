/**
 * After the run: nothing orphaned. The emulators' stores may hold only files a client got an id
 * for (a plain upload's provider id, or a copy of a managed file whose unified id a client got)
 * and did not delete; the database holds no managed file, copy, owner record or pending delete
 * that no client knows of; no spooled body is left in the run's TMPDIR.
 */
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { sql } from 'drizzle-orm';
import type { FuzzWorld } from './world.ts';

interface StoredItem {
  store: string;
  id: string;
  filename: string;
}

async function openaiFiles(name: string, url: string, apiKey: string): Promise<StoredItem[]> {
  const items: StoredItem[] = [];
  let after: string | undefined;
  for (;;) {
    const response = await fetch(`${url}/v1/files?limit=10000&order=asc${after ? `&after=${encodeURIComponent(after)}` : ''}`, { headers: { authorization: `Bearer ${apiKey}` } });
    const page = (await response.json()) as { data: Array<{ id: string; filename: string }>; has_more: boolean };
    items.push(...page.data.map((file) => ({ store: name, id: file.id, filename: file.filename })));
    if (!page.has_more || page.data.length === 0) return items;
    after = page.data[page.data.length - 1]!.id;
  }
}

export async function storedItems(fuzz: FuzzWorld): Promise<StoredItem[]> {
  const { emulators } = fuzz.harness;
  const azure = await fetch(`${emulators.azure.url}/openai/files?api-version=2024-10-21`, { headers: { 'api-key': 'azure-emulator-key' } });
  const azureFiles = ((await azure.json()) as { data: Array<{ id: string; filename: string }> }).data.map((file) => ({ store: 'azure', id: file.id, filename: file.filename }));
  return [
    ...(await openaiFiles('openai', emulators.openai.url, 'sk-emulator-openai')),
    ...(await openaiFiles('openai-2', fuzz.second.url, 'sk-emulator-openai-2')),
    ...azureFiles,
    ...emulators.gemini.files().map((file) => ({ store: 'gemini', id: `file-gemini-${file.name.replace(/^files\//, '')}`, filename: file.displayName ?? '' })),
    ...emulators.google.objects().map((object) => ({ store: 'gcs', id: `gs://${object.bucket}/${object.name}`, filename: object.name.split('/').pop() ?? '' })),
  ];
}

type Rows = Array<Record<string, unknown>>;

async function query(fuzz: FuzzWorld, statement: ReturnType<typeof sql>): Promise<Rows> {
  const result = (await fuzz.harness.runtime.database.db.execute(statement)) as unknown as { rows: Rows };
  return result.rows;
}

/** Problems found now (empty = clean). */
export async function auditOrphans(fuzz: FuzzWorld): Promise<string[]> {
  const { ledger } = fuzz;
  const problems: string[] = [];
  const files = await query(fuzz, sql`SELECT id, status, owner_id FROM managed_files`);
  const copies = await query(fuzz, sql`SELECT file_id, deployment_id, provider_file_id, status FROM managed_file_copies`);
  const records = await query(fuzz, sql`SELECT provider, provider_file_id, owner_id, file_object->>'filename' AS filename FROM provider_files`);
  const pending = await query(fuzz, sql`SELECT deployment_id, provider_file_id, attempts, last_error FROM pending_provider_deletes`);

  const fileStatus = new Map(files.map((row) => [String(row.id), String(row.status)]));
  const expected = new Set<string>();
  for (const [id] of ledger.live) if (!fileStatus.has(id)) expected.add(id);
  for (const row of files) {
    const id = String(row.id);
    const known = ledger.live.has(id);
    if (row.status === 'active' && !known) problems.push(`managed file ${id} (owner ${row.owner_id}) is active in the DB but no client was given its id${ledger.deleted.has(id) ? ' (its delete answered 2xx)' : ''}`);
    if (row.status === 'deleting') problems.push(`managed file ${id} is stuck in 'deleting'`);
  }
  for (const [id] of ledger.live) {
    if (/^file-uf_/.test(id) && fileStatus.get(id) !== 'active') problems.push(`managed file ${id} was given to a client but its row is ${fileStatus.get(id) ?? 'missing'}`);
  }
  for (const copy of copies) {
    const fileId = String(copy.file_id);
    const status = fileStatus.get(fileId);
    if (status === undefined) problems.push(`copy ${copy.deployment_id}/${copy.provider_file_id} has no managed_files row (${fileId})`);
    if (copy.status === 'active' && status === 'active' && ledger.live.has(fileId)) expected.add(String(copy.provider_file_id));
  }
  for (const row of files) {
    if (row.status === 'active' && !copies.some((copy) => copy.file_id === row.id && copy.status === 'active')) problems.push(`managed file ${row.id} is active with no active copy`);
  }
  for (const record of records) {
    const id = String(record.provider_file_id);
    if (!ledger.live.has(id)) problems.push(`owner record ${record.provider}/${id} (${record.filename}, owner ${record.owner_id}) for a file no client holds${ledger.deleted.has(id) ? ' (deleted)' : ''}`);
  }
  const users = await query(fuzz, sql`SELECT user_id FROM users`);
  for (const row of users) {
    if (!ledger.users.has(String(row.user_id))) problems.push(`user ${JSON.stringify(String(row.user_id).slice(0, 60))} exists but no 2xx answer created it (half-done /user/new or /key/generate)`);
  }
  // The crash journal (migration 0005): a row outlives its upload only when the gateway died.
  const journal = await query(fuzz, sql`SELECT to_regclass('provider_copy_journal') IS NOT NULL AS present`);
  if (journal[0]?.present) {
    const rows = await query(fuzz, sql`SELECT deployment_id, provider_file_id, filename FROM provider_copy_journal`);
    for (const row of rows) problems.push(`journal row left: ${row.deployment_id}/${row.provider_file_id ?? '(no id)'} (${row.filename})`);
  }
  for (const row of pending) problems.push(`pending provider delete ${row.deployment_id}/${row.provider_file_id} (${row.attempts} attempts: ${String(row.last_error).slice(0, 120)})`);

  const stored = await storedItems(fuzz);
  for (const item of stored) {
    if (!expected.has(item.id)) problems.push(`orphaned ${item.store} file ${item.id} (${item.filename})${ledger.deleted.has(item.id) ? ' (its delete answered 2xx)' : ''}`);
  }
  // Emulator directories stay; the gateway's spool root may stay but must hold no file.
  const entries = await readdir(fuzz.tempDir, { recursive: true, withFileTypes: true });
  const spooled = entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(fuzz.tempDir, join(entry.parentPath, entry.name)))
    .filter((path) => !/^unifile-(openai|azure|google|gemini)-/.test(path));
  if (spooled.length > 0) problems.push(`${spooled.length} leftover files in the run's TMPDIR (spooled bodies): ${spooled.slice(0, 5).join(', ')}`);
  return problems;
}

/** Live ids a client holds that no store has (reported, not judged: see the report). */
export async function missingLive(fuzz: FuzzWorld): Promise<string[]> {
  const stored = new Set((await storedItems(fuzz)).map((item) => item.id));
  return [...fuzz.ledger.live.keys()].filter((id) => !/^file-uf_/.test(id) && !stored.has(id));
}
