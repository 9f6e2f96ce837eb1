// Section 1: what Debrief thinks caused the ticket, why, and the agent's correction.

import { useState } from 'preact/hooks';
import { describeError } from './api';
import { CategoryPicker } from './CategoryPicker';
import { ago, kindWords, localDateTime, percent, reasonWords } from './format';
import type { Loaded } from './load';
import type {
  Category,
  Classification,
  FeedbackResponse,
  GetTicketResponse,
  ListCategoriesResponse,
} from './types';
import { Badge, categoryName, Loadable, Section, usePanel } from './ui';

const kReasonsShown = 5;

export function RootCause(props: {
  ticket: Loaded<GetTicketResponse>;
  categories: Loaded<ListCategoriesResponse>;
  onChanged: () => void;
}) {
  return (
    <Section id="root-cause" title="Root cause" busy={props.ticket.loading}>
      <Loadable state={props.ticket} what="load the ticket's root cause" lines={4}>
        {(t) => (
          <>
            <Cause classification={t.classification} taxonomy={props.categories.data} />
            <Correction
              classification={t.classification}
              categories={props.categories}
              onChanged={props.onChanged}
            />
          </>
        )}
      </Loadable>
    </Section>
  );
}

function Cause(props: { classification?: Classification; taxonomy?: ListCategoriesResponse }) {
  const { categories } = usePanel();
  const c = props.classification;
  if (!c || (!c.categoryId && !(c.reasons ?? []).length && !c.needsReview)) {
    return <p class="empty">Debrief has not classified this ticket yet.</p>;
  }
  const category = c.categoryId ? categories.get(c.categoryId) : undefined;
  const reasons = [...(c.reasons ?? [])]
    .sort((a, b) => (Number(b.weight) || 0) - (Number(a.weight) || 0))
    .slice(0, kReasonsShown);
  const top = Math.max(0, ...reasons.map((r) => Number(r.weight) || 0));
  const byAgent = c.model === 'agent';
  return (
    <>
      <p class="cause">
        <span class="cause-name">
          {c.categoryId ? categoryName(categories, c.categoryId) : 'No cause found'}
        </span>
        {category && kindWords(category.kind) && (
          <Badge tone="plain">{kindWords(category.kind)}</Badge>
        )}
        {c.needsReview && <Badge tone="warn">Needs review</Badge>}
      </p>
      {c.categoryId && (
        <p class="confidence">
          {byAgent ? (
            'Set by an agent'
          ) : (
            <>
              Confidence <strong>{percent(c.confidence)}</strong>
            </>
          )}
        </p>
      )}
      {reasons.length > 0 && (
        <>
          <h3>Why</h3>
          <ul class="reasons">
            {reasons.map((r, i) => {
              const w = Number(r.weight) || 0;
              const words = reasonWords(r.feature);
              return (
                <li key={i}>
                  <span class="reason-text">
                    <span class="reason-label">{words.label}</span>
                    {words.kind && <span class="reason-kind"> {words.kind}</span>}
                  </span>
                  {w > 0 && (
                    <span class="reason-weight">
                      <span class="bar" aria-hidden="true">
                        <span style={{ width: `${Math.max(4, (w / (top || 1)) * 100)}%` }} />
                      </span>
                      <span class="weight">
                        <span class="visually-hidden">weight </span>
                        {w.toFixed(2)}
                      </span>
                    </span>
                  )}
                </li>
              );
            })}
          </ul>
        </>
      )}
      <p class="meta">
        {[
          props.taxonomy?.taxonomyVersion ? `Taxonomy ${props.taxonomy.taxonomyVersion}` : '',
          c.model && !byAgent ? `model ${c.model}` : '',
        ]
          .filter(Boolean)
          .join(' · ')}
        {c.classifiedAt && (
          <>
            {props.taxonomy?.taxonomyVersion || (c.model && !byAgent) ? ' · ' : ''}
            <time dateTime={c.classifiedAt} title={localDateTime(c.classifiedAt)}>
              classified {ago(c.classifiedAt)}
            </time>
          </>
        )}
      </p>
    </>
  );
}

function Correction(props: {
  classification?: Classification;
  categories: Loaded<ListCategoriesResponse>;
  onChanged: () => void;
}) {
  const { api, ticket } = usePanel();
  const [selected, setSelected] = useState<Category | null>(null);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState('');
  const [status, setStatus] = useState('');
  // Remounts the picker (empty again) after a save.
  const [round, setRound] = useState(0);

  const list = props.categories.data?.categories ?? [];
  const currentId = props.classification?.categoryId;

  async function save(e: Event) {
    e.preventDefault();
    if (saving) return;
    if (!selected) {
      setStatus('');
      setError('Choose a category first.');
      return;
    }
    setSaving(true);
    setError('');
    setStatus('');
    try {
      await api.call<FeedbackResponse>('Tagging', 'Feedback', {
        ticket,
        categoryId: selected.id,
        agent: api.name,
      });
      setStatus(`Saved. The cause is now ${selected.name || selected.id}.`);
      setSelected(null);
      setRound((r) => r + 1);
      props.onChanged();
    } catch (err) {
      setError(describeError(err, 'save the correction'));
    } finally {
      setSaving(false);
    }
  }

  return (
    <form class="correction" onSubmit={save}>
      {props.categories.data === undefined ? (
        props.categories.error !== undefined ? (
          <div class="error" role="alert">
            <p>{describeError(props.categories.error, 'load the categories')}</p>
            <button type="button" class="secondary" onClick={props.categories.reload}>
              Try again
            </button>
          </div>
        ) : (
          <p class="hint">Loading the categories…</p>
        )
      ) : (
        <>
          <CategoryPicker
            key={round}
            label="Correct the cause"
            categories={list}
            currentId={currentId}
            alternatives={props.classification?.alternatives}
            selected={selected}
            onSelect={(c) => {
              setSelected(c);
              setStatus('');
              setError('');
            }}
            disabled={saving}
          />
          {selected && selected.id === currentId && (
            <p class="hint">That is the current cause: saving confirms it.</p>
          )}
          <button type="submit" class="primary" disabled={saving}>
            {saving ? 'Saving…' : 'Save correction'}
          </button>
        </>
      )}
      {error && (
        <p class="error-text" role="alert">
          {error}
        </p>
      )}
      <p class="status-note" role="status">
        {status}
      </p>
    </form>
  );
}
