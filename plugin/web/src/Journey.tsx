// Sections 3 and 4: the customer's other tickets, and open tickets of the same cause.

import { ago, localDate, localDateTime, taskStatusWords, ticketStatusWords } from './format';
import { useLoad } from './load';
import type { GetJourneyResponse, JourneyEntry, SimilarTicketsResponse } from './types';
import { Badge, categoryName, Loadable, OutLink, safeUrl, Section, usePanel } from './ui';

const kJourneyLimit = 20;
const kSimilarLimit = 5;

// `version` changes when the agent changed the ticket (its cause or task), to load again.
export function Journey(props: { version: number }) {
  const { api, ticket, categories } = usePanel();
  const state = useLoad(
    () => api.call<GetJourneyResponse>('Tickets', 'GetJourney', { ticket, limit: kJourneyLimit }),
    [props.version],
  );
  return (
    <Section id="journey" title="This customer's journey" busy={state.loading}>
      <Loadable state={state} what="load the customer's journey" lines={4}>
        {(r) => {
          const entries = newestFirst(r.entries ?? []);
          if (entries.length === 0) return <p class="empty">No tickets from this customer yet.</p>;
          return (
            <ol class="journey">
              {entries.map((e, i) => {
                const t = e.ticket;
                const current =
                  t?.helpdeskId === ticket.helpdeskId && t?.ticketId === ticket.ticketId;
                const url = current ? null : safeUrl(t?.url);
                const subject = t?.subject || `Ticket ${t?.ticketId ?? ''}`;
                const cause = e.classification?.categoryId;
                return (
                  <li
                    key={`${t?.helpdeskId}/${t?.ticketId}/${i}`}
                    class={current ? 'current' : undefined}
                    aria-current={current ? 'true' : undefined}
                  >
                    <p class="entry-head">
                      <time dateTime={t?.createdAt} title={localDateTime(t?.createdAt)}>
                        {localDate(t?.createdAt) || 'Undated'}
                      </time>
                      <span class="muted"> · {t?.helpdeskId}</span>
                      {current && <Badge tone="info">This ticket</Badge>}
                    </p>
                    <p class="entry-subject">
                      {url ? <OutLink href={url}>{subject}</OutLink> : subject}{' '}
                      <span class="muted">#{t?.ticketId}</span>
                    </p>
                    <p class="entry-facts">
                      <span>Cause: {cause ? categoryName(categories, cause) : 'none yet'}</span>
                      <span> · Status: {ticketStatusWords(t?.status)}</span>
                    </p>
                    {e.task && (
                      <p class="entry-facts">
                        Task: {e.task.title || `Task ${e.task.id}`} (
                        {taskStatusWords(e.task.status).toLowerCase()})
                      </p>
                    )}
                    {(e.repeatContact || e.toldFixed) && (
                      <p class="marks">
                        {e.repeatContact && <Badge tone="warn">Repeat contact</Badge>}
                        {e.toldFixed && <Badge tone="good">Told it shipped</Badge>}
                      </p>
                    )}
                  </li>
                );
              })}
            </ol>
          );
        }}
      </Loadable>
    </Section>
  );
}

export function Similar(props: { version: number }) {
  const { api, ticket } = usePanel();
  const state = useLoad(
    () =>
      api.call<SimilarTicketsResponse>('Tickets', 'SimilarTickets', {
        ticket,
        limit: kSimilarLimit,
      }),
    [props.version],
  );
  return (
    <Section id="similar" title="Similar open tickets" busy={state.loading}>
      <Loadable state={state} what="load similar tickets" lines={3}>
        {(r) => {
          const others = (r.tickets ?? []).filter(
            (e) =>
              !(
                e.ticket?.helpdeskId === ticket.helpdeskId && e.ticket?.ticketId === ticket.ticketId
              ),
          );
          if (others.length === 0)
            return <p class="empty">No other open tickets with this cause.</p>;
          return (
            <ul class="similar">
              {others.map((e, i) => {
                const t = e.ticket;
                const url = safeUrl(t?.url);
                const subject = t?.subject || `Ticket ${t?.ticketId ?? ''}`;
                const when = t?.createdAt;
                return (
                  <li key={`${t?.helpdeskId}/${t?.ticketId}/${i}`}>
                    <p class="entry-subject">
                      {url ? <OutLink href={url}>{subject}</OutLink> : subject}
                    </p>
                    <p class="muted">
                      #{t?.ticketId} · {t?.helpdeskId}
                      {when && (
                        <>
                          {' · '}
                          <time dateTime={when} title={localDateTime(when)}>
                            opened {ago(when)}
                          </time>
                        </>
                      )}
                    </p>
                  </li>
                );
              })}
            </ul>
          );
        }}
      </Loadable>
    </Section>
  );
}

// debriefd answers newest first already; sorting again keeps the order if it ever does not.
function newestFirst(entries: JourneyEntry[]): JourneyEntry[] {
  const at = (e: JourneyEntry) => Date.parse(e.ticket?.createdAt ?? '') || 0;
  return entries
    .map((e, i) => ({ e, i }))
    .sort((a, b) => at(b.e) - at(a.e) || a.i - b.i)
    .map((x) => x.e);
}
