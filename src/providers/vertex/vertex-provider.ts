/**
 * The `vertex_ai` provider (Vertex AI Gemini, files in Cloud Storage): what the gateway needs to
 * know about it. `GCS_BUCKET_NAME` and `STORAGE_EMULATOR_HOST` are the environment fallbacks
 * LiteLLM and the Cloud Storage client libraries document; GOOGLE_APPLICATION_CREDENTIALS,
 * GCE_METADATA_HOST and GOOGLE_CLOUD_PROJECT those of Application Default Credentials.
 */
import { z } from 'zod';
import type { ProviderDefinition } from '../provider-definition.ts';
import { optionalText, optionalUrl } from '../shared/param-schemas.ts';
import { createVertexAdapter } from './vertex-adapter.ts';
import { cloudStorageForms } from './gcs-references.ts';

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
    const given = params.vertex_credentials as string | Record<string, unknown> | undefined;
    // Application Default Credentials when the config names no key: the key file
    // GOOGLE_APPLICATION_CREDENTIALS names, else the metadata server (GCE_METADATA_HOST or
    // metadata.google.internal), with the project from GOOGLE_CLOUD_PROJECT.
    const credentials = given === undefined ? env.GOOGLE_APPLICATION_CREDENTIALS : typeof given === 'string' ? given : JSON.stringify(given);
    const emulatorHost = env.STORAGE_EMULATOR_HOST;
    return {
      vertexProject: (params.vertex_project as string | undefined) ?? env.GOOGLE_CLOUD_PROJECT,
      vertexLocation: params.vertex_location as string | undefined,
      vertexCredentials: credentials,
      bucketName: (params.bucket_name ?? params.gcs_bucket_name ?? env.GCS_BUCKET_NAME) as string | undefined,
      // STORAGE_EMULATOR_HOST may be given with or without a scheme (fake-gcs-server convention).
      gcsApiBase: (params.gcs_api_base as string | undefined) ?? (emulatorHost ? withScheme(emulatorHost) : undefined),
      ...(credentials ? {} : { options: { metadataBaseUrl: withScheme(env.GCE_METADATA_HOST ?? 'metadata.google.internal') } }),
    };
  },
  check: (settings) =>
    settings.vertexCredentials || !settings.model || settings.vertexProject
      ? []
      : [{ key: 'vertex_project', message: 'required when credentials come from the metadata server (or set GOOGLE_CLOUD_PROJECT)' }],
  createAdapter: createVertexAdapter,
  capabilities: { files: true, chat: true, batches: true },
  recordedIdsOf: (reference) => (/^gs:\/\//i.test(reference) ? [reference] : []),
  storedReferenceForms: cloudStorageForms,
};

function withScheme(host: string): string {
  return /^https?:\/\//.test(host) ? host.replace(/\/+$/, '') : `http://${host}`;
}
