/** DOM helpers: every piece of text goes in as text (textContent / properties), never as HTML. */

export function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the page has no #${id}`);
  return element as T;
}

type Child = Node | string;

/** `el('td', {className: 'name'}, 'a <b> stays text')`: properties are set as properties. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, properties: Partial<HTMLElementTagNameMap[K]> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  Object.assign(element, properties);
  for (const child of children) element.append(child);
  return element;
}

const UNITS = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

const DATE_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** A `<time>` for unix seconds, or the given text when there is none. */
export function timeCell(seconds: number | null, none: string): Node {
  if (seconds === null) return document.createTextNode(none);
  const date = new Date(seconds * 1000);
  return el('time', { dateTime: date.toISOString(), textContent: DATE_TIME.format(date) });
}

/** One checkbox per name under a fieldset, keeping its legend. */
export function fillCheckboxes(fieldset: HTMLFieldSetElement, prefix: string, names: readonly string[]): void {
  for (const old of fieldset.querySelectorAll('label')) old.remove();
  names.forEach((name, index) => {
    const box = el('input', { type: 'checkbox', value: name, id: `${prefix}-${index}` });
    fieldset.append(el('label', { htmlFor: box.id }, box, name));
  });
}

export function checkedValues(fieldset: HTMLFieldSetElement): string[] {
  return [...fieldset.querySelectorAll<HTMLInputElement>('input[type="checkbox"]:checked')].map((box) => box.value);
}
