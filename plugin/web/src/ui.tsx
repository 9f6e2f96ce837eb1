// Pieces every section uses: the section frame, the loading placeholder, the error with its
// retry button, and a small status badge.

import type { ComponentChildren, Ref } from 'preact';
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Api } from './api';
import { describeError } from './api';
import type { Loaded } from './load';
import type { Category, TicketRef } from './types';

export interface PanelContext {
  api: Api;
  ticket: TicketRef;
  // Category names by id, empty until ListCategories answers (ids are shown meanwhile).
  categories: Map<string, Category>;
}

export const Panel = createContext<PanelContext | null>(null);

export function usePanel(): PanelContext {
  const p = useContext(Panel);
  if (p === null) throw new Error('usePanel outside <Panel.Provider>');
  return p;
}

export function categoryName(categories: Map<string, Category>, id: string | undefined): string {
  if (!id) return 'No cause';
  return categories.get(id)?.name || id;
}

// A section of the panel. `headingRef` lets an action whose button goes away (unlink, link)
// put the keyboard focus back on the section's heading instead of losing it to the page.
export function Section(props: {
  id: string;
  title: string;
  busy?: boolean;
  headingRef?: Ref<HTMLHeadingElement>;
  children: ComponentChildren;
}) {
  const headingId = `${props.id}-heading`;
  return (
    <section class="card" id={props.id} aria-labelledby={headingId} aria-busy={props.busy}>
      <h2 id={headingId} ref={props.headingRef} tabIndex={props.headingRef ? -1 : undefined}>
        {props.title}
      </h2>
      {props.children}
    </section>
  );
}

export function Skeleton(props: { lines?: number }) {
  const lines = Array.from({ length: props.lines ?? 3 }, (_, i) => i);
  return (
    <div class="skeleton">
      <span class="visually-hidden">Loading…</span>
      {lines.map((i) => (
        <div key={i} class={`skeleton-line w${i % 3}`} aria-hidden="true" />
      ))}
    </div>
  );
}

export function ErrorNote(props: { error: unknown; what: string; onRetry?: () => void }) {
  return (
    <div class="error" role="alert">
      <p>{describeError(props.error, props.what)}</p>
      {props.onRetry && (
        <button type="button" class="secondary" onClick={props.onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

// Shows the placeholder before the first answer, the error (with a retry) when there is no
// data to show, and otherwise the content, with a small error line above it when a reload
// failed while older data is still on screen.
export function Loadable<T>(props: {
  state: Loaded<T>;
  what: string;
  lines?: number;
  children: (data: T) => ComponentChildren;
}) {
  const { state } = props;
  if (state.data === undefined) {
    if (state.error !== undefined)
      return <ErrorNote error={state.error} what={props.what} onRetry={state.reload} />;
    return <Skeleton lines={props.lines} />;
  }
  return (
    <>
      {state.error !== undefined && (
        <ErrorNote error={state.error} what={props.what} onRetry={state.reload} />
      )}
      {props.children(state.data)}
    </>
  );
}

export function Badge(props: { tone: string; children: ComponentChildren }) {
  return <span class={`badge ${props.tone}`}>{props.children}</span>;
}

// A link that leaves Debrief: a new tab, no opener, no referrer, and says so to screen readers.
export function OutLink(props: { href: string; class?: string; children: ComponentChildren }) {
  return (
    <a class={props.class} href={props.href} target="_blank" rel="noopener noreferrer">
      {props.children}
      <span class="visually-hidden"> (opens in a new tab)</span>
    </a>
  );
}

// Only http(s) links from debriefd become links: a javascript: URL in a ticket never does.
export function safeUrl(url: string | undefined): string | null {
  if (!url) return null;
  try {
    const u = new URL(url, window.location.href);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : null;
  } catch {
    return null;
  }
}
