// The leads' page: sign in with an API token of a lead or an admin, then the insights. An
// agent's token is told plainly that it cannot open this page (the API refuses it too).

import { useRef, useState } from 'preact/hooks';
import { Api } from './api';
import { Insights } from './Insights';
import { SignIn } from './SignIn';
import type { Session } from './types';

export function Console() {
  const onEnded = useRef<() => void>(() => {});
  const [signed, setSigned] = useState<{ api: Api; session: Session } | null>(null);
  const [ended, setEnded] = useState(false);
  onEnded.current = () => {
    setEnded(true);
    setSigned(null);
  };
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
    body = <Insights api={signed.api} />;
  }
  return (
    <>
      <header class="top">
        <h1>Debrief insights</h1>
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
