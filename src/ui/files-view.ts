/** The Files table (newest first, Load more), the upload form with its progress bar, Download and Delete. */
import { byId, checkedValues, el, fillCheckboxes, formatBytes, timeCell } from './dom.ts';
import type { FileObject, Gateway } from './gateway.ts';
import { announce, clearError, messageOf, showError } from './notices.ts';

const PAGE_SIZE = 20;

export class FilesView {
  private gateway: Gateway | null = null;
  private after: string | null = null;
  private rowCount = 0;
  private readonly body = byId<HTMLTableSectionElement>('files-body');
  private readonly loadMoreButton = byId<HTMLButtonElement>('load-more');
  private readonly empty = byId('files-empty');
  private readonly models = byId<HTMLFieldSetElement>('upload-models');
  private readonly dialog = byId<HTMLDialogElement>('delete-dialog');

  constructor() {
    this.loadMoreButton.addEventListener('click', () => void this.loadMore());
    byId<HTMLFormElement>('upload-form').addEventListener('submit', (event) => {
      event.preventDefault();
      void this.upload();
    });
    byId('delete-cancel').addEventListener('click', () => this.dialog.close('cancel'));
    byId('delete-confirm').addEventListener('click', () => this.dialog.close('delete'));
  }

  async open(gateway: Gateway, modelNames: readonly string[]): Promise<void> {
    this.gateway = gateway;
    fillCheckboxes(this.models, 'upload-model', modelNames);
    if (modelNames.length === 0) this.models.append(el('p', { className: 'hint', textContent: 'This key may use no model.' }));
    this.body.replaceChildren();
    this.after = null;
    await this.loadMore();
  }

  close(): void {
    this.gateway = null;
    this.body.replaceChildren();
    this.models.querySelectorAll('label, p').forEach((node) => node.remove());
    this.loadMoreButton.hidden = true;
    this.empty.hidden = true;
    byId('upload-progress-box').hidden = true;
    byId<HTMLFormElement>('upload-form').reset();
  }

  private async loadMore(): Promise<void> {
    const gateway = this.gateway;
    if (!gateway) return;
    this.loadMoreButton.disabled = true;
    try {
      const page = await gateway.listFiles(PAGE_SIZE, this.after);
      if (gateway !== this.gateway) return;
      const first = page.data.length > 0 ? this.body.rows.length : -1;
      for (const file of page.data) this.body.append(this.row(file));
      this.after = page.last_id ?? this.after;
      this.loadMoreButton.hidden = !page.has_more;
      this.showEmpty();
      // Keyboard users continue where the new rows start when the button goes away.
      if (first > 0 && !page.has_more) this.body.rows[first]?.querySelector('button')?.focus();
    } catch (error) {
      showError(messageOf(error));
    } finally {
      this.loadMoreButton.disabled = false;
    }
  }

  private showEmpty(): void {
    this.empty.hidden = this.body.rows.length > 0;
  }

  private row(file: FileObject): HTMLTableRowElement {
    this.rowCount += 1;
    const nameId = `file-name-${this.rowCount}`;
    const download = el('button', { type: 'button', className: 'secondary', textContent: 'Download' });
    const remove = el('button', { type: 'button', className: 'secondary', textContent: 'Delete' });
    download.setAttribute('aria-describedby', nameId);
    remove.setAttribute('aria-describedby', nameId);
    const row = el(
      'tr',
      {},
      el('td', { className: 'name', id: nameId, textContent: file.filename }),
      el('td', { className: 'number', textContent: formatBytes(file.bytes), title: `${file.bytes} bytes` }),
      el('td', { className: 'models', textContent: (file.target_model_names ?? []).join(', ') }),
      el('td', {}, timeCell(file.created_at, '')),
      el('td', {}, timeCell(file.expires_at, 'never')),
      el('td', { className: 'id' }, el('code', { textContent: file.id })),
      el('td', { className: 'actions' }, download, remove),
    );
    row.dataset.fileId = file.id;
    download.addEventListener('click', () => void this.download(file, download));
    remove.addEventListener('click', () => void this.confirmDelete(file, row));
    return row;
  }

  private async download(file: FileObject, button: HTMLButtonElement): Promise<void> {
    if (!this.gateway) return;
    clearError();
    button.disabled = true;
    try {
      const blob = await this.gateway.download(file.id);
      const url = URL.createObjectURL(blob);
      const link = el('a', { href: url, download: file.filename });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      announce(`Downloaded ${file.filename}.`);
    } catch (error) {
      showError(messageOf(error));
    } finally {
      button.disabled = false;
    }
  }

  private async confirmDelete(file: FileObject, row: HTMLTableRowElement): Promise<void> {
    byId('delete-name').textContent = file.filename;
    this.dialog.returnValue = '';
    const closed = new Promise<string>((resolve) => this.dialog.addEventListener('close', () => resolve(this.dialog.returnValue), { once: true }));
    this.dialog.showModal();
    if ((await closed) !== 'delete' || !this.gateway) return;
    clearError();
    try {
      await this.gateway.deleteFile(file.id);
    } catch (error) {
      showError(messageOf(error));
      return;
    }
    const next = (row.nextElementSibling ?? row.previousElementSibling) as HTMLTableRowElement | null;
    row.remove();
    this.showEmpty();
    announce(`Deleted ${file.filename}.`);
    (next?.querySelector<HTMLButtonElement>('button') ?? byId('files-title')).focus();
  }

  private async upload(): Promise<void> {
    const gateway = this.gateway;
    if (!gateway) return;
    clearError();
    const input = byId<HTMLInputElement>('upload-file');
    const file = input.files?.[0];
    const models = checkedValues(this.models);
    if (!file) return showError('Choose a file to upload.');
    if (models.length === 0) return showError('Tick at least one of the target models.');
    const button = byId<HTMLButtonElement>('upload-button');
    const progress = byId<HTMLProgressElement>('upload-progress');
    const text = byId('upload-progress-text');
    const report = (sent: number, total: number) => {
      progress.max = Math.max(total, 1);
      progress.value = sent;
      const words = `${formatBytes(sent)} of ${formatBytes(total)} sent`;
      progress.setAttribute('aria-valuetext', words);
      text.textContent = words;
    };
    button.disabled = true;
    byId('upload-progress-box').hidden = false;
    report(0, file.size);
    try {
      const created = await gateway.upload(file, byId<HTMLSelectElement>('upload-purpose').value, models, report);
      if (gateway !== this.gateway) return;
      this.body.prepend(this.row(created));
      this.showEmpty();
      input.value = '';
      announce(`Uploaded ${created.filename} for ${models.join(', ')}.`);
    } catch (error) {
      showError(messageOf(error));
    } finally {
      button.disabled = false;
    }
  }
}
