/** Looking up a unified file id's target on one deployment (README "Endpoints" (chat)), shared by the chat converters. */
import { errors, type GatewayError } from '../../core/errors.ts';
import type { FileReferenceTargets } from '../provider-adapter.ts';

type Target = FileReferenceTargets[string];

/**
 * The provider file behind `fileId` on `instance`; undefined when `fileId` is not a unified id
 * of this request (a provider id the client sent itself). A unified id without an entry for this
 * deployment is a 400: the service only routes to deployments holding every referenced file, so
 * this is the backstop, not the normal path.
 */
export function lookupFileReference(input: {
  fileReferences: Record<string, FileReferenceTargets>;
  fileId: string;
  instance: string;
  param: string;
}): Target | undefined {
  if (!Object.hasOwn(input.fileReferences, input.fileId)) return undefined;
  const target = input.fileReferences[input.fileId]![input.instance];
  if (!target) throw missingTarget(input.fileId, input.param);
  return target;
}

function missingTarget(fileId: string, param: string): GatewayError {
  return errors.invalidValue(param, `File ${fileId} is not available on the deployment chosen for this request.`);
}
