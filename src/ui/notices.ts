/** The page's two live regions: the `alert` for errors and a polite `status` for what went well. */
import { byId } from './dom.ts';

let pending: ReturnType<typeof setTimeout> | undefined;

export function showError(message: string): void {
  const alert = byId('alert');
  // Emptied first and filled a moment later, so that the same message twice is announced twice.
  clearError();
  byId('status').textContent = '';
  pending = setTimeout(() => (alert.textContent = message), 30);
}

export function clearError(): void {
  clearTimeout(pending);
  byId('alert').textContent = '';
}

export function announce(message: string): void {
  byId('status').textContent = message;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
