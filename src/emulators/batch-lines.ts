/**
 * Validation of one batch input line as OpenAI and Azure do it before a batch runs
 * (docs/wire-formats.md §1.10 BatchRequestInput, §2.4): JSON object, unique string `custom_id`,
 * `method` POST, `url` the batch's endpoint, `body` an object; Azure also wants one
 * `body.model` (the deployment name) on every line.
 */
export interface LineProblem {
  code: string;
  message: string;
  param: string | null;
  line: number | null;
}

export interface LineRules {
  endpoint: string;
  /** custom_ids seen so far (updated). */
  seen: Set<string>;
  provider: 'openai' | 'azure';
  /** body.model values seen so far (Azure: at most one). */
  models: Set<string>;
}

/** `/chat/completions` and `/v1/chat/completions` name the same endpoint on Azure (docs/wire-formats.md §2.4). */
function sameEndpoint(url: string, endpoint: string, provider: LineRules['provider']): boolean {
  if (url === endpoint) return true;
  if (provider !== 'azure') return false;
  const strip = (value: string): string => value.replace(/^\/v1(?=\/)/, '');
  return strip(url) === strip(endpoint);
}

export function checkBatchLine(line: string, number: number, rules: LineRules): LineProblem | undefined {
  const problem = (code: string, message: string, param: string | null = null): LineProblem => ({ code, message, param, line: number });
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return problem('invalid_json_line', 'This line is not parseable as valid JSON.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return problem('invalid_json_line', 'This line is not a JSON object.');
  const request = value as Record<string, unknown>;
  for (const key of ['custom_id', 'method', 'url', 'body']) {
    if (!(key in request)) return problem('missing_required_parameter', `Missing required parameter: '${key}'.`, key);
  }
  if (typeof request.custom_id !== 'string') return problem('invalid_type', "Invalid type for 'custom_id': expected a string.", 'custom_id');
  if (rules.seen.has(request.custom_id)) return problem('duplicate_custom_id', `The custom_id '${request.custom_id}' is used more than once.`, 'custom_id');
  rules.seen.add(request.custom_id);
  if (request.method !== 'POST') return problem('invalid_value', "Invalid value for 'method': only 'POST' is supported.", 'method');
  if (typeof request.url !== 'string' || !sameEndpoint(request.url, rules.endpoint, rules.provider)) {
    return problem('mismatched_endpoint', `The url of this line does not match the batch endpoint '${rules.endpoint}'.`, 'url');
  }
  if (typeof request.body !== 'object' || request.body === null || Array.isArray(request.body)) {
    return problem('invalid_type', "Invalid type for 'body': expected an object.", 'body');
  }
  const model = (request.body as Record<string, unknown>).model;
  if (rules.provider === 'azure') {
    if (typeof model !== 'string') return problem('missing_required_parameter', "Missing required parameter: 'body.model'.", 'body.model');
    rules.models.add(model);
    if (rules.models.size > 1) return problem('model_mismatch', 'Every line of an Azure batch must name the same deployment in body.model.', 'body.model');
  }
  return undefined;
}
