// The admins' console, /app/admin: the adapters with a check of each, the deliveries the
// pipeline gave up on (retried once their cause is fixed), the API tokens, the taxonomy as it
// runs and the running configuration (secrets appear as where they come from, never as values).

import { useState } from 'preact/hooks';
import type { Api } from './api';
import { describeError } from './api';
import type { Column } from './DataTable';
import { DataTable } from './DataTable';
import { ago, kindWords, localDateTime, num } from './format';
import { useLoad } from './load';
import type {
  AdapterInfo,
  ApiToken,
  Category,
  CheckAdapterResponse,
  CreateApiTokenResponse,
  DeadLetter,
  GetConfigResponse,
  ListAdaptersResponse,
  ListApiTokensResponse,
  ListCategoriesResponse,
  ListDeadLettersResponse,
  ReplayDeliveryResponse,
} from './types';
import { Badge, Loadable, Section } from './ui';

export function Admin(props: { api: Api }) {
  return (
    <>
      <Adapters api={props.api} />
      <DeadLetters api={props.api} />
      <Tokens api={props.api} />
      <Taxonomy api={props.api} />
      <Configuration api={props.api} />
    </>
  );
}

function Adapters(props: { api: Api }) {
  const { api } = props;
  const list = useLoad(() => api.call<ListAdaptersResponse>('Admin', 'ListAdapters', {}), []);
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
      label: 'Health',
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
  ];
  return (
    <Section id="adapters" title="Adapters" busy={list.loading}>
      <p class="meta">
        Check asks the helpdesk or tracker now, with the configured credentials, and says what to
        fix when it fails.
      </p>
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

function DeadLetters(props: { api: Api }) {
  const { api } = props;
  const list = useLoad(
    () => api.call<ListDeadLettersResponse>('Admin', 'ListDeadLetters', { limit: 100 }),
    [],
  );
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  async function retry(letters: DeadLetter[]) {
    setBusy(true);
    const outcomes: string[] = [];
    for (const d of letters) {
      try {
        const r = await api.call<ReplayDeliveryResponse>('Admin', 'ReplayDelivery', { seq: d.seq });
        outcomes.push(`delivery ${d.seq}: ${r.outcome ?? 'processed'}`);
      } catch (e) {
        outcomes.push(`delivery ${d.seq}: ${describeError(e, 'process it again')}`);
      }
    }
    setNote(outcomes.join('; '));
    setBusy(false);
    list.reload();
  }
  const columns: Column<DeadLetter>[] = [
    { label: 'Delivery', value: (d) => num(d.seq) },
    { label: 'Adapter', value: (d) => d.adapterId ?? '' },
    { label: 'Delivery id', value: (d) => d.deliveryKey ?? '' },
    { label: 'Received', value: (d) => d.receivedAt ?? '', show: (d) => localDateTime(d.receivedAt) },
    { label: 'Given up', value: (d) => d.failedAt ?? '', show: (d) => ago(d.failedAt) },
    { label: 'Attempts', value: (d) => d.attempts ?? 0, numeric: true },
    { label: 'Error', value: (d) => d.error ?? '' },
    {
      label: 'Action',
      value: () => '',
      show: (d) => (
        <button
          type="button"
          class="secondary small"
          disabled={busy}
          onClick={() => void retry([d])}
          aria-label={`Retry delivery ${num(d.seq)}`}
        >
          Retry
        </button>
      ),
    },
  ];
  return (
    <Section id="dead-letters" title="Dead letters" busy={list.loading || busy}>
      <p class="meta">
        Deliveries the pipeline gave up on, with their error. Fix the cause (an adapter's settings,
        a category), then retry: the delivery is processed again, once.
      </p>
      {note && (
        <p class="status-note" role="status">
          {note}
        </p>
      )}
      <Loadable state={list} what="load the dead letters" lines={2}>
        {(data) => (
          <>
            {(data.deadLetters ?? []).length > 1 && (
              <button
                type="button"
                class="secondary small"
                disabled={busy}
                onClick={() => void retry(data.deadLetters ?? [])}
              >
                Retry all
              </button>
            )}
            <DataTable
              id="dead-letters-table"
              caption="Deliveries given up on, newest first"
              columns={columns}
              rows={data.deadLetters ?? []}
              csvName="debrief-dead-letters.csv"
              empty="No dead letters: every delivery was processed."
            />
          </>
        )}
      </Loadable>
    </Section>
  );
}

const kRoles = ['agent', 'lead', 'admin'];

function Tokens(props: { api: Api }) {
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
    } catch (err) {
      setError(describeError(err, 'make the token'));
    }
  }
  async function revoke(t: ApiToken) {
    try {
      await api.call('Admin', 'RevokeApiToken', { id: t.id });
      list.reload();
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
                Version {data.taxonomyVersion}; a category without its own review threshold uses{' '}
                {Math.round(threshold * 100)}%.
              </p>
              <DataTable
                id="taxonomy-table"
                caption="Categories, with those promoted from emerging issues"
                columns={columns}
                rows={data.categories ?? []}
                csvName="debrief-taxonomy.csv"
                empty="No categories."
              />
            </>
          );
        }}
      </Loadable>
    </Section>
  );
}

function Configuration(props: { api: Api }) {
  const { api } = props;
  const config = useLoad(() => api.call<GetConfigResponse>('Admin', 'GetConfig', {}), []);
  return (
    <Section id="configuration" title="Running configuration" busy={config.loading}>
      <p class="meta">
        As <code>debriefd</code> loaded it, defaults filled in. Secrets show where they come from
        (an environment variable or a file), never their values.
      </p>
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
