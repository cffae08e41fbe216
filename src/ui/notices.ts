/** The page's two live regions: the `alert` for errors and a polite `status` for what went well. */
import { byId } from './dom.ts';

export function showError(message: string): void {
  const alert = byId('alert');
  // Emptied first so that the same message twice is announced twice.
  alert.textContent = '';
  requestAnimationFrame(() => (alert.textContent = message));
  byId('status').textContent = '';
}

export function clearError(): void {
  byId('alert').textContent = '';
}

export function announce(message: string): void {
  byId('status').textContent = message;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
