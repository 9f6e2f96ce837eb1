// The engineering leads' page, /app/insights: where causes go over time, which open tasks
// matter most (and which stalled), what each fix did, what customers suggest and praise, and the
// issues no category explains yet. Every number comes from the Insights RPCs as they answer it;
// the page only lays it out.

import { useMemo, useState } from 'preact/hooks';
import type { Api } from './api';
import { describeError } from './api';
import type { Column } from './DataTable';
import { DataTable } from './DataTable';
import {
  ago,
  kindWords,
  localDate,
  num,
  percent,
  taskStatusTone,
  taskStatusWords,
} from './format';
import { useLoad } from './load';
import type {
  CategoryKind,
  CausesOverTimeResponse,
  CauseTrend,
  CustomersVoiceResponse,
  CycleStage,
  EmergingIssue,
  FixOutcome,
  FixOutcomesResponse,
  GetTaskResponse,
  InsightsFilter,
  ListEmergingResponse,
  ListReviewResponse,
  ListTasksResponse,
  PraiseVoice,
  PromoteEmergingResponse,
  ReviewItem,
  SuggestionVoice,
  TaskImpact,
  TasksByImpactResponse,
} from './types';
import { Sparkline } from './Sparkline';
import { Badge, Loadable, OutLink, Section, safeUrl } from './ui';
import { WeeklyChart } from './WeeklyChart';

const kKinds: { value: CategoryKind | ''; label: string }[] = [
  { value: '', label: 'Every kind' },
  { value: 'COMPLAINT', label: 'Complaints' },
  { value: 'PRAISE', label: 'Praise' },
  { value: 'SUGGESTION', label: 'Suggestions' },
  { value: 'QUESTION', label: 'Questions' },
];
const kWeekChoices = [4, 13, 26, 52];
const kDayMs = 86_400_000;

// "1209600s" -> seconds.
function seconds(d: string | undefined): number | null {
  if (!d) return null;
  const n = Number(d.replace(/s$/, ''));
  return Number.isFinite(n) ? n : null;
}

// A duration as a person reads it: "40 min", "5 h", "3 days".
export function spell(d: string | undefined): string {
  const s = seconds(d);
  if (s === null) return '—';
  if (s < 3600) return `${Math.max(1, Math.round(s / 60))} min`;
  if (s < 2 * 86400) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} days`;
}

function isoDay(iso: string | undefined): string {
  return iso ? iso.slice(0, 10) : '';
}

function growthWords(g: number | undefined, earlier: number): string {
  if (earlier === 0) return 'new';
  const p = Math.round((g ?? 0) * 100);
  if (p === 0) return 'steady';
  return p > 0 ? `up ${p}%` : `down ${-p}%`;
}

export function Insights(props: { api: Api }) {
  const { api } = props;
  const [helpdesk, setHelpdesk] = useState('');
  const [helpdeskDraft, setHelpdeskDraft] = useState('');
  const [kind, setKind] = useState<CategoryKind | ''>('');
  const [weeks, setWeeks] = useState(26);
  const [picked, setPicked] = useState<string | null>(null);

  const filter = useMemo<InsightsFilter>(() => {
    const f: InsightsFilter = {
      from: new Date(Date.now() - (weeks - 1) * 7 * kDayMs).toISOString(),
    };
    if (helpdesk) f.helpdeskId = helpdesk;
    if (kind) f.kind = kind;
    return f;
  }, [helpdesk, kind, weeks]);
  const key = JSON.stringify([helpdesk, kind, weeks]);

  const causes = useLoad(
    () => api.call<CausesOverTimeResponse>('Insights', 'CausesOverTime', { filter }),
    [key],
  );
  const tasks = useLoad(
    () =>
      api.call<TasksByImpactResponse>('Insights', 'TasksByImpact', kind ? { kind } : {}),
    [kind],
  );
  const fixes = useLoad(
    () => api.call<FixOutcomesResponse>('Insights', 'FixOutcomes', { filter }),
    [key],
  );
  const voice = useLoad(
    () => api.call<CustomersVoiceResponse>('Insights', 'CustomersVoice', { filter }),
    [key],
  );

  return (
    <>
      <form
        class="card filters"
        aria-label="Filters"
        onSubmit={(e) => {
          e.preventDefault();
          setHelpdesk(helpdeskDraft.trim());
        }}
      >
        <div class="filter">
          <label for="f-helpdesk">Helpdesk</label>
          <input
            id="f-helpdesk"
            type="search"
            placeholder="Every helpdesk"
            spellcheck={false}
            value={helpdeskDraft}
            onInput={(e) => setHelpdeskDraft((e.currentTarget as HTMLInputElement).value)}
          />
        </div>
        <div class="filter">
          <label for="f-kind">Kind of cause</label>
          <select
            id="f-kind"
            value={kind}
            onChange={(e) => setKind((e.currentTarget as HTMLSelectElement).value as CategoryKind)}
          >
            {kKinds.map((k) => (
              <option key={k.value} value={k.value}>
                {k.label}
              </option>
            ))}
          </select>
        </div>
        <div class="filter">
          <label for="f-weeks">Weeks</label>
          <select
            id="f-weeks"
            value={String(weeks)}
            onChange={(e) => setWeeks(Number((e.currentTarget as HTMLSelectElement).value))}
          >
            {kWeekChoices.map((w) => (
              <option key={w} value={String(w)}>
                Last {w} weeks
              </option>
            ))}
          </select>
        </div>
        <button type="submit" class="primary">
          Apply
        </button>
      </form>

      <Section id="causes" title="Causes over time" busy={causes.loading}>
        <Loadable state={causes} what="load the causes over time" lines={6}>
          {(data) => (
            <Causes
              data={data}
              onPick={(id) => setPicked(id)}
              picked={picked}
              api={api}
              onClose={() => setPicked(null)}
            />
          )}
        </Loadable>
      </Section>

      <Section id="tasks" title="Open tasks by impact" busy={tasks.loading}>
        <Loadable state={tasks} what="load the open tasks" lines={4}>
          {(data) => <Tasks data={data} />}
        </Loadable>
      </Section>

      <Section id="fixes" title="What each fix did" busy={fixes.loading}>
        <Loadable state={fixes} what="load what the fixes did" lines={4}>
          {(data) => <Fixes data={data} />}
        </Loadable>
      </Section>

      <Section id="voice" title="Customers' voice" busy={voice.loading || causes.loading}>
        <Loadable state={voice} what="load the suggestions and praise" lines={4}>
          {(data) => <Voice data={data} causes={causes.data} />}
        </Loadable>
      </Section>

      <Section id="emerging" title="Emerging issues">
        <Emerging api={api} />
      </Section>

      <Section id="review" title="Waiting for an agent's answer">
        <ReviewQueue api={api} />
      </Section>
    </>
  );
}

function Causes(props: {
  data: CausesOverTimeResponse;
  picked: string | null;
  onPick: (id: string) => void;
  onClose: () => void;
  api: Api;
}) {
  const weeks = props.data.weeks ?? [];
  const causes = props.data.causes ?? [];
  const labels = useMemo(() => weeks.map((w) => localDate(w)), [props.data]);
  const series = useMemo(
    () =>
      causes.map((c) => ({
        id: c.categoryId,
        label: c.name || c.categoryId,
        values: (c.weeklyTickets ?? []).map(num),
      })),
    [props.data],
  );
  const total = causes.reduce((n, c) => n + num(c.tickets), 0);
  const columns: Column<CauseTrend>[] = [
    { label: 'Cause', value: (c) => c.name || c.categoryId },
    { label: 'Category id', value: (c) => c.categoryId },
    { label: 'Kind', value: (c) => kindWords(c.kind) },
    { label: 'Tickets', value: (c) => num(c.tickets), numeric: true },
    {
      label: 'Share',
      value: (c) => (total > 0 ? Math.round((num(c.tickets) / total) * 1000) / 10 : 0),
      show: (c) => `${total > 0 ? Math.round((num(c.tickets) / total) * 100) : 0}%`,
      numeric: true,
    },
    { label: 'Repeat contacts', value: (c) => num(c.repeatContacts), numeric: true },
  ];
  const picked = props.picked ? causes.find((c) => c.categoryId === props.picked) : undefined;
  return (
    <>
      <p class="meta">
        {total} tickets in {weeks.length} weeks, by the week they arrived (weeks start on Monday,
        UTC). Choose a cause, in the chart or the table, to see its tasks.
      </p>
      {causes.length > 0 && (
        <WeeklyChart
          labels={labels}
          series={series}
          description={`Tickets per cause per week over ${weeks.length} weeks, stacked; the table below has the numbers.`}
          onPick={props.onPick}
        />
      )}
      <DataTable
        id="causes-table"
        caption="Tickets per cause"
        columns={columns}
        rows={causes}
        csvName="debrief-causes.csv"
        empty="No tagged tickets in these weeks."
        onRowClick={(c) => props.onPick(c.categoryId)}
        csvExtra={{
          header: weeks.map(isoDay),
          values: (c) => (c.weeklyTickets ?? []).map(num),
        }}
      />
      {picked && <CauseDetail api={props.api} cause={picked} weeks={weeks} onClose={props.onClose} />}
    </>
  );
}

function CauseDetail(props: {
  api: Api;
  cause: CauseTrend;
  weeks: string[];
  onClose: () => void;
}) {
  const { api, cause } = props;
  const tasks = useLoad(
    () => api.call<ListTasksResponse>('Improvements', 'ListTasks', { categoryId: cause.categoryId }),
    [cause.categoryId],
  );
  const newest = tasks.data?.tasks?.slice(-1)[0];
  const links = useLoad<GetTaskResponse | null>(
    () =>
      newest ? api.call<GetTaskResponse>('Improvements', 'GetTask', { taskId: newest.id }) : Promise.resolve(null),
    [newest?.id],
  );
  return (
    <div class="cause-detail" role="region" aria-labelledby="cause-detail-heading">
      <div class="cause-detail-head">
        <h3 id="cause-detail-heading">{cause.name || cause.categoryId}</h3>
        <button type="button" class="link-button" onClick={props.onClose}>
          Close
        </button>
      </div>
      <p class="meta">
        {num(cause.tickets)} tickets, {num(cause.repeatContacts)} from customers writing again
        about it.
      </p>
      <Loadable state={tasks} what="load the cause's tasks" lines={2}>
        {(data) =>
          (data.tasks ?? []).length === 0 ? (
            <p class="empty">No task for this cause yet.</p>
          ) : (
            <ul class="plain-list">
              {[...(data.tasks ?? [])].reverse().map((t) => {
                const url = safeUrl(t.url);
                return (
                  <li key={t.id}>
                    {url ? <OutLink href={url}>{t.title}</OutLink> : t.title}{' '}
                    <Badge tone={taskStatusTone(t.status)}>{taskStatusWords(t.status)}</Badge>{' '}
                    <span class="meta">
                      {num(t.ticketCount)} tickets, {num(t.customerCount)} customers
                    </span>
                  </li>
                );
              })}
            </ul>
          )
        }
      </Loadable>
      {links.data && (links.data.links ?? []).length > 0 && (
        <>
          <h4>Latest tickets of its newest task</h4>
          <ul class="plain-list">
            {(links.data.links ?? [])
              .slice(-10)
              .reverse()
              .map((l) => (
                <li key={`${l.helpdeskId}/${l.ticketId}`}>
                  <a
                    href={`/app/ticket/${encodeURIComponent(l.helpdeskId ?? "")}/${encodeURIComponent(l.ticketId ?? "")}`}
                  >
                    {l.helpdeskId} #{l.ticketId}
                  </a>{' '}
                  <span class="meta">linked {ago(l.linkedAt)}</span>
                </li>
              ))}
          </ul>
        </>
      )}
    </div>
  );
}

function Tasks(props: { data: TasksByImpactResponse }) {
  const rows = props.data.tasks ?? [];
  const windowDays = Math.round((seconds(props.data.stallWindow) ?? 0) / 86400);
  const columns: Column<TaskImpact>[] = [
    {
      label: 'Task',
      value: (r) => r.task.title,
      show: (r) => {
        const url = safeUrl(r.task.url);
        return url ? <OutLink href={url}>{r.task.title}</OutLink> : r.task.title;
      },
    },
    { label: 'Key', value: (r) => r.task.externalKey ?? '' },
    { label: 'Cause', value: (r) => r.categoryName || r.task.categoryId },
    {
      label: 'Status',
      value: (r) => taskStatusWords(r.task.status),
      show: (r) => (
        <>
          <Badge tone={taskStatusTone(r.task.status)}>{taskStatusWords(r.task.status)}</Badge>
          {r.stalled && (
            <>
              {' '}
              <Badge tone="warn">Stalled</Badge>
            </>
          )}
        </>
      ),
    },
    { label: 'Stalled', value: (r) => (r.stalled ? 'yes' : 'no'), show: (r) => (r.stalled ? 'Yes' : 'No') },
    { label: 'Tickets', value: (r) => num(r.task.ticketCount), numeric: true },
    { label: 'Customers', value: (r) => num(r.task.customerCount), numeric: true },
    { label: 'Last 4 weeks', value: (r) => num(r.recentTickets), numeric: true },
    { label: '4 weeks before', value: (r) => num(r.earlierTickets), numeric: true },
    {
      label: 'Growth',
      value: (r) => Math.round((r.growth ?? 0) * 1000) / 1000,
      show: (r) => growthWords(r.growth, num(r.earlierTickets)),
      numeric: true,
    },
    {
      label: 'Status changed',
      value: (r) => r.statusChangedAt ?? '',
      show: (r) => ago(r.statusChangedAt),
    },
  ];
  return (
    <>
      <p class="meta">
        Ranked by tickets, then customers, then growth. Stalled: the cause brought at least{' '}
        {props.data.stallMinTickets ?? 0} tickets in the last {windowDays} days while the task's
        status did not change.
      </p>
      <DataTable
        id="tasks-table"
        caption="Open tasks by impact"
        columns={columns}
        rows={rows}
        csvName="debrief-tasks.csv"
        empty="No open task."
      />
    </>
  );
}

function verdictWords(f: FixOutcome): string {
  const v = f.task.verification;
  switch (v?.verdict) {
    case 'VERIFIED':
      return `Verified: down ${Math.round(-(v.change ?? 0) * 100)}% (p = ${(v.pValue ?? 0).toFixed(3)})`;
    case 'NOT_VERIFIED':
      return 'Not verified: the cause is still coming in';
    case 'NOT_YET_KNOWN':
      return 'Not yet known: too few tickets so far';
    default:
      return 'Not checked yet';
  }
}

function stage(c: { stages?: CycleStage[] }, name: string): CycleStage | undefined {
  return (c.stages ?? []).find((s) => s.stage === name);
}

function Fixes(props: { data: FixOutcomesResponse }) {
  const fixes = props.data.fixes ?? [];
  const cycles = props.data.cycles ?? [];
  const step = (name: string, label: string): Column<(typeof cycles)[number]>[] => [
    {
      label: `${label}, median (s)`,
      value: (c) => seconds(stage(c, name)?.median) ?? '',
      show: (c) => spell(stage(c, name)?.median),
      numeric: true,
    },
    {
      label: `${label}, p90 (s)`,
      value: (c) => seconds(stage(c, name)?.p90) ?? '',
      show: (c) => spell(stage(c, name)?.p90),
      numeric: true,
    },
  ];
  const cycleColumns: Column<(typeof cycles)[number]>[] = [
    { label: 'Cause', value: (c) => c.name || c.categoryId || '' },
    ...step('to_task', 'First ticket to task'),
    ...step('to_done', 'Task to done'),
    ...step('to_shipped', 'Done to shipped'),
    ...step('to_told', 'Shipped to customers told'),
  ];
  const fixColumns: Column<FixOutcome>[] = [
    {
      label: 'Task',
      value: (f) => f.task.title,
      show: (f) => {
        const url = safeUrl(f.task.url);
        return url ? <OutLink href={url}>{f.task.title}</OutLink> : f.task.title;
      },
    },
    { label: 'Cause', value: (f) => f.categoryName || f.task.categoryId },
    { label: 'Done', value: (f) => f.done ?? '', show: (f) => localDate(f.done) },
    {
      label: 'Shipped',
      value: (f) => f.shipped ?? '',
      show: (f) =>
        f.shipped ? (
          `${f.task.release ? `${f.task.release}, ` : ''}${localDate(f.shipped)}`
        ) : (
          <Badge tone="info">Fixed, not yet shipped</Badge>
        ),
    },
    {
      label: 'Verdict',
      value: (f) => f.task.verification?.verdict ?? 'VERDICT_UNSPECIFIED',
      show: (f) => verdictWords(f),
    },
    {
      label: 'Came back',
      value: (f) => num(f.cameBackAs) || '',
      show: (f) =>
        num(f.cameBackAs) ? <Badge tone="warn">Came back (task {num(f.cameBackAs)})</Badge> : 'No',
    },
    { label: 'Tickets told', value: (f) => num(f.ticketsTold), numeric: true },
    { label: 'Customers replied', value: (f) => num(f.customersReplied), numeric: true },
  ];
  return (
    <>
      <h3>How long the loop takes</h3>
      <DataTable
        id="cycle-table"
        caption="From the first ticket to customers told, median and 90th percentile"
        columns={cycleColumns}
        rows={cycles}
        csvName="debrief-cycle.csv"
        empty="No task was done in these weeks."
      />
      <h3>Fixes</h3>
      <DataTable
        id="fixes-table"
        caption="Tasks done in these weeks"
        columns={fixColumns}
        rows={fixes}
        csvName="debrief-fixes.csv"
        empty="No task was done in these weeks."
      />
    </>
  );
}

function Voice(props: { data: CustomersVoiceResponse; causes: CausesOverTimeResponse | undefined }) {
  const suggestionColumns: Column<SuggestionVoice>[] = [
    { label: 'Suggestion', value: (s) => s.name || s.categoryId },
    { label: 'Tickets', value: (s) => num(s.tickets), numeric: true },
    { label: 'Customers who asked', value: (s) => num(s.customers), numeric: true },
    {
      label: 'Task',
      value: (s) => (num(s.taskId) ? taskStatusWords(s.taskStatus) : ''),
      show: (s) => {
        if (!num(s.taskId)) return 'None yet';
        const url = safeUrl(s.taskUrl);
        const words = taskStatusWords(s.taskStatus);
        return url ? <OutLink href={url}>{words}</OutLink> : words;
      },
    },
    {
      label: 'Thanked',
      value: (s) => num(s.ticketsTold) + num(s.customersReplied) > 0,
      show: (s) =>
        num(s.ticketsTold) + num(s.customersReplied) > 0
          ? `Yes: ${num(s.ticketsTold)} tickets told, ${num(s.customersReplied)} replies`
          : 'Not yet',
    },
  ];
  const praiseColumns: Column<PraiseVoice>[] = [
    { label: 'Agent credited', value: (p) => p.agent ?? '', show: (p) => p.agent || 'Unassigned' },
    { label: 'Praise', value: (p) => p.name || p.categoryId },
    { label: 'Tickets', value: (p) => num(p.tickets), numeric: true },
  ];
  const repeats = [...(props.causes?.causes ?? [])]
    .filter((c) => num(c.repeatContacts) > 0)
    .sort((a, b) => num(b.repeatContacts) - num(a.repeatContacts));
  const repeatColumns: Column<CauseTrend>[] = [
    { label: 'Cause', value: (c) => c.name || c.categoryId },
    { label: 'Repeat contacts', value: (c) => num(c.repeatContacts), numeric: true },
    { label: 'Tickets', value: (c) => num(c.tickets), numeric: true },
  ];
  return (
    <>
      <h3>Suggestions</h3>
      <DataTable
        id="suggestions-table"
        caption="What customers suggest, and whether they were thanked"
        columns={suggestionColumns}
        rows={props.data.suggestions ?? []}
        csvName="debrief-suggestions.csv"
        empty="No suggestions in these weeks."
      />
      <h3>Praise</h3>
      <DataTable
        id="praise-table"
        caption="Praise and the agents it credits"
        columns={praiseColumns}
        rows={props.data.praise ?? []}
        csvName="debrief-praise.csv"
        empty="No praise in these weeks."
      />
      <h3>Customers writing again</h3>
      <DataTable
        id="repeats-table"
        caption="Tickets from customers who had already written about the same cause"
        columns={repeatColumns}
        rows={repeats}
        csvName="debrief-repeat-contacts.csv"
        empty="No customer wrote twice about the same cause in these weeks."
      />
    </>
  );
}

function Emerging(props: { api: Api }) {
  const { api } = props;
  const list = useLoad(
    () => api.call<ListEmergingResponse>('Tagging', 'ListEmerging', { minSize: 2 }),
    [],
  );
  return (
    <Loadable state={list} what="load the emerging issues" lines={3}>
      {(data) =>
        (data.issues ?? []).length === 0 ? (
          <p class="empty">Every recent ticket fits a category: nothing is emerging.</p>
        ) : (
          <ul class="plain-list emerging">
            {(data.issues ?? []).map((i) => (
              <EmergingItem key={i.id} api={api} issue={i} onPromoted={list.reload} />
            ))}
          </ul>
        )
      }
    </Loadable>
  );
}

// Tickets no cause fits confidently, the answers that teach the classifier most first (how
// unsure it is between its two best causes).
function ReviewQueue(props: { api: Api }) {
  const list = useLoad(
    () => props.api.call<ListReviewResponse>('Tagging', 'ListReview', { limit: 50 }),
    [],
  );
  const columns: Column<ReviewItem>[] = [
    {
      label: 'Ticket',
      value: (r) => `${r.ticket.helpdeskId}/${r.ticket.ticketId}`,
    },
    { label: 'Subject', value: (r) => r.subject ?? '' },
    {
      label: 'Best guess',
      value: (r) => r.classification?.categoryId ?? '',
      show: (r) =>
        r.classification?.categoryId
          ? `${r.classification.categoryId} (${percent(r.classification.confidence)})`
          : 'None',
    },
    {
      label: 'Or else',
      value: (r) => r.classification?.alternatives?.[0]?.categoryId ?? '',
      show: (r) => {
        const alt = r.classification?.alternatives?.[0];
        return alt ? `${alt.categoryId} (${percent(alt.confidence)})` : '—';
      },
    },
    { label: 'Tickets of that cause', value: (r) => num(r.causeSize), numeric: true },
    {
      label: 'Worth',
      value: (r) => r.worth ?? 0,
      show: (r) => (r.worth ?? 0).toFixed(2),
      numeric: true,
    },
    { label: 'First seen', value: (r) => r.firstSeen ?? '', show: (r) => ago(r.firstSeen) },
  ];
  return (
    <Loadable state={list} what="load the tickets waiting for review" lines={3}>
      {(data) => (
        <>
          <p class="meta">
            An agent's answer on the first teaches the classifier most: it is the least sure
            between its two best causes there.
          </p>
          <DataTable
            id="review-table"
            caption="Tickets waiting for an agent's answer, the answers worth most first"
            columns={columns}
            rows={data.tickets ?? []}
            csvName="debrief-review-queue.csv"
            empty="No ticket waits for review: every recent one has a confident cause."
          />
        </>
      )}
    </Loadable>
  );
}

// Tickets per day from the first day with any to the last, the days without any as 0.
function dailyCounts(growth: { day: string; tickets?: string }[]): number[] {
  const head = growth[0];
  const tail = growth[growth.length - 1];
  if (!head || !tail) return [];
  const dayMs = 86_400_000;
  const at = (d: string) => Date.parse(`${d}T00:00:00Z`);
  const first = at(head.day);
  const out = new Array<number>(Math.round((at(tail.day) - first) / dayMs) + 1).fill(0);
  for (const g of growth) out[Math.round((at(g.day) - first) / dayMs)] = num(g.tickets);
  return out;
}

function slug(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
}

function EmergingItem(props: { api: Api; issue: EmergingIssue; onPromoted: () => void }) {
  const { api, issue } = props;
  const terms = (issue.topTerms ?? []).join(', ');
  const [open, setOpen] = useState(false);
  const [name, setName] = useState(issue.suggestedName ?? '');
  const closest = (issue.representatives ?? []).map((r) => r.subject ?? '').filter((x) => x);
  const shown = closest.length > 0 ? closest : (issue.examples ?? []);
  const daily = dailyCounts(issue.growth ?? []);
  const [kind, setKind] = useState<CategoryKind>('COMPLAINT');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState('');
  const [error, setError] = useState('');
  const formId = `promote-${issue.id}`;
  async function promote(e: Event) {
    e.preventDefault();
    const id = slug(name);
    if (!id) {
      setError('Give the new category a name first.');
      return;
    }
    setBusy(true);
    setError('');
    try {
      const r = await api.call<PromoteEmergingResponse>('Tagging', 'PromoteEmerging', {
        emergingId: issue.id,
        categoryId: id,
        name: name.trim(),
        kind,
      });
      setResult(`“${r.category?.name ?? name}” is a category now, with ${num(r.tickets)} tickets.`);
      setOpen(false);
      props.onPromoted();
    } catch (err) {
      setError(describeError(err, 'make it a category'));
    } finally {
      setBusy(false);
    }
  }
  return (
    <li class="emerging-item">
      <p>
        <strong>{issue.suggestedName || terms || `Group ${issue.id}`}</strong>{' '}
        <span class="meta">
          {num(issue.size)} tickets, {ago(issue.firstSeen)} to {ago(issue.lastSeen)}
          {terms && issue.suggestedName ? `; words: ${terms}` : ''}
        </span>
      </p>
      {daily.length > 1 && <Sparkline weekly={daily} per="day" />}
      {shown.length > 0 && (
        <ul class="examples">
          {shown.slice(0, 3).map((x, k) => (
            <li key={k}>“{x}”</li>
          ))}
        </ul>
      )}
      {result && (
        <p class="status-note" role="status">
          {result}
        </p>
      )}
      <button
        type="button"
        class="secondary small"
        aria-expanded={open}
        aria-controls={formId}
        onClick={() => setOpen(!open)}
      >
        Make it a category
      </button>
      {open && (
        <form id={formId} class="promote" onSubmit={promote}>
          <label for={`${formId}-name`}>Name</label>
          <input
            id={`${formId}-name`}
            type="text"
            value={name}
            onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)}
          />
          <label for={`${formId}-kind`}>Kind</label>
          <select
            id={`${formId}-kind`}
            value={kind}
            onChange={(e) => setKind((e.currentTarget as HTMLSelectElement).value as CategoryKind)}
          >
            {kKinds.slice(1).map((k) => (
              <option key={k.value} value={k.value}>
                {k.label.replace(/s$/, '')}
              </option>
            ))}
          </select>
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Promoting…' : 'Promote'}
          </button>
          {error && (
            <p class="error-text" role="alert">
              {error}
            </p>
          )}
        </form>
      )}
    </li>
  );
}
