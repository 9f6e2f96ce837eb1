// Section 2: the improvement task the ticket counts towards, and the agent's ways to change
// that: unlink, link another task found by its words, or ask for a task now.

import { useEffect, useRef, useState } from 'preact/hooks';
import { describeError } from './api';
import {
  ago,
  localDate,
  localDateTime,
  num,
  plural,
  taskStatusTone,
  taskStatusWords,
} from './format';
import type { Loaded } from './load';
import { useLoad } from './load';
import type {
  GetTicketResponse,
  ImprovementTask,
  RefreshTaskResponse,
  RequestTaskResponse,
  SearchTasksResponse,
} from './types';
import { Sparkline } from './Sparkline';
import { Badge, categoryName, Loadable, OutLink, safeUrl, Section, usePanel } from './ui';

export function LinkedTask(props: { ticket: Loaded<GetTicketResponse>; onChanged: () => void }) {
  const [status, setStatus] = useState('');
  const heading = useRef<HTMLHeadingElement>(null);
  const changed = (message: string) => {
    setStatus(message);
    // The button that was pressed is gone (or its panel closed): keep the focus in the section.
    heading.current?.focus();
    props.onChanged();
  };
  return (
    <Section id="linked-task" title="Linked task" busy={props.ticket.loading} headingRef={heading}>
      <Loadable state={props.ticket} what="load the linked task" lines={5}>
        {(t) => (
          <>
            {t.task ? (
              <Task
                task={t.task}
                onRefreshed={(task) => props.ticket.set({ ...t, task })}
                onUnlinked={changed}
              />
            ) : (
              <p class="empty">Not linked to a task</p>
            )}
            <TaskActions
              current={t.task}
              categoryId={t.classification?.categoryId}
              onChanged={changed}
            />
          </>
        )}
      </Loadable>
      <p class="status-note" role="status">
        {status}
      </p>
    </Section>
  );
}

function Task(props: {
  task: ImprovementTask;
  onRefreshed: (t: ImprovementTask) => void;
  onUnlinked: (message: string) => void;
}) {
  const { api, ticket } = usePanel();
  const t = props.task;
  const [busy, setBusy] = useState<'' | 'refresh' | 'unlink'>('');
  const [error, setError] = useState('');
  const url = safeUrl(t.url);
  const title = t.title || `Task ${t.id}`;
  const weekly = (t.weeklyTickets ?? []).map(num);
  const ref = t.externalKey || t.externalId;
  // A task still waiting to be created has nothing to read back from the tracker.
  const inTracker = Boolean(t.externalId) || t.status !== 'TASK_PENDING_CREATE';

  async function refresh() {
    setBusy('refresh');
    setError('');
    try {
      const r = await api.call<RefreshTaskResponse>('Improvements', 'RefreshTask', {
        taskId: t.id,
      });
      if (r.task) props.onRefreshed(r.task);
    } catch (e) {
      setError(describeError(e, 'read the task from the tracker'));
    } finally {
      setBusy('');
    }
  }

  async function unlink() {
    setBusy('unlink');
    setError('');
    try {
      await api.call('Improvements', 'UnlinkTicket', { ticket });
      props.onUnlinked(`Unlinked from “${title}”.`);
    } catch (e) {
      setError(describeError(e, 'unlink the ticket'));
      setBusy('');
    }
  }

  return (
    <div class="task">
      <h3 class="task-title">{url ? <OutLink href={url}>{title}</OutLink> : title}</h3>
      <p class="task-line">
        <Badge tone={taskStatusTone(t.status)}>{taskStatusWords(t.status)}</Badge>
        {ref ? (
          <span class="muted">
            {ref}
            {t.trackerId ? ` in ${t.trackerId}` : ''}
          </span>
        ) : (
          t.status === 'TASK_PENDING_CREATE' && <span class="muted">Not in the tracker yet</span>
        )}
        {t.flagged && <Badge tone="warn">Fix did not hold</Badge>}
      </p>
      {inTracker && (
        <p class="task-read">
          <span>
            {t.statusReadAt ? (
              <time dateTime={t.statusReadAt} title={localDateTime(t.statusReadAt)}>
                Read from the tracker {ago(t.statusReadAt)}
              </time>
            ) : (
              'Not read from the tracker since Debrief started'
            )}
          </span>
          {!api.installation && (
            <button
              type="button"
              class="secondary small"
              onClick={refresh}
              disabled={busy !== ''}
              aria-label="Refresh the task's status from the tracker"
            >
              {busy === 'refresh' ? 'Refreshing…' : 'Refresh'}
            </button>
          )}
        </p>
      )}
      <div class="impact">
        <dl>
          <div>
            <dt>Tickets</dt>
            <dd>{num(t.ticketCount).toLocaleString()}</dd>
          </div>
          <div>
            <dt>Customers</dt>
            <dd>{num(t.customerCount).toLocaleString()}</dd>
          </div>
        </dl>
        {weekly.length > 0 && (
          <figure class="trend">
            <Sparkline weekly={weekly} />
            <figcaption>
              Last {weekly.length} weeks ·{' '}
              {plural(weekly[weekly.length - 1] ?? 0, 'ticket', 'tickets')} this week
            </figcaption>
          </figure>
        )}
      </div>
      <FixState task={t} />
      <div class="row">
        <button type="button" class="secondary" onClick={unlink} disabled={busy !== ''}>
          {busy === 'unlink' ? 'Unlinking…' : 'Unlink'}
        </button>
      </div>
      {error && (
        <p class="error-text" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

// Whether the fix shipped and whether the tickets went down after it.
function FixState(props: { task: ImprovementTask }) {
  const t = props.task;
  const v = t.verification;
  const regression = num(t.regressionOf);
  let line: string;
  let tone = 'plain';
  switch (t.status) {
    case 'TASK_DONE':
      line = 'Fixed, not yet shipped: the customer hears when the release is out.';
      tone = 'info';
      break;
    case 'TASK_SHIPPED':
      switch (v?.verdict) {
        case 'VERIFIED':
          line = 'The fix shipped and it worked: fewer tickets since.';
          tone = 'good';
          break;
        case 'NOT_VERIFIED':
          line = 'The fix shipped, but the cause is still coming in.';
          tone = 'warn';
          break;
        default:
          line = 'The fix shipped; too soon to tell whether it worked.';
      }
      break;
    case 'TASK_WONT_DO':
      line = 'The team decided not to fix this.';
      break;
    case 'TASK_PENDING_CREATE':
      line = 'The task is being created in the tracker.';
      break;
    default:
      line = 'Not fixed yet.';
  }
  return (
    <div class={`fix ${tone}`}>
      <p>
        {line}
        {t.status === 'TASK_DONE' && t.doneAt && (
          <>
            {' '}
            <span class="muted">Fixed {ago(t.doneAt)}.</span>
          </>
        )}
        {t.status === 'TASK_SHIPPED' && t.shippedAt && (
          <>
            {' '}
            <span class="muted">
              Shipped{t.release ? ` in ${t.release}` : ''} on {localDate(t.shippedAt)}.
            </span>
          </>
        )}
      </p>
      {v?.summary && t.status === 'TASK_SHIPPED' && <p class="muted">{v.summary}</p>}
      {regression > 0 && <p class="muted">The cause came back after task {regression} was done.</p>}
    </div>
  );
}

// A button that shows and hides a panel under it (the disclosure pattern).
function Disclosure(props: { id: string; label: string; open: boolean; onToggle: () => void }) {
  return (
    <button
      type="button"
      class="disclosure"
      aria-expanded={props.open ? 'true' : 'false'}
      aria-controls={props.id}
      onClick={props.onToggle}
    >
      <span class="chevron" aria-hidden="true" />
      {props.label}
    </button>
  );
}

function TaskActions(props: {
  current?: ImprovementTask;
  categoryId?: string;
  onChanged: (message: string) => void;
}) {
  const { api } = usePanel();
  const [open, setOpen] = useState<'' | 'link' | 'ask'>('');
  const toggle = (which: 'link' | 'ask') => setOpen((o) => (o === which ? '' : which));
  const done = (message: string) => {
    setOpen('');
    props.onChanged(message);
  };
  return (
    <div class="actions">
      <Disclosure
        id="link-panel"
        label={props.current ? 'Link to another task' : 'Link to a task'}
        open={open === 'link'}
        onToggle={() => toggle('link')}
      />
      {open === 'link' && (
        <LinkPanel
          id="link-panel"
          current={props.current}
          categoryId={props.categoryId}
          onLinked={done}
        />
      )}
      {!api.installation && (
        <Disclosure
          id="ask-panel"
          label="Ask for a task now"
          open={open === 'ask'}
          onToggle={() => toggle('ask')}
        />
      )}
      {open === 'ask' && <AskPanel id="ask-panel" categoryId={props.categoryId} onDone={done} />}
    </div>
  );
}

function LinkPanel(props: {
  id: string;
  current?: ImprovementTask;
  categoryId?: string;
  onLinked: (message: string) => void;
}) {
  const { api, ticket, categories } = usePanel();
  const [words, setWords] = useState('');
  const [sameCause, setSameCause] = useState(Boolean(props.categoryId));
  // What was last searched for: the list follows the form only when it is sent.
  const [query, setQuery] = useState({ words: '', sameCause: Boolean(props.categoryId) });
  const [linking, setLinking] = useState('');
  const [error, setError] = useState('');
  const results = useLoad(
    () =>
      api.call<SearchTasksResponse>('Improvements', 'SearchTasks', {
        query: query.words,
        categoryId: query.sameCause && props.categoryId ? props.categoryId : '',
        limit: 10,
      }),
    [query],
  );

  async function link(task: ImprovementTask) {
    setLinking(task.id);
    setError('');
    try {
      await api.call('Improvements', 'LinkTicket', { ticket, taskId: task.id });
      props.onLinked(`Linked to “${task.title || `task ${task.id}`}”.`);
    } catch (e) {
      setError(describeError(e, 'link the ticket'));
      setLinking('');
    }
  }

  const tasks = results.data?.tasks ?? [];
  return (
    <div id={props.id} class="panel">
      <form
        role="search"
        aria-label="Search tasks"
        onSubmit={(e) => {
          e.preventDefault();
          setQuery({ words: words.trim(), sameCause });
        }}
      >
        <label for="task-words">Words in the task's title</label>
        <div class="row">
          <input
            id="task-words"
            type="search"
            value={words}
            onInput={(e) => setWords((e.currentTarget as HTMLInputElement).value)}
          />
          <button type="submit" class="secondary">
            Search
          </button>
        </div>
        <label class="check">
          <input
            type="checkbox"
            checked={sameCause}
            disabled={!props.categoryId}
            onChange={(e) => {
              const v = (e.currentTarget as HTMLInputElement).checked;
              setSameCause(v);
              setQuery({ words: words.trim(), sameCause: v });
            }}
          />
          Only tasks for this ticket's cause
          {props.categoryId ? ` (${categoryName(categories, props.categoryId)})` : ''}
        </label>
      </form>
      <Loadable state={results} what="search the tasks" lines={2}>
        {() =>
          tasks.length === 0 ? (
            <p class="empty">No task matches.</p>
          ) : (
            <ul class="results" aria-label="Matching tasks" aria-busy={results.loading}>
              {tasks.map((task) => {
                const isCurrent = props.current?.id === task.id;
                const title = task.title || `Task ${task.id}`;
                return (
                  <li key={task.id}>
                    <div class="result-text">
                      <span class="result-title">{title}</span>
                      <span class="muted">
                        {[
                          taskStatusWords(task.status),
                          task.externalKey || task.externalId || '',
                          plural(num(task.ticketCount), 'ticket', 'tickets'),
                          task.categoryId && task.categoryId !== props.categoryId
                            ? categoryName(categories, task.categoryId)
                            : '',
                        ]
                          .filter(Boolean)
                          .join(' · ')}
                      </span>
                    </div>
                    <button
                      type="button"
                      class="secondary small"
                      disabled={isCurrent || linking !== ''}
                      aria-label={isCurrent ? `Linked now: ${title}` : `Link to ${title}`}
                      onClick={() => link(task)}
                    >
                      {isCurrent ? 'Linked' : linking === task.id ? 'Linking…' : 'Link'}
                    </button>
                  </li>
                );
              })}
            </ul>
          )
        }
      </Loadable>
      {error && (
        <p class="error-text" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

function AskPanel(props: { id: string; categoryId?: string; onDone: (message: string) => void }) {
  const { api, ticket, categories } = usePanel();
  const suggested = props.categoryId
    ? `Root cause: ${categoryName(categories, props.categoryId)}`
    : '';
  const [title, setTitle] = useState<string | null>(null);
  const [asking, setAsking] = useState(false);
  const [error, setError] = useState('');
  // The names may arrive after the panel opened: the untouched title follows them.
  const shown = title ?? suggested;
  useEffect(() => setError(''), [props.categoryId]);

  async function ask(e: Event) {
    e.preventDefault();
    if (!props.categoryId) {
      setError('Choose the cause first (under Root cause), then ask for its task.');
      return;
    }
    setAsking(true);
    setError('');
    try {
      const r = await api.call<RequestTaskResponse>('Improvements', 'RequestTask', {
        ticket,
        categoryId: props.categoryId,
        agent: api.name,
        title: shown.trim(),
      });
      const name = r.task?.title || shown.trim();
      props.onDone(
        r.created
          ? `Asked for a task: “${name}”. The ticket is linked to it.`
          : `This cause already had an active task, “${name}”: the ticket is now linked to it.`,
      );
    } catch (err) {
      setError(describeError(err, 'ask for a task'));
      setAsking(false);
    }
  }

  return (
    <form id={props.id} class="panel" onSubmit={ask} aria-label="Ask for a task now">
      <label for="task-title">Task title</label>
      <input
        id="task-title"
        type="text"
        value={shown}
        onInput={(e) => setTitle((e.currentTarget as HTMLInputElement).value)}
        required
      />
      <p class="hint">
        If this cause already has an active task, the ticket is linked to that one instead.
      </p>
      <button type="submit" class="primary" disabled={asking}>
        {asking ? 'Asking…' : 'Ask for a task'}
      </button>
      {error && (
        <p class="error-text" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
