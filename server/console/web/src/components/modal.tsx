import type { ComponentChildren } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';

interface ModalProps {
  readonly title: string;
  readonly onClose: () => void;
  readonly children: ComponentChildren;
  readonly footer?: ComponentChildren;
  readonly wide?: boolean;
  /**
   * When set, Escape, the backdrop and × ask before closing, saying this (what would be lost).
   * Buttons in the footer close directly: they are deliberate.
   */
  readonly confirmDiscard?: string | undefined;
}

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/**
 * A dialog over the page: Escape or the backdrop closes it (asking first when input would be lost),
 * focus starts inside, stays inside (Tab wraps), and returns to where it was when the dialog closes.
 */
export function Modal({ title, onClose, children, footer, wide, confirmDiscard }: ModalProps) {
  const box = useRef<HTMLDivElement>(null);
  const [asking, setAsking] = useState(false);
  const askRef = useRef({ confirmDiscard, onClose, asking });
  askRef.current = { confirmDiscard, onClose, asking };
  const requestClose = () => {
    const { confirmDiscard: why, onClose: close, asking: already } = askRef.current;
    if (why && !already) setAsking(true);
    else close();
  };

  // Layout effects run in the task that puts the dialog on the page: a plain effect runs after the
  // next frame, and a key pressed before it (a quick user, a loaded machine) was lost (CI 2026-12-02).
  useLayoutEffect(() => {
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    box.current?.querySelector<HTMLElement>('input, textarea, select, button.primary')?.focus();
    return () => {
      // Focus goes back to what opened the dialog, if it is still on the page.
      if (opener?.isConnected) opener.focus();
    };
  }, []);

  useLayoutEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.preventDefault();
        if (askRef.current.asking) setAsking(false);
        else requestClose();
        return;
      }
      if (e.key !== 'Tab' || !box.current) return;
      const items = [...box.current.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((el) => el.offsetParent !== null || el === document.activeElement);
      if (items.length === 0) return;
      const first = items[0]!;
      const last = items[items.length - 1]!;
      const inside = box.current.contains(document.activeElement);
      if (e.shiftKey && (document.activeElement === first || !inside)) {
        e.preventDefault();
        last.focus();
      } else if (!e.shiftKey && (document.activeElement === last || !inside)) {
        e.preventDefault();
        first.focus();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  useEffect(() => {
    if (asking) box.current?.querySelector<HTMLElement>('[data-discard-keep]')?.focus();
  }, [asking]);

  return (
    <div class="backdrop" onMouseDown={(e) => e.target === e.currentTarget && requestClose()}>
      <div class={`modal${wide ? ' modal-wide' : ''}`} role="dialog" aria-modal="true" aria-label={title} ref={box}>
        <header class="modal-head">
          <h2>{title}</h2>
          <button type="button" class="icon-button" aria-label="Close" onClick={requestClose}>
            ×
          </button>
        </header>
        <div class="modal-body">
          {asking ? (
            <div class="discard" role="alertdialog" aria-label="Discard?" data-discard>
              <p>
                <strong>{confirmDiscard}</strong>
              </p>
              <div class="discard-actions">
                <button type="button" class="button primary" data-discard-keep onClick={() => setAsking(false)}>
                  Keep it open
                </button>
                <button type="button" class="button danger" onClick={onClose}>
                  Discard
                </button>
              </div>
            </div>
          ) : null}
          {children}
        </div>
        {footer ? <footer class="modal-foot">{footer}</footer> : null}
      </div>
    </div>
  );
}

/**
 * A form dialog's footer: Cancel, then the button that submits the form with id `form`, disabled
 * while the action runs or the input is not ready; `danger` when it forces something.
 */
export function FormFooter({ form, onCancel, busy, ready = true, danger = false, children }: { form: string; onCancel: () => void; busy: boolean; ready?: boolean; danger?: boolean; children: ComponentChildren }) {
  return (
    <>
      <button type="button" class="button" onClick={onCancel}>
        Cancel
      </button>
      <button type="submit" form={form} class={`button primary${danger ? ' danger' : ''}`} disabled={busy || !ready}>
        {children}
      </button>
    </>
  );
}
