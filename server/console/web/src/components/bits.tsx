import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { num } from '../format.js';

export function Badge({ tone, children, title }: { tone: 'ok' | 'warn' | 'bad' | 'info' | 'muted'; children: ComponentChildren; title?: string }) {
  return (
    <span class={`badge badge-${tone}`} title={title}>
      {children}
    </span>
  );
}

export function Chips({ items, empty = 'none' }: { items: readonly string[]; empty?: string }) {
  if (items.length === 0) return <span class="muted">{empty}</span>;
  return (
    <span class="chips">
      {items.map((p) => (
        <span class="chip" key={p}>
          {p}
        </span>
      ))}
    </span>
  );
}

export function Field({ label, hint, children }: { label: string; hint?: ComponentChildren; children: ComponentChildren }) {
  return (
    <label class="field">
      <span class="field-label">{label}</span>
      {children}
      {hint ? <span class="field-hint">{hint}</span> : null}
    </label>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="empty">{children}</div>;
}

/** Copies to the clipboard, falling back to a selection copy where the Clipboard API is refused. */
export function CopyButton({ text, label = 'Copy', aria, small }: { text: string; label?: string; aria?: string; small?: boolean }) {
  const [done, setDone] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      const area = document.createElement('textarea');
      area.value = text;
      document.body.append(area);
      area.select();
      document.execCommand('copy');
      area.remove();
    }
    setDone(true);
    setTimeout(() => setDone(false), 1500);
  };
  return (
    <button type="button" class={`button${small ? ' button-small' : ''}`} onClick={() => void copy()} data-copied={done ? 'true' : 'false'} aria-label={aria}>
      {done ? 'Copied' : label}
    </button>
  );
}

export function Pager({ offset, limit, total, onPage }: { offset: number; limit: number; total: number; onPage: (offset: number) => void }) {
  const page = Math.floor(offset / limit) + 1;
  const pages = Math.max(1, Math.ceil(total / limit));
  return (
    <div class="pager">
      <span class="muted" data-range>
        {total === 0 ? 'no results' : `${num(offset + 1)}–${num(Math.min(offset + limit, total))} of ${num(total)}`}
      </span>
      <button type="button" class="button" disabled={page <= 1} onClick={() => onPage(0)} aria-label="First page">
        «
      </button>
      <button type="button" class="button" disabled={page <= 1} onClick={() => onPage(Math.max(0, offset - limit))}>
        ‹ Prev
      </button>
      <span class="pager-page">
        page {num(page)} of {num(pages)}
      </span>
      <button type="button" class="button" disabled={page >= pages} onClick={() => onPage(offset + limit)}>
        Next ›
      </button>
      <button type="button" class="button" disabled={page >= pages} onClick={() => onPage((pages - 1) * limit)} aria-label="Last page">
        »
      </button>
    </div>
  );
}
