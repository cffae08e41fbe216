/** For an admin: create a key or a user (user id, models, duration); the new key is shown once. */
import { byId, checkedValues, fillCheckboxes } from './dom.ts';
import type { Gateway } from './gateway.ts';
import { announce, clearError, messageOf, showError } from './notices.ts';

export class KeysView {
  private gateway: Gateway | null = null;
  private readonly section = byId('keys');
  private readonly form = byId<HTMLFormElement>('key-form');
  private readonly models = byId<HTMLFieldSetElement>('key-models');

  constructor() {
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      const submitter = (event as SubmitEvent).submitter as HTMLButtonElement | null;
      void this.create(submitter?.value === 'user' ? 'user' : 'key', submitter);
    });
  }

  open(gateway: Gateway, modelNames: readonly string[]): void {
    this.gateway = gateway;
    fillCheckboxes(this.models, 'key-model', modelNames);
    this.section.hidden = false;
  }

  close(): void {
    this.gateway = null;
    this.section.hidden = true;
    this.form.reset();
    this.hideKey();
  }

  private hideKey(): void {
    byId<HTMLInputElement>('new-key-value').value = '';
    byId('new-key-owner').textContent = '';
    byId('new-key').hidden = true;
  }

  private async create(kind: 'key' | 'user', submitter: HTMLButtonElement | null): Promise<void> {
    const gateway = this.gateway;
    if (!gateway) return;
    clearError();
    this.hideKey();
    const userId = byId<HTMLInputElement>('key-user').value.trim();
    const duration = byId<HTMLInputElement>('key-duration').value.trim();
    const models = checkedValues(this.models);
    const body = { ...(userId ? { user_id: userId } : {}), ...(models.length > 0 ? { models } : {}), ...(duration ? { duration } : {}) };
    if (submitter) submitter.disabled = true;
    try {
      const created = kind === 'user' ? await gateway.createUser(body) : await gateway.createKey(body);
      if (gateway !== this.gateway) return;
      this.form.reset();
      const value = byId<HTMLInputElement>('new-key-value');
      value.value = created.key;
      byId('new-key-owner').textContent = created.user_id ? `It belongs to user ${created.user_id}.` : '';
      byId('new-key').hidden = false;
      announce(kind === 'user' ? `Created user ${created.user_id ?? ''} and its key.` : 'Created a key.');
      value.focus();
      value.select();
    } catch (error) {
      showError(messageOf(error));
    } finally {
      if (submitter) submitter.disabled = false;
    }
  }
}
