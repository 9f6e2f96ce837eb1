// Section 5: this helpdesk's tickets the classifier is least sure of, the answer worth most
// first, each answered in one click with one of its two best guesses.

import { useRef, useState } from 'preact/hooks';
import { describeError } from './api';
import { percent } from './format';
import { useLoad } from './load';
import type { FeedbackResponse, ListReviewResponse, ReviewItem } from './types';
import { categoryName, Loadable, OutLink, safeUrl, Section, usePanel } from './ui';

const kShown = 5;

const keyOf = (r: ReviewItem) => `${r.ticket.helpdeskId}/${r.ticket.ticketId}`;

// `version` changes when the agent changed the open ticket, to load again.
export function ReviewNext(props: { version: number }) {
  const { api, ticket, categories } = usePanel();
  const heading = useRef<HTMLHeadingElement>(null);
  // Tickets answered here: off the list at once, whatever a reload still says.
  const [answered, setAnswered] = useState<ReadonlySet<string>>(new Set());
  const [busy, setBusy] = useState('');
  const [note, setNote] = useState<{ text: string; error: boolean }>({ text: '', error: false });
  const state = useLoad(
    () =>
      api.call<ListReviewResponse>('Tagging', 'ListReview', {
        helpdeskId: ticket.helpdeskId,
        limit: kShown + 1 + answered.size,
      }),
    [props.version, answered],
  );

  async function answer(r: ReviewItem, categoryId: string) {
    if (busy) return;
    setBusy(keyOf(r));
    setNote({ text: '', error: false });
    const name = categoryName(categories, categoryId);
    try {
      await api.call<FeedbackResponse>('Tagging', 'Feedback', {
        ticket: r.ticket,
        categoryId,
        agent: api.name,
      });
      setAnswered((s) => new Set(s).add(keyOf(r)));
      setNote({ text: `Thank you: ticket #${r.ticket.ticketId} is ${name} now.`, error: false });
      // Its buttons are gone: the keyboard goes back to the section, not to the page.
      heading.current?.focus();
    } catch (err) {
      setNote({ text: describeError(err, `answer ticket #${r.ticket.ticketId}`), error: true });
    } finally {
      setBusy('');
    }
  }

  return (
    <Section
      id="review-next"
      title="Tickets waiting for a cause"
      busy={state.loading && state.data === undefined}
      headingRef={heading}
    >
      <Loadable state={state} what="load the tickets waiting for a cause" lines={3}>
        {(r) => {
          const items = (r.tickets ?? [])
            .filter(
              (i) =>
                !answered.has(keyOf(i)) &&
                !(
                  i.ticket.helpdeskId === ticket.helpdeskId && i.ticket.ticketId === ticket.ticketId
                ),
            )
            .slice(0, kShown);
          return (
            <>
              {items.length === 0 ? (
                <p class="empty">No other ticket waits for a cause: Debrief is sure of each.</p>
              ) : (
                <>
                  <p class="meta">
                    Debrief is unsure of these tickets' cause; answering the first teaches it the
                    most.
                  </p>
                  <ul class="similar review-next">
                    {items.map((i) => (
                      <ReviewEntry
                        key={keyOf(i)}
                        item={i}
                        busy={busy !== ''}
                        onAnswer={(c) => answer(i, c)}
                      />
                    ))}
                  </ul>
                </>
              )}
              <p class={note.error ? 'status-note error' : 'status-note'} role="status">
                {note.text}
              </p>
            </>
          );
        }}
      </Loadable>
    </Section>
  );
}

function ReviewEntry(props: {
  item: ReviewItem;
  busy: boolean;
  onAnswer: (categoryId: string) => void;
}) {
  const { categories } = usePanel();
  const { item } = props;
  const t = item.ticket;
  const url = safeUrl(item.url);
  const subject = item.subject || `Ticket ${t.ticketId}`;
  const c = item.classification;
  // The two best guesses, each once (the best first).
  const guesses = [
    { id: c?.categoryId ?? '', confidence: c?.confidence },
    ...(c?.alternatives ?? []).map((a) => ({ id: a.categoryId ?? '', confidence: a.confidence })),
  ]
    .filter((g, i, all) => g.id !== '' && all.findIndex((o) => o.id === g.id) === i)
    .slice(0, 2);
  return (
    <li>
      <p class="entry-subject">
        {url ? <OutLink href={url}>{subject}</OutLink> : subject}{' '}
        <span class="muted">#{t.ticketId}</span>
      </p>
      {guesses.length === 0 ? (
        <p class="muted">No guess: open the ticket to give it a cause.</p>
      ) : (
        <>
          <p class="muted">
            Best guesses:{' '}
            {guesses
              .map((g) => `${categoryName(categories, g.id)} (${percent(g.confidence)})`)
              .join(' or ')}
          </p>
          <p class="answers">
            {guesses.map((g) => (
              // aria-disabled, not disabled, while an answer is saved: the button keeps the
              // keyboard focus.
              <button
                key={g.id}
                type="button"
                class="secondary small"
                aria-disabled={props.busy}
                aria-label={`Ticket #${t.ticketId} is ${categoryName(categories, g.id)}`}
                data-category={g.id}
                onClick={() => props.onAnswer(g.id)}
              >
                {categoryName(categories, g.id)}
              </button>
            ))}
          </p>
        </>
      )}
    </li>
  );
}
