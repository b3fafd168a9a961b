/**
 * @file A Svelte attachment for a box that scrolls (a wide table on a narrow screen, a capped text box): while its content
 * overflows, the box is a named region in the tab order, so a keyboard user can focus it and scroll it with the
 * arrow keys; while everything fits, it is a plain box and no extra tab stop.
 */
import type { Attachment } from 'svelte/attachments';

/** The attributes that make an overflowing box reachable by keyboard, as a named region. */
function mark(element: HTMLElement, label: string, overflowing: boolean): void {
  if (overflowing) {
    element.tabIndex = 0;
    element.setAttribute('role', 'region');
    element.setAttribute('aria-label', label);
  } else {
    element.removeAttribute('tabindex');
    element.removeAttribute('role');
    element.removeAttribute('aria-label');
  }
}

/**
 * `<div class="scroll" {@attach scrollRegion('Runs table')}>`: keeps the box focusable, with `label` as its name,
 * exactly while its content is wider (or taller) than the box. Re-checked when the box or its content changes size.
 */
export function scrollRegion(label: string): Attachment<HTMLElement> {
  return (element) => {
    const update = (): void =>
      mark(
        element,
        label,
        element.scrollWidth > element.clientWidth + 1 || element.scrollHeight > element.clientHeight + 1,
      );
    const observer = new ResizeObserver(update);
    observer.observe(element);
    for (const child of element.children) observer.observe(child);
    // Content that is replaced (rows added, a table swapped) is observed too.
    const mutations = new MutationObserver(() => {
      for (const child of element.children) observer.observe(child);
      update();
    });
    mutations.observe(element, { childList: true });
    update();
    return () => {
      observer.disconnect();
      mutations.disconnect();
    };
  };
}
