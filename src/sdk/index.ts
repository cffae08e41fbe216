/** Unifile as a library: provider Files API functions and the managed-files Gateway. */
export { closeProviderClients, createFile, deleteFile, fileContent, listFiles, retrieveFile } from './provider-files.ts';
export type { CreateFileOptions, ProviderOptions } from './provider-files.ts';
export { Gateway, GatewaySession } from './gateway.ts';
export type { GatewayOpenOptions, ManagedCreateOptions } from './gateway.ts';
export { GatewayError } from '../core/errors.ts';
export type { FileDeleted, FileList, FileObject } from '../core/openai-types.ts';
