/**
 * The `vertex_ai` provider (Vertex AI Gemini, files in Cloud Storage): what the gateway needs to
 * know about it. `GCS_BUCKET_NAME` and `STORAGE_EMULATOR_HOST` are the environment fallbacks
 * LiteLLM and the Cloud Storage client libraries document.
 */
import { z } from 'zod';
import type { ProviderDefinition } from '../provider-definition.ts';
import { optionalText, optionalUrl } from '../shared/param-schemas.ts';
import { createVertexAdapter } from './vertex-adapter.ts';

export const vertexProvider: ProviderDefinition = {
  kind: 'vertex_ai',
  params: {
    vertex_project: optionalText,
    vertex_location: optionalText,
    vertex_credentials: z.union([z.string().min(1), z.record(z.string(), z.unknown())]).optional(),
    bucket_name: optionalText,
    gcs_bucket_name: optionalText,
    gcs_api_base: optionalUrl,
  },
  settings: (params, env) => {
    const credentials = params.vertex_credentials as string | Record<string, unknown> | undefined;
    const emulatorHost = env.STORAGE_EMULATOR_HOST;
    return {
      vertexProject: params.vertex_project as string | undefined,
      vertexLocation: params.vertex_location as string | undefined,
      vertexCredentials: credentials === undefined || typeof credentials === 'string' ? credentials : JSON.stringify(credentials),
      bucketName: (params.bucket_name ?? params.gcs_bucket_name ?? env.GCS_BUCKET_NAME) as string | undefined,
      // STORAGE_EMULATOR_HOST may be given with or without a scheme (fake-gcs-server convention).
      gcsApiBase: (params.gcs_api_base as string | undefined) ?? (emulatorHost ? (/^https?:\/\//.test(emulatorHost) ? emulatorHost : `http://${emulatorHost}`) : undefined),
    };
  },
  check: (settings) =>
    settings.vertexCredentials ? [] : [{ key: 'vertex_credentials', message: 'required for vertex_ai (service-account JSON or its path)' }],
  createAdapter: createVertexAdapter,
  capabilities: { files: true, chat: true },
  recordedIdsOf: (reference) => (/^gs:\/\//i.test(reference) ? [reference] : []),
};
