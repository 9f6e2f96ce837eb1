// The admins' console, /app/admin: the adapters with their health and a check of each, what
// failed for good (deliveries the pipeline gave up on, outbox actions an adapter refused),
// retried once their cause is fixed or discarded, the API tokens, the taxonomy as it runs, the
// running configuration (secrets appear as where they come from, never as values) and the
// audit log.

import { useRef, useState } from 'preact/hooks';
import type { Editing, Saved } from './AdapterEditor';
import { AdapterForm, AdapterSetupPanel } from './AdapterEditor';
import type { Api } from './api';
import { describeError } from './api';
import type { Column } from './DataTable';
import { DataTable } from './DataTable';
import { ago, kindWords, localDateTime, num, until } from './format';
import type { Loaded } from './load';
import { useLoad } from './load';
import type {
  AdapterHealth,
  AdapterInfo,
  ApiToken,
  AuditEntry,
  Category,
  CheckAdapterResponse,
  ConfigChange,
  CreateApiTokenResponse,
  DeadAction,
  DeadLetter,
  DiscardDeadActionResponse,
  DiscardDeliveryResponse,
  GetConfigResponse,
  ListAdaptersResponse,
  ListApiTokensResponse,
  ListAuditResponse,
  ListCategoriesResponse,
  ListDeadActionsResponse,
  ListDeadLettersResponse,
  ReloadResponse,
  RemoveAdapterResponse,
  ReplayDeliveryResponse,
  RetryDeadActionResponse,
  TaxonomyChange,
  TaxonomyChangeKind,
  TaxonomyHistoryResponse,
  TaxonomyVersion,
} from './types';
import { Badge, Loadable, Section } from './ui';

export function Admin(props: { api: Api }) {
  // Retrying or discarding changes the adapters' outbox figures and the audit log.
  const [changes, setChanges] = useState(0);
  const changed = () => setChanges((n) => n + 1);
  return (
    <>
      <Adapters api={props.api} changes={changes} onChange={changed} />
      <DeadActions api={props.api} onChange={changed} />
      <DeadLetters api={props.api} onChange={changed} />
      <Tokens api={props.api} onChange={changed} />
      <Taxonomy api={props.api} />
      <Configuration api={props.api} onChange={changed} />
      <AuditLog api={props.api} changes={changes} />
    </>
  );
}

// "bad_signature 3, malformed 1"
function refusals(h: AdapterHealth | undefined): string {
  return Object.entries(h?.refusalsLastHour ?? {})
    .map(([reason, n]) => `${reason} ${num(n)}`)
    .join(', ');
}

// The base name of a path: "/etc/debrief/debrief.yaml" -> "debrief.yaml".
function baseName(path: string | undefined): string {
  return (path ?? '').split('/').pop() ?? '';
}

function Adapters(props: { api: Api; changes: number; onChange: () => void }) {
  const { api } = props;
  const list = useLoad(
    () => api.call<ListAdaptersResponse>('Admin', 'ListAdapters', {}),
    [props.changes],
  );
  // The main configuration file's name, for the adapters written there.
  const mainFile = useLoad(
    async () => baseName((await api.call<GetConfigResponse>('Admin', 'GetConfig', {})).file),
    [],
  );
  // The form (adding one, or changing `editing`), and the setup panel: one at a time.
  const [form, setForm] = useState<{ editing: Editing | null } | null>(null);
  const [setup, setSetup] = useState<{ id: string; kind: string; saved?: Saved } | null>(null);
  const [note, setNote] = useState<{ text: string; error: boolean } | null>(null);
  const [removing, setRemoving] = useState('');
  const addButton = useRef<HTMLButtonElement>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  function openForm(editing: Editing | null) {
    setSetup(null);
    setNote(null);
    setForm({ editing });
  }
  function closeForm() {
    setForm(null);
    addButton.current?.focus();
  }
  function saved(s: Saved) {
    setForm(null);
    setSetup({ id: s.id, kind: s.kind, saved: s });
    list.reload();
    props.onChange();
  }
  async function remove(a: AdapterInfo) {
    setRemoving(a.id);
    setNote(null);
    try {
      const r = await api.call<RemoveAdapterResponse>('Admin', 'RemoveAdapter', { id: a.id });
      const restart = r.reload?.restartNeeded ?? [];
      setNote({
        text:
          restart.length > 0
            ? `${a.id} is removed from its file; some changes take a restart of debriefd: ` +
              `${restart.join(', ')}.`
            : `${a.id} is removed: its file and its secrets are deleted and it no longer runs.`,
        error: restart.length > 0,
      });
      if (setup?.id === a.id) setSetup(null);
      if (form?.editing?.id === a.id) setForm(null);
      list.reload();
      props.onChange();
    } catch (e) {
      setNote({ text: describeError(e, `remove ${a.id}`), error: true });
    }
    setRemoving('');
    heading.current?.focus();
  }
  const [checks, setChecks] = useState<Record<string, CheckAdapterResponse | 'busy' | string>>({});
  async function check(id: string) {
    setChecks((c) => ({ ...c, [id]: 'busy' }));
    try {
      const r = await api.call<CheckAdapterResponse>('Admin', 'CheckAdapter', { id });
      setChecks((c) => ({ ...c, [id]: r }));
    } catch (e) {
      setChecks((c) => ({ ...c, [id]: describeError(e, `check ${id}`) }));
    }
  }
  const columns: Column<AdapterInfo>[] = [
    { label: 'Adapter', value: (a) => a.id },
    { label: 'Kind', value: (a) => a.kind ?? '' },
    { label: 'Type', value: (a) => a.type ?? '' },
    {
      label: 'Webhook',
      value: (a) => a.webhookUrl || a.webhookPath || '',
      show: (a) => (a.webhookUrl || a.webhookPath ? <code>{a.webhookUrl || a.webhookPath}</code> : '—'),
    },
    {
      label: 'Last webhook',
      value: (a) => a.health?.lastWebhook ?? '',
      show: (a) =>
        a.kind === 'helpdesk' || a.webhookPath ? ago(a.health?.lastWebhook) || 'None yet' : '—',
    },
    {
      label: 'Refused (1 h)',
      value: (a) => refusals(a.health),
      show: (a) => {
        const r = refusals(a.health);
        return r ? <span class="warn-text">{r}</span> : 'None';
      },
    },
    {
      label: 'API calls',
      value: (a) =>
        `${num(a.health?.callsOk)} ok, ${num(a.health?.callsFailed)} failed, ${num(a.health?.rateLimitWaits)} rate-limited`,
      show: (a) => (
        <>
          {num(a.health?.callsOk)} ok
          {a.health?.lastSuccess ? `, last ${ago(a.health.lastSuccess)}` : ''}
          {num(a.health?.callsFailed) > 0 && <>; {num(a.health?.callsFailed)} failed</>}
          {num(a.health?.rateLimitWaits) > 0 && (
            <>; waited {num(a.health?.rateLimitWaits)}× for a rate limit</>
          )}
        </>
      ),
    },
    {
      label: 'Last error',
      value: (a) => a.health?.lastError ?? '',
      show: (a) =>
        a.health?.lastError ? (
          <span class="error-text">
            {ago(a.health.lastErrorAt)}: {a.health.lastError}
          </span>
        ) : (
          'None'
        ),
    },
    {
      label: 'Listing',
      value: (a) => a.health?.reconciledTo ?? '',
      show: (a) =>
        a.kind !== 'helpdesk'
          ? '—'
          : a.health?.reconciledTo || a.health?.nextReconcile
            ? [
                a.health?.reconciledTo ? `listed to ${ago(a.health.reconciledTo)}` : 'not caught up',
                a.health?.nextReconcile ? `next ${until(a.health.nextReconcile)}` : '',
              ]
                .filter(Boolean)
                .join('; ')
            : 'Not listed',
    },
    {
      label: 'Outbox',
      value: (a) => `${num(a.health?.outboxPending)} waiting, ${num(a.health?.outboxDead)} dead`,
      show: (a) => (
        <>
          {num(a.health?.outboxPending)} waiting
          {num(a.health?.outboxDead) > 0 && (
            <>
              , <a href="#dead-actions">{num(a.health?.outboxDead)} failed</a>
            </>
          )}
        </>
      ),
    },
    {
      label: 'Check',
      value: (a) => {
        const c = checks[a.id];
        return typeof c === 'object' ? (c.ok ? 'OK' : `FAILED: ${c.message ?? ''}`) : '';
      },
      show: (a) => {
        const c = checks[a.id];
        return (
          <span class="check" role="status">
            {c === 'busy' && 'Checking…'}
            {typeof c === 'string' && c !== 'busy' && <span class="error-text">{c}</span>}
            {typeof c === 'object' && (
              <>
                <Badge tone={c.ok ? 'good' : 'warn'}>{c.ok ? 'OK' : 'FAILED'}</Badge>{' '}
                <span>{c.message}</span>
              </>
            )}{' '}
            <button
              type="button"
              class="secondary small"
              disabled={c === 'busy'}
              onClick={() => void check(a.id)}
              aria-label={`Check ${a.id}`}
            >
              Check
            </button>
          </span>
        );
      },
    },
    {
      label: 'Settings',
      value: (a) => a.file || baseName(mainFile.data) || 'debrief.yaml',
      show: (a) => (
        <span class="row-actions">
          {a.file ? (
            <>
              <button
                type="button"
                class="secondary small"
                disabled={removing !== ''}
                onClick={() =>
                  openForm({ id: a.id, kind: a.kind ?? '', type: a.type ?? '' })
                }
                aria-label={`Edit ${a.id}`}
              >
                Edit
              </button>
              <ConfirmButton
                label="Remove"
                name={`Remove ${a.id}`}
                question={`Remove ${a.id}? Its file and secrets are deleted and it stops at once.`}
                keep="Keep it"
                disabled={removing !== ''}
                onConfirm={() => void remove(a)}
              />
            </>
          ) : (
            <span class="muted">In {mainFile.data || 'debrief.yaml'}</span>
          )}
          {a.webhookPath && (
            <button
              type="button"
              class="secondary small"
              onClick={() => {
                setForm(null);
                setNote(null);
                setSetup({ id: a.id, kind: a.kind ?? '' });
              }}
              aria-label={`Set up webhooks of ${a.id}`}
            >
              Set up webhooks
            </button>
          )}
        </span>
      ),
    },
  ];
  return (
    <Section id="adapters" title="Adapters" busy={list.loading} headingRef={heading}>
      <p class="meta">
        Since <code>debriefd</code> started: webhooks accepted and refused, calls to each API and
        the last error, the helpdesks' listings and the actions waiting in the outbox. Check asks
        the helpdesk or tracker now, with the configured credentials, and says what to fix when it
        fails. Adapters added here are saved in their own files and can be changed and removed
        here; those written in the main configuration file are changed there.
      </p>
      <span class="row-actions">
        <button
          type="button"
          class="primary small"
          ref={addButton}
          aria-expanded={form !== null && form.editing === null}
          aria-controls={form ? 'adapter-form-panel' : undefined}
          onClick={() => openForm(null)}
        >
          Add an adapter
        </button>
        <button type="button" class="secondary small" onClick={() => list.reload()}>
          Refresh
        </button>
      </span>
      {note && (
        <p class={note.error ? 'status-note error' : 'status-note'} role={note.error ? 'alert' : 'status'}>
          {note.text}
        </p>
      )}
      {form && (
        <AdapterForm
          key={form.editing?.id ?? ''}
          api={api}
          editing={form.editing}
          onSaved={saved}
          onCancel={closeForm}
        />
      )}
      {setup && (
        <AdapterSetupPanel
          key={setup.id}
          api={api}
          id={setup.id}
          kind={setup.kind}
          saved={setup.saved}
          onAdapters={list.set}
          onClose={() => {
            setSetup(null);
            heading.current?.focus();
          }}
        />
      )}
      <Loadable state={list} what="load the adapters" lines={3}>
        {(data) => (
          <DataTable
            id="adapters-table"
            caption="Helpdesks and trackers"
            columns={columns}
            rows={data.adapters ?? []}
            csvName="debrief-adapters.csv"
            empty="No adapter is configured."
          />
        )}
      </Loadable>
    </Section>
  );
}

// What failed for good, as an admin works it: a table with Retry and Discard on each row, and
// Retry all and Discard all (asked first) above it. `act` does one (a row) or all (null) and
// answers what happened, in words.
interface GivenUpOnProps<R> {
  id: string;
  title: string;
  intro: string;
  list: Loaded<R[]>;
  what: string; // "the dead letters"
  caption: string;
  csvName: string;
  empty: string;
  columns: Column<R>[];
  rowName: (r: R) => string; // "delivery 12"
  never: string; // "They will never be processed."
  act: (how: 'retry' | 'discard', r: R | null) => Promise<string>;
  onChange: () => void;
}

function GivenUpOn<R>(props: GivenUpOnProps<R>) {
  const { list } = props;
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  async function run(how: 'retry' | 'discard', r: R | null) {
    setBusy(true);
    setNote(await props.act(how, r));
    setBusy(false);
    list.reload();
    props.onChange();
  }
  const columns: Column<R>[] = [
    ...props.columns,
    {
      label: 'Action',
      value: () => '',
      show: (r) => (
        <span class="row-actions">
          <button
            type="button"
            class="secondary small"
            disabled={busy}
            onClick={() => void run('retry', r)}
            aria-label={`Retry ${props.rowName(r)}`}
          >
            Retry
          </button>
          <button
            type="button"
            class="secondary small"
            disabled={busy}
            onClick={() => void run('discard', r)}
            aria-label={`Discard ${props.rowName(r)}`}
          >
            Discard
          </button>
        </span>
      ),
    },
  ];
  return (
    <Section id={props.id} title={props.title} busy={list.loading || busy}>
      <p class="meta">{props.intro}</p>
      <button type="button" class="secondary small" onClick={() => list.reload()}>
        Refresh
      </button>
      {note && (
        <p class="status-note" role="status">
          {note}
        </p>
      )}
      <Loadable state={list} what={`load ${props.what}`} lines={2}>
        {(rows) => (
          <>
            {rows.length > 1 && (
              <span class="row-actions">
                <button
                  type="button"
                  class="secondary small"
                  disabled={busy}
                  onClick={() => void run('retry', null)}
                >
                  Retry all
                </button>
                <ConfirmButton
                  label="Discard all"
                  question={`Discard all ${rows.length} ${props.what.replace(/^the /, '')}? ${props.never}`}
                  disabled={busy}
                  onConfirm={() => void run('discard', null)}
                />
              </span>
            )}
            <DataTable
              id={`${props.id}-table`}
              caption={props.caption}
              columns={columns}
              rows={rows}
              csvName={props.csvName}
              empty={props.empty}
            />
          </>
        )}
      </Loadable>
    </Section>
  );
}

function DeadLetters(props: { api: Api; onChange: () => void }) {
  const { api } = props;
  const list = useLoad(
    async () =>
      (await api.call<ListDeadLettersResponse>('Admin', 'ListDeadLetters', { limit: 100 }))
        .deadLetters ?? [],
    [],
  );
  async function act(how: 'retry' | 'discard', d: DeadLetter | null): Promise<string> {
    if (how === 'discard') {
      try {
        const r = await api.call<DiscardDeliveryResponse>(
          'Admin',
          'DiscardDelivery',
          d ? { seq: d.seq } : { all: true },
        );
        return `${num(r.discarded)} discarded: kept in the inbox, never processed.`;
      } catch (e) {
        return describeError(e, 'discard');
      }
    }
    const outcomes: string[] = [];
    for (const l of d ? [d] : (list.data ?? [])) {
      try {
        const r = await api.call<ReplayDeliveryResponse>('Admin', 'ReplayDelivery', { seq: l.seq });
        outcomes.push(`delivery ${l.seq}: ${r.outcome ?? 'processed'}`);
      } catch (e) {
        outcomes.push(`delivery ${l.seq}: ${describeError(e, 'process it again')}`);
      }
    }
    return outcomes.join('; ');
  }
  return (
    <GivenUpOn
      id="dead-letters"
      title="Dead letters"
      intro="Deliveries the pipeline gave up on, with their error. Fix the cause (an adapter's settings, a category), then retry: the delivery is processed again, once; or discard it."
      list={list}
      what="the dead letters"
      caption="Deliveries given up on, newest first"
      csvName="debrief-dead-letters.csv"
      empty="No dead letters: every delivery was processed."
      rowName={(d) => `delivery ${num(d.seq)}`}
      never="They will never be processed."
      act={act}
      onChange={props.onChange}
      columns={[
        { label: 'Delivery', value: (d) => num(d.seq) },
        { label: 'Adapter', value: (d) => d.adapterId ?? '' },
        { label: 'Delivery id', value: (d) => d.deliveryKey ?? '' },
        {
          label: 'Received',
          value: (d) => d.receivedAt ?? '',
          show: (d) => localDateTime(d.receivedAt),
        },
        { label: 'Given up', value: (d) => d.failedAt ?? '', show: (d) => ago(d.failedAt) },
        { label: 'Attempts', value: (d) => d.attempts ?? 0, numeric: true },
        { label: 'Error', value: (d) => d.error ?? '' },
      ]}
    />
  );
}

// A button whose action cannot be undone: it asks first, in the page.
// `name` tells apart the buttons of a table's rows ("Remove shop"); `keep` answers no.
function ConfirmButton(props: {
  label: string;
  name?: string;
  question: string;
  keep?: string;
  disabled?: boolean;
  onConfirm: () => void;
}) {
  const [asking, setAsking] = useState(false);
  if (!asking)
    return (
      <button
        type="button"
        class="secondary small"
        disabled={props.disabled}
        aria-label={props.name}
        onClick={() => setAsking(true)}
      >
        {props.label}
      </button>
    );
  return (
    <span class="confirm" role="group" aria-label={props.name ?? props.label}>
      <span>{props.question}</span>{' '}
      <button
        type="button"
        class="danger small"
        onClick={() => {
          setAsking(false);
          props.onConfirm();
        }}
      >
        Yes, {props.label.toLowerCase()}
      </button>{' '}
      <button type="button" class="secondary small" onClick={() => setAsking(false)}>
        {props.keep ?? 'Keep them'}
      </button>
    </span>
  );
}

const kActionWords: Record<string, string> = {
  create_task: 'Create the task',
  sync_task: 'Update the task',
  link: 'Link on the tracker',
  unlink: 'Unlink on the tracker',
  write_back: 'Write the cause back',
  notify_ticket: 'Tell the ticket',
  reply: 'Reply to the customer',
  verify_fix: 'Verify the fix',
  chase_stalled: 'Chase the stalled task',
  clear_stall: 'Take the stalled label off',
};

function DeadActions(props: { api: Api; onChange: () => void }) {
  const { api } = props;
  const list = useLoad(
    async () =>
      (await api.call<ListDeadActionsResponse>('Admin', 'ListDeadActions', { limit: 100 }))
        .deadActions ?? [],
    [],
  );
  async function act(how: 'retry' | 'discard', a: DeadAction | null): Promise<string> {
    const req = a ? { id: a.id } : { all: true };
    try {
      if (how === 'retry') {
        const r = await api.call<RetryDeadActionResponse>('Admin', 'RetryDeadAction', req);
        return `${num(r.retried)} back in the outbox, due now.`;
      }
      const r = await api.call<DiscardDeadActionResponse>('Admin', 'DiscardDeadAction', req);
      return `${num(r.discarded)} discarded: never carried out.`;
    } catch (e) {
      return describeError(e, how);
    }
  }
  return (
    <GivenUpOn
      id="dead-actions"
      title="Failed actions"
      intro="What a helpdesk or tracker refused for good (a task not created, a note not written), with its error. Fix the cause (a credential, a project, a permission), then retry: the action runs again, once; or discard it."
      list={list}
      what="the failed actions"
      caption="Actions that failed for good, newest first"
      csvName="debrief-failed-actions.csv"
      empty="No failed actions: everything the outbox held was carried out."
      rowName={(a) => `action ${num(a.id)}`}
      never="They will never be carried out."
      act={act}
      onChange={props.onChange}
      columns={[
        { label: 'Action', value: (a) => num(a.id) },
        { label: 'Adapter', value: (a) => a.adapterId ?? '' },
        {
          label: 'What',
          value: (a) => a.kind ?? '',
          show: (a) => kActionWords[a.kind ?? ''] ?? a.kind ?? '',
        },
        {
          label: 'About',
          value: (a) =>
            [
              a.ticket ? `ticket ${a.ticket.helpdeskId}/${a.ticket.ticketId}` : '',
              num(a.taskId) ? `task ${num(a.taskId)}` : '',
            ]
              .filter(Boolean)
              .join(', '),
        },
        { label: 'Queued', value: (a) => a.createdAt ?? '', show: (a) => ago(a.createdAt) },
        { label: 'Attempts', value: (a) => a.attempts ?? 0, numeric: true },
        { label: 'Error', value: (a) => a.error ?? '' },
      ]}
    />
  );
}

function AuditLog(props: { api: Api; changes: number }) {
  const { api } = props;
  const [actor, setActor] = useState('');
  const [pages, setPages] = useState<string[]>([]); // before_id of each older page shown
  const list = useLoad(async () => {
    const first = await api.call<ListAuditResponse>('Admin', 'ListAudit', { limit: 50, actor });
    const entries = [...(first.entries ?? [])];
    for (const before of pages) {
      const more = await api.call<ListAuditResponse>('Admin', 'ListAudit', {
        limit: 50,
        actor,
        beforeId: before,
      });
      entries.push(...(more.entries ?? []));
    }
    return entries;
  }, [props.changes, actor, pages.join(',')]);
  const columns: Column<AuditEntry>[] = [
    { label: 'When', value: (e) => e.at ?? '', show: (e) => localDateTime(e.at) },
    { label: 'Who', value: (e) => e.actor ?? '' },
    { label: 'What', value: (e) => e.action ?? '' },
    { label: 'On', value: (e) => e.target ?? '', show: (e) => <code>{e.target || '—'}</code> },
    {
      label: 'Outcome',
      value: (e) => e.outcome ?? '',
      show: (e) =>
        e.outcome === 'ok' ? (
          <Badge tone="good">ok</Badge>
        ) : (
          <Badge tone="warn">{e.outcome ?? ''}</Badge>
        ),
    },
  ];
  return (
    <Section id="audit" title="Audit log" busy={list.loading}>
      <p class="meta">
        Every change made through the API or <code>debriefctl</code>: feedback, links, promotions,
        retries and discards, tokens, merges; who made it (the API token's name), when, and
        whether it was allowed.
      </p>
      <form
        class="filters"
        aria-label="Filter the audit log"
        onSubmit={(e) => {
          e.preventDefault();
          const v = (new FormData(e.currentTarget as HTMLFormElement).get('who') ?? '').toString();
          setPages([]);
          setActor(v.trim());
        }}
      >
        <div class="filter">
          <label for="audit-who">Who</label>
          <input id="audit-who" name="who" type="text" placeholder="Anyone" />
        </div>
        <button type="submit" class="secondary">
          Show
        </button>
      </form>
      <Loadable state={list} what="load the audit log" lines={3}>
        {(entries) => (
          <>
            <DataTable
              id="audit-table"
              caption="Changes, newest first"
              columns={columns}
              rows={entries}
              csvName="debrief-audit.csv"
              empty="Nothing recorded yet."
            />
            {entries.length > 0 && entries.length % 50 === 0 && (
              <button
                type="button"
                class="secondary small"
                onClick={() => setPages((p) => [...p, entries[entries.length - 1]?.id ?? '0'])}
              >
                Older
              </button>
            )}
          </>
        )}
      </Loadable>
    </Section>
  );
}

const kRoles = ['agent', 'lead', 'admin'];

function Tokens(props: { api: Api; onChange: () => void }) {
  const { api } = props;
  const list = useLoad(() => api.call<ListApiTokensResponse>('Admin', 'ListApiTokens', {}), []);
  const [name, setName] = useState('');
  const [role, setRole] = useState('agent');
  const [helpdesk, setHelpdesk] = useState('');
  const [made, setMade] = useState<CreateApiTokenResponse | null>(null);
  const [error, setError] = useState('');
  async function create(e: Event) {
    e.preventDefault();
    if (!name.trim()) {
      setError('Say who or what will hold the token.');
      return;
    }
    setError('');
    try {
      const r = await api.call<CreateApiTokenResponse>('Admin', 'CreateApiToken', {
        name: name.trim(),
        role,
        helpdeskId: helpdesk.trim(),
      });
      setMade(r);
      setName('');
      list.reload();
      props.onChange();
    } catch (err) {
      setError(describeError(err, 'make the token'));
    }
  }
  async function revoke(t: ApiToken) {
    try {
      await api.call('Admin', 'RevokeApiToken', { id: t.id });
      list.reload();
      props.onChange();
    } catch (err) {
      setError(describeError(err, `revoke ${t.name ?? 'the token'}`));
    }
  }
  const columns: Column<ApiToken>[] = [
    { label: 'Name', value: (t) => t.name ?? '' },
    { label: 'Role', value: (t) => t.role ?? '' },
    { label: 'Helpdesk', value: (t) => t.helpdeskId ?? '', show: (t) => t.helpdeskId || 'Every helpdesk' },
    { label: 'Made', value: (t) => t.createdAt ?? '', show: (t) => ago(t.createdAt) },
    { label: 'Last used', value: (t) => t.lastUsedAt ?? '', show: (t) => ago(t.lastUsedAt) || 'Never' },
    {
      label: 'State',
      value: (t) => (t.revoked ? 'revoked' : 'active'),
      show: (t) =>
        t.revoked ? (
          <Badge tone="neutral">Revoked</Badge>
        ) : (
          <button
            type="button"
            class="secondary small"
            onClick={() => void revoke(t)}
            aria-label={`Revoke ${t.name ?? 'token'}`}
          >
            Revoke
          </button>
        ),
    },
  ];
  return (
    <Section id="tokens" title="API tokens" busy={list.loading}>
      <form class="filters" onSubmit={create} aria-label="Make an API token">
        <div class="filter">
          <label for="t-name">Name</label>
          <input
            id="t-name"
            type="text"
            value={name}
            onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)}
          />
        </div>
        <div class="filter">
          <label for="t-role">Role</label>
          <select
            id="t-role"
            value={role}
            onChange={(e) => setRole((e.currentTarget as HTMLSelectElement).value)}
          >
            {kRoles.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </div>
        <div class="filter">
          <label for="t-helpdesk">Helpdesk</label>
          <input
            id="t-helpdesk"
            type="text"
            placeholder="Every helpdesk"
            value={helpdesk}
            onInput={(e) => setHelpdesk((e.currentTarget as HTMLInputElement).value)}
          />
        </div>
        <button type="submit" class="primary">
          Make token
        </button>
      </form>
      {error && (
        <p class="error-text" role="alert">
          {error}
        </p>
      )}
      {made?.secret && (
        <div class="notice" role="status">
          <p>
            The token for {made.token?.name}, shown this once (Debrief keeps only its hash):
          </p>
          <p>
            <code class="secret">{made.secret}</code>
          </p>
          <button type="button" class="link-button" onClick={() => setMade(null)}>
            I have copied it
          </button>
        </div>
      )}
      <Loadable state={list} what="load the API tokens" lines={3}>
        {(data) => (
          <DataTable
            id="tokens-table"
            caption="API tokens (their secrets are never shown again)"
            columns={columns}
            rows={data.tokens ?? []}
            csvName="debrief-tokens.csv"
            empty="No API tokens yet."
          />
        )}
      </Loadable>
    </Section>
  );
}

// One line of a taxonomy version: what changed, and what it did to tickets and tasks.
function changeWords(c: TaxonomyChange): string {
  const id = c.categoryId ?? '';
  const into = (c.into ?? []).join(', ');
  const what: Record<TaxonomyChangeKind, string> = {
    CATEGORY_ADDED: `${id} added`,
    CATEGORY_RENAMED: `${id} renamed from “${c.before ?? ''}” to “${c.after ?? ''}”`,
    CATEGORY_CHANGED: `${id}: ${(c.fields ?? []).join(', ').replaceAll('_', ' ')} changed`,
    CATEGORY_RETIRED: `${id} retired`,
    CATEGORY_MERGED: `${id} merged into ${into}`,
    CATEGORY_SPLIT: `${id} split into ${into}`,
    CATEGORY_RESTORED: `${id} takes tickets again`,
    REVIEW_THRESHOLD_CHANGED: `review threshold ${c.before ?? ''} → ${c.after ?? ''}`,
  };
  const line = c.kind ? what[c.kind] : id;
  return c.effect ? `${line} (${c.effect})` : line;
}

function categoryStatus(c: Category): string {
  if (c.mergedInto) return `Merged into ${c.mergedInto}`;
  if (c.splitInto?.length) return `Split into ${c.splitInto.join(', ')}`;
  return c.retired ? 'Retired' : 'Takes tickets';
}

function TaxonomyVersions(props: { api: Api }) {
  const history = useLoad(
    () => props.api.call<TaxonomyHistoryResponse>('Admin', 'TaxonomyHistory', { limit: 20 }),
    [],
  );
  const columns: Column<TaxonomyVersion>[] = [
    { label: 'Version', value: (v) => Number(v.version ?? 0), numeric: true },
    { label: 'When', value: (v) => v.at ?? '', show: (v) => localDateTime(v.at) },
    { label: 'Who', value: (v) => v.actor ?? '' },
    {
      label: 'Changes',
      value: (v) => (v.changes ?? []).map(changeWords).join('; '),
      show: (v) =>
        (v.changes ?? []).length > 6 && v.version === '1' ? (
          `${(v.changes ?? []).length} categories`
        ) : (
          <ul class="changes">
            {(v.changes ?? []).map((c) => (
              <li key={`${c.kind}-${c.categoryId}`}>{changeWords(c)}</li>
            ))}
          </ul>
        ),
    },
  ];
  return (
    <Loadable state={history} what="load the taxonomy versions" lines={2}>
      {(data) => (
        <DataTable
          id="taxonomy-versions"
          caption="Versions, newest first (debriefctl taxonomy diff and apply make the next one)"
          columns={columns}
          rows={data.versions ?? []}
          csvName="debrief-taxonomy-versions.csv"
          empty="No version recorded yet."
        />
      )}
    </Loadable>
  );
}

function Taxonomy(props: { api: Api }) {
  const { api } = props;
  const list = useLoad(() => api.call<ListCategoriesResponse>('Tagging', 'ListCategories', {}), []);
  return (
    <Section id="taxonomy" title="Taxonomy" busy={list.loading}>
      <Loadable state={list} what="load the taxonomy" lines={4}>
        {(data) => {
          const threshold = data.reviewThreshold ?? 0;
          const columns: Column<Category>[] = [
            { label: 'Category', value: (c) => c.name },
            { label: 'Id', value: (c) => c.id },
            { label: 'Kind', value: (c) => kindWords(c.kind) },
            { label: 'Status', value: (c) => categoryStatus(c) },
            {
              label: 'Review below',
              value: (c) => c.reviewThreshold || threshold,
              show: (c) => `${Math.round((c.reviewThreshold || threshold) * 100)}%`,
              numeric: true,
            },
            {
              label: 'Opens a task',
              value: (c) => (c.openImmediately ? 'at once' : num(c.openAfterTickets) || 'policy'),
              show: (c) =>
                c.openImmediately
                  ? 'On its first ticket'
                  : num(c.openAfterTickets)
                    ? `After ${num(c.openAfterTickets)} tickets`
                    : 'As the link policy says',
            },
            {
              label: 'Routing',
              value: (c) =>
                [c.routing?.trackerId, c.routing?.project, ...(c.routing?.labels ?? [])]
                  .filter(Boolean)
                  .join(' '),
            },
          ];
          return (
            <>
              <p class="meta">
                A category without its own review threshold uses {Math.round(threshold * 100)}%. A
                retired category keeps its history and takes no new tickets.
              </p>
              <DataTable
                id="taxonomy-table"
                caption="Categories, with those promoted from emerging issues"
                columns={columns}
                rows={data.categories ?? []}
                csvName="debrief-taxonomy.csv"
                empty="No categories."
              />
              <TaxonomyVersions api={api} />
            </>
          );
        }}
      </Loadable>
    </Section>
  );
}

function Configuration(props: { api: Api; onChange: () => void }) {
  const { api } = props;
  const config = useLoad(() => api.call<GetConfigResponse>('Admin', 'GetConfig', {}), []);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ reload?: ReloadResponse; error?: string } | null>(
    null,
  );
  async function reload(dryRun: boolean) {
    setBusy(true);
    try {
      const r = await api.call<ReloadResponse>('Admin', 'Reload', { dryRun });
      setOutcome({ reload: r });
      if (r.applied) config.reload();
    } catch (e) {
      setOutcome({ error: describeError(e, 'reload the configuration') });
    }
    setBusy(false);
    props.onChange();
  }
  const changeColumns: Column<ConfigChange>[] = [
    { label: 'Setting', value: (c) => c.path ?? '', show: (c) => <code>{c.path}</code> },
    { label: 'Before', value: (c) => c.before ?? '', show: (c) => c.before || '(unset)' },
    { label: 'After', value: (c) => c.after ?? '', show: (c) => c.after || '(unset)' },
  ];
  const r = outcome?.reload;
  return (
    <Section id="configuration" title="Running configuration" busy={config.loading || busy}>
      <p class="meta">
        As <code>debriefd</code> loaded it, defaults filled in. Secrets show where they come from
        (an environment variable or a file), never their values. After editing the file, check it
        to see what would change, then reload: adapters, taxonomy, thresholds and schedules change
        without a restart, and no webhook is dropped meanwhile. A file with a mistake is refused
        and the running configuration stays.
      </p>
      {config.data && (
        <p class="meta">
          From <code>{config.data.file || '(no file)'}</code>
          {config.data.loadedAt && <>, loaded {ago(config.data.loadedAt)}</>}.
        </p>
      )}
      <span class="row-actions">
        <button
          type="button"
          class="secondary small"
          disabled={busy}
          onClick={() => void reload(true)}
        >
          Check the file
        </button>
        <ConfirmButton
          label="Reload"
          question="Apply the file to the running debriefd now?"
          disabled={busy}
          onConfirm={() => void reload(false)}
        />
      </span>
      {outcome?.error && (
        <p class="status-note error" role="alert" id="reload-outcome">
          {outcome.error}
        </p>
      )}
      {r && (
        <div id="reload-outcome" role="status">
          <p class={(r.restartNeeded ?? []).length > 0 ? 'status-note error' : 'status-note'}>
            {(r.restartNeeded ?? []).length > 0
              ? 'Nothing was applied: some changes take a restart of debriefd.'
              : r.applied
                ? `Applied: ${plural((r.changes ?? []).length, 'setting')} changed.`
                : (r.changes ?? []).length > 0
                  ? `The file is valid; reloading would change ${plural((r.changes ?? []).length, 'setting')}.`
                  : 'The file is valid and changes nothing.'}
          </p>
          {(r.restartNeeded ?? []).length > 0 && (
            <ul class="restart-needed">
              {(r.restartNeeded ?? []).map((why) => (
                <li key={why}>
                  <code>{why}</code>
                </li>
              ))}
            </ul>
          )}
          {(r.changes ?? []).length > 0 && (
            <DataTable
              id="reload-changes"
              caption="What the file changes"
              columns={changeColumns}
              rows={r.changes ?? []}
              csvName="debrief-config-changes.csv"
              empty="No change."
            />
          )}
        </div>
      )}
      <Loadable state={config} what="load the configuration" lines={4}>
        {(data) => (
          <pre class="config" tabIndex={0} aria-label="Running configuration, JSON">
            {JSON.stringify(data.config ?? {}, null, 2)}
          </pre>
        )}
      </Loadable>
    </Section>
  );
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}
