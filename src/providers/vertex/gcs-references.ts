/**
 * Cloud Storage references a client may put in a chat message (README "Endpoints" (chat)): `gs://bucket/object`
 * URIs and the https forms of the same objects (`https://storage.googleapis.com/bucket/object`,
 * `https://storage.cloud.google.com/bucket/object`, `https://bucket.storage.googleapis.com/object`,
 * Cloud Storage "Request endpoints"). They name Vertex's storage whatever the configuration says;
 * an https form is also looked up as its `gs://` URI, the form uploads are recorded under. Each
 * derived form is an exact rewrite of one endpoint's addressing, so a reference never matches the
 * record of another object.
 */

const PATH_STYLE_HOSTS = new Set(['storage.googleapis.com', 'storage.cloud.google.com']);
const VIRTUAL_HOSTED_SUFFIX = '.storage.googleapis.com';

/** The forms of a Cloud Storage reference (the value first), or undefined when it is not one. */
export function cloudStorageForms(value: string): string[] | undefined {
  if (/^gs:\/\//i.test(value)) return [value];
  if (!/^https?:\/\//i.test(value)) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  const host = url.hostname.toLowerCase();
  const pathStyle = PATH_STYLE_HOSTS.has(host);
  if (!pathStyle && !host.endsWith(VIRTUAL_HOSTED_SUFFIX)) return undefined;
  let path: string;
  try {
    path = decodeURIComponent(url.pathname).replace(/^\/+/, '');
  } catch {
    return [value]; // still Cloud Storage, just not an object name we can rewrite
  }
  return [value, pathStyle ? `gs://${path}` : `gs://${host.slice(0, -VIRTUAL_HOSTED_SUFFIX.length)}/${path}`];
}
