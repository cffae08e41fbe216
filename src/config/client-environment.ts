/** Environment variables the files/keys CLI reads (kept in config: the only folder that reads process.env). */
type Env = Record<string, string | undefined>;

export interface ClientEnvironment {
  /** UNIFILE_API_KEY: the key sent as `Authorization: Bearer …` when `--api-key` is not given. */
  apiKey?: string;
  /** UNIFILE_BASE_URL: the gateway when `--base-url` is not given. */
  baseUrl?: string;
}

export function clientEnvironment(env: Env = process.env): ClientEnvironment {
  return { apiKey: env.UNIFILE_API_KEY || undefined, baseUrl: env.UNIFILE_BASE_URL || undefined };
}
