/** Small DOM helpers of the demo page: element lookup and the message/status regions. */

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`The page is missing the element #${id}`);
  return el as T;
}

/** A readable error in the page's alert region (never a blank screen). */
export function showMessage(text: string): void {
  const box = byId('messages');
  const p = document.createElement('p');
  p.textContent = text;
  box.replaceChildren(p);
  box.hidden = false;
}

export function clearMessage(): void {
  const box = byId('messages');
  box.replaceChildren();
  box.hidden = true;
}

export function setStatus(text: string): void {
  byId('status').textContent = text;
}
