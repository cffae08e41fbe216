/**
 * THE list of providers this gateway speaks. Adding a provider = its folder exporting one
 * ProviderDefinition + one line here; kinds, config validation, the registry and the OpenAPI
 * enums follow from it.
 */
import { azureProvider } from './azure/azure-provider.ts';
import { geminiProvider } from './gemini/gemini-provider.ts';
import { openaiProvider } from './openai/openai-provider.ts';
import { ProviderCatalog } from './provider-catalog.ts';
import type { ProviderDefinition } from './provider-definition.ts';
import { vertexProvider } from './vertex/vertex-provider.ts';

export const PROVIDER_DEFINITIONS: readonly ProviderDefinition[] = [openaiProvider, azureProvider, vertexProvider, geminiProvider];

export const defaultCatalog = new ProviderCatalog(PROVIDER_DEFINITIONS);
