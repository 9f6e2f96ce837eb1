// The leads' and admins' pages, /app/insights and /app/admin: sign in with an API token of a
// lead or an admin, then move between the pages without signing in again (the session lives in
// this page only). A token whose role cannot open a page is told so plainly; the API refuses it
// the same calls.

import { useEffect, useRef, useState } from 'preact/hooks';
import { Admin } from './Admin';
import { Api } from './api';
import { Insights } from './Insights';
import { SignIn } from './SignIn';
import type { Session } from './types';

type Page = 'insights' | 'admin';

function pageOf(pathname: string): Page {
  return /^\/app\/admin\/?$/.test(pathname) ? 'admin' : 'insights';
}

const kTitles: Record<Page, string> = { insights: 'Debrief insights', admin: 'Debrief admin' };

export function Console() {
  const onEnded = useRef<() => void>(() => {});
  const [signed, setSigned] = useState<{ api: Api; session: Session } | null>(null);
  const [ended, setEnded] = useState(false);
  const [page, setPage] = useState<Page>(() => pageOf(window.location.pathname));
  onEnded.current = () => {
    setEnded(true);
    setSigned(null);
  };
  useEffect(() => {
    const onPop = () => setPage(pageOf(window.location.pathname));
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  useEffect(() => {
    document.title = kTitles[page];
  }, [page]);
  function go(p: Page, e: Event) {
    e.preventDefault();
    if (p === page) return;
    window.history.pushState(null, '', `/app/${p}`);
    setPage(p);
  }
  function signOut() {
    signed?.api.stop();
    setSigned(null);
    setEnded(false);
  }
  const role = signed?.session.role ?? '';
  let body;
  if (signed === null) {
    body = (
      <SignIn
        notice={ended ? 'Your session has ended. Sign in again.' : undefined}
        onSignedIn={(s) => {
          setEnded(false);
          setSigned({ api: new Api(s, () => onEnded.current()), session: s });
        }}
      />
    );
  } else if (page === 'admin' && role !== 'admin') {
    body = (
      <div class="card ended" role="alert">
        <p>The admin console is for admins; this API token is a {role}'s.</p>
      </div>
    );
  } else if (role !== 'lead' && role !== 'admin') {
    body = (
      <div class="card ended" role="alert">
        <p>
          Insights are for engineering leads and admins; this API token is an agent's. Ask an admin
          for a lead token.
        </p>
      </div>
    );
  } else {
    body = page === 'admin' ? <Admin api={signed.api} /> : <Insights api={signed.api} />;
  }
  return (
    <>
      <header class="top">
        <h1>{kTitles[page]}</h1>
        {signed && (
          <nav aria-label="Pages" class="pages">
            <a
              href="/app/insights"
              aria-current={page === 'insights' ? 'page' : undefined}
              onClick={(e) => go('insights', e)}
            >
              Insights
            </a>
            {role === 'admin' && (
              <a
                href="/app/admin"
                aria-current={page === 'admin' ? 'page' : undefined}
                onClick={(e) => go('admin', e)}
              >
                Admin
              </a>
            )}
          </nav>
        )}
        {signed && (
          <p class="who">
            <span>
              Signed in as {signed.session.name || 'you'} ({role})
            </span>
            <button type="button" class="link-button" onClick={signOut}>
              Sign out
            </button>
          </p>
        )}
      </header>
      <main id="main">{body}</main>
    </>
  );
}
