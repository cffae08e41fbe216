/** Config loading (README "Running it"): env references, key paths in errors, warnings, and the CLI's exit. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config/load-config.ts';

const problemsOf = (text: string, env: Record<string, string> = {}) => {
  try {
    loadConfig({ text }, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.problems;
  }
  assert.fail('expected the config to be refused');
};

test('os.environ/NAME is resolved anywhere, and a missing one names the key path and the variable', () => {
  const config = loadConfig(
    {
      text: `
model_list:
  - model_name: m
    params: { model: azure/my-deployment, api_base: os.environ/AZ_BASE, api_key: os.environ/AZ_KEY }
    model_info: { id: dep-1 }
general_settings: { master_key: os.environ/MK }
`,
    },
    { AZ_BASE: 'https://example.openai.azure.com', AZ_KEY: 'k', MK: 'sk-master' },
  );
  assert.equal(config.masterKey, 'sk-master');
  assert.deepEqual(
    { id: config.deployments[0]!.id, provider: config.deployments[0]!.settings.provider, model: config.deployments[0]!.settings.model, key: config.deployments[0]!.settings.apiKey },
    { id: 'dep-1', provider: 'azure', model: 'my-deployment', key: 'k' },
  );
  assert.ok(Object.isFrozen(config.deployments[0]));

  const problems = problemsOf(`files_settings:\n  - custom_llm_provider: openai\n    api_key: os.environ/NOT_SET_ANYWHERE\n`);
  assert.deepEqual(problems, ['files_settings[0].api_key: environment variable NOT_SET_ANYWHERE is not set']);
});

test('bad YAML, unknown providers and invalid values are errors with key paths; unknown keys warn', () => {
  assert.match(problemsOf('model_list: [ {')[0]!, /not valid YAML/);
  // A model_list provider not spoken here is skipped with a warning (README "Configuration reference"), not an error.
  const skipped = loadConfig({ text: 'model_list:\n  - model_name: x\n    litellm_params: { model: nosuch/model, api_key: os.environ/UNSET_KEY }\n' }, {});
  assert.deepEqual(skipped.warnings, ["model_list[0] (model_name 'x'): provider 'nosuch' is not supported here; entry skipped"]);
  assert.deepEqual(skipped.deployments, []);
  assert.deepEqual(skipped.unsupportedModels, [{ modelName: 'x', reason: "provider 'nosuch'" }]);
  const invalid = problemsOf('general_settings: { max_upload_size_mb: -3 }\nfiles_settings:\n  - custom_llm_provider: azure\n');
  assert.ok(invalid.some((problem) => problem.startsWith('general_settings.max_upload_size_mb:')), invalid.join('\n'));

  const config = loadConfig({ text: 'general_settings: { master_key: sk-1, colour: blue }\nsurprise: 1\n' }, {});
  assert.deepEqual([...config.warnings].sort(), ['general_settings.colour: unknown key, ignored', 'surprise: unknown key, ignored']);
});

test('deployment ids are stable hashes when model_info.id is absent; bare model names mean openai', () => {
  const text = 'model_list:\n  - model_name: a\n    litellm_params: { model: gpt-4o-mini }\n';
  const first = loadConfig({ text }, {});
  const second = loadConfig({ text }, {});
  assert.equal(first.deployments[0]!.id, second.deployments[0]!.id);
  assert.match(first.deployments[0]!.id, /^[0-9a-f]{64}$/);
  assert.equal(first.deployments[0]!.settings.provider, 'openai');
});

test('the CLI exits non-zero with one readable message and no stack trace', () => {
  const directory = mkdtempSync(join(tmpdir(), 'unifile-config-'));
  const path = join(directory, 'config.yaml');
  writeFileSync(path, 'files_settings:\n  - custom_llm_provider: openai\n    api_key: os.environ/UNIFILE_TEST_MISSING\n');
  const result = spawnSync(process.execPath, ['bin/unifile.js', '--config', path, '--port', '0'], { encoding: 'utf8', env: { ...process.env, UNIFILE_TEST_MISSING: '' } });
  assert.equal(result.status, 2);
  assert.match(result.stderr, /files_settings\[0\]\.api_key: environment variable UNIFILE_TEST_MISSING is not set/);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');

  const help = spawnSync(process.execPath, ['bin/unifile.js', '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /unifile emulate/);
});
