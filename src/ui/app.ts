/**
 * Unifile's web page (README "The web page"): sign in with an API key kept in sessionStorage only, then the
 * caller's managed files and, for an admin, key creation. Served from /ui under a strict CSP.
 */
import { byId } from './dom.ts';
import { FilesView } from './files-view.ts';
import { Gateway, GatewayError, type Session } from './gateway.ts';
import { KeysView } from './keys-view.ts';
import { announce, clearError, messageOf, showError } from './notices.ts';

const STORAGE_KEY = 'unifile.apiKey';

const files = new FilesView();
const keys = new KeysView();
const signInSection = byId('sign-in');
const keyInput = byId<HTMLInputElement>('api-key');

function describe(session: Session): string {
  if (session.master_key) return 'Signed in with the master key (admin)';
  const who = session.user_id ? `Signed in as ${session.user_id}` : 'Signed in with a key of no user';
  return session.is_admin ? `${who} (admin)` : who;
}

async function enter(gateway: Gateway, session: Session): Promise<void> {
  const models = await gateway.models();
  byId('who').textContent = describe(session);
  byId('account').hidden = false;
  signInSection.hidden = true;
  byId('workspace').hidden = false;
  if (session.is_admin) keys.open(gateway, models);
  else keys.close();
  await files.open(gateway, models);
}

function leave(): void {
  sessionStorage.removeItem(STORAGE_KEY);
  files.close();
  keys.close();
  byId('account').hidden = true;
  byId('who').textContent = '';
  byId('workspace').hidden = true;
  signInSection.hidden = false;
}

async function signIn(key: string, restoring: boolean): Promise<void> {
  clearError();
  const gateway = new Gateway(key);
  try {
    const session = await gateway.session();
    sessionStorage.setItem(STORAGE_KEY, key);
    keyInput.value = '';
    await enter(gateway, session);
    if (!restoring) byId('files-title').focus();
  } catch (error) {
    // A stored key that no longer works is forgotten.
    if (error instanceof GatewayError && error.status === 401) leave();
    showError(messageOf(error));
    if (!restoring) keyInput.focus();
  }
}

byId<HTMLFormElement>('sign-in-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const key = keyInput.value.trim();
  if (!key) {
    showError('Enter an API key.');
    keyInput.focus();
    return;
  }
  void signIn(key, false);
});

byId('sign-out').addEventListener('click', () => {
  clearError();
  leave();
  announce('Signed out.');
  keyInput.focus();
});

const stored = sessionStorage.getItem(STORAGE_KEY);
if (stored) void signIn(stored, true);
