/**
 * The Compute Engine / GKE metadata server as Application Default Credentials meet it
 * (cloud.google.com/compute/docs/access/authenticate-workloads, cloud.google.com/compute/docs/
 * metadata/querying-metadata): `GET /computeMetadata/v1/instance/service-accounts/default/token`
 * and `…/project/project-id`, only with the `Metadata-Flavor: Google` request header (403
 * otherwise), every answer carrying `Metadata-Flavor: Google`. Tokens are issued for the
 * instance's default service account and accepted by this emulator's Cloud Storage and Vertex AI.
 */
import type { EmulatorExchange } from './emulator-exchange.ts';
import type { GoogleOAuth } from './google-oauth.ts';

export const METADATA_PROJECT_ID = 'metadata-project';
export const METADATA_SERVICE_ACCOUNT = `default-compute@${METADATA_PROJECT_ID}.iam.gserviceaccount.com`;
const FLAVOR = { 'metadata-flavor': 'Google' };

/** True when the call was a metadata route (answered here). */
export async function handleMetadata(exchange: EmulatorExchange, oauth: GoogleOAuth): Promise<boolean> {
  if (!exchange.path.startsWith('/computeMetadata/')) return false;
  if (exchange.headers['metadata-flavor'] !== 'Google') {
    await exchange.sendText(403, 'Missing required header: Metadata-Flavor', FLAVOR);
    return true;
  }
  if (exchange.method !== 'GET') {
    await exchange.sendText(405, 'Method not allowed', FLAVOR);
    return true;
  }
  const path = exchange.path.replace(/\/+$/, '');
  if (path === '/computeMetadata/v1/instance/service-accounts/default/token') {
    await exchange.sendJson(200, oauth.issueToken(METADATA_SERVICE_ACCOUNT), FLAVOR);
  } else if (path === '/computeMetadata/v1/instance/service-accounts/default/email') {
    await exchange.sendText(200, METADATA_SERVICE_ACCOUNT, FLAVOR);
  } else if (path === '/computeMetadata/v1/project/project-id') {
    await exchange.sendText(200, METADATA_PROJECT_ID, FLAVOR);
  } else {
    await exchange.sendText(404, 'Not Found', FLAVOR);
  }
  return true;
}
