/**
 * @file A Svelte attachment for a box that scrolls (a wide table on a narrow screen, a capped text box): while its content
 * overflows, the box is a named region in the tab order, so a keyboard user can focus it and scroll it with the
 * arrow keys; while everything fits, it is a plain box and no extra tab stop.
 */
import type { Attachment } from 'svelte/attachments';

/**
 * The attributes that make an overflowing box reachable by keyboard, as a named region. Written only when they
 * change, so a resize report that changes nothing changes nothing in the document.
 */
function mark(element: HTMLElement, label: string, overflowing: boolean): void {
  if (overflowing) {
    if (element.getAttribute('tabindex') !== '0') element.tabIndex = 0;
    if (element.getAttribute('role') !== 'region') element.setAttribute('role', 'region');
    if (element.getAttribute('aria-label') !== label) element.setAttribute('aria-label', label);
  } else {
    for (const name of ['tabindex', 'role', 'aria-label']) {
      if (element.hasAttribute(name)) element.removeAttribute(name);
    }
  }
}

/**
 * `<div class="scroll" {@attach scrollRegion('Runs table')}>`: keeps the box focusable, with `label` as its name,
 * exactly while its content is wider (or taller) than the box. Re-checked when the box or its content changes size.
 *
 * Sizes are read only inside the ResizeObserver's callback, which the browser runs after its own layout: a region
 * never forces a layout in the middle of a render (eighteen of them mounting with a tab used to force one each).
 */
export function scrollRegion(label: string): Attachment<HTMLElement> {
  return (element) => {
    const observer = new ResizeObserver(() =>
      mark(
        element,
        label,
        element.scrollWidth > element.clientWidth + 1 || element.scrollHeight > element.clientHeight + 1,
      ),
    );
    const observeAll = (): void => {
      // Observing anew makes the next frame report the box even when its own size did not change (content
      // removed), and reports every child not yet observed (content added): the check runs after that layout.
      observer.unobserve(element);
      observer.observe(element);
      for (const child of element.children) observer.observe(child);
    };
    // Content that is replaced (rows added, a table swapped) is observed too.
    const mutations = new MutationObserver(observeAll);
    mutations.observe(element, { childList: true });
    observeAll();
    return () => {
      observer.disconnect();
      mutations.disconnect();
    };
  };
}
