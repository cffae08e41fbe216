/** `unifile keys create` (admin): POST /key/generate (README, "Endpoints"; README "Security"). */
import { openaiClient, type Connection } from './gateway-connection.ts';
import type { Output } from './output.ts';

interface GeneratedKey {
  key: string;
  key_name: string;
  key_alias: string | null;
  user_id: string | null;
  team_id: string | null;
  models: string[];
  expires: string | null;
}

export async function createKey(
  context: { target: Connection; output: Output },
  options: { user?: string; models: string[]; duration?: string; alias?: string; team?: string },
): Promise<void> {
  // The key routes live at the root, not under /v1.
  const client = await openaiClient(context.target, context.target.baseUrl);
  const body = {
    ...(options.user ? { user_id: options.user } : {}),
    ...(options.models.length > 0 ? { models: options.models } : {}),
    ...(options.duration ? { duration: options.duration } : {}),
    ...(options.alias ? { key_alias: options.alias } : {}),
    ...(options.team ? { team_id: options.team } : {}),
  };
  const created = await client.post<GeneratedKey>('/key/generate', { body });
  context.output.result(created, () =>
    [
      created.key,
      `  user     ${created.user_id ?? '- (the key owns its files)'}`,
      `  models   ${created.models.length > 0 ? created.models.join(', ') : 'all'}`,
      `  expires  ${created.expires ?? 'never'}`,
      'Keep it now: the gateway stores only its hash and cannot show it again.',
    ].join('\n'),
  );
}
