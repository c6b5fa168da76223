import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';

import { api, setToken, whenUnauthenticated } from './api';
import { Audit } from './audit';
import { type Session, type SignIn, signIn, signOut } from './auth';
import { Board } from './board';
import { History, Queue, ReviewPage } from './engineer';
import { Engineers } from './engineers';
import { IncidentPage } from './incident';
import { useResource } from './ui';

function useRoute(): string {
  const [route, setRoute] = useState(location.hash.replace(/^#/, '') || '/');
  useEffect(() => {
    const onChange = () => setRoute(location.hash.replace(/^#/, '') || '/');
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

function Page({ route, session }: { route: string; session: Session }) {
  const admin = session.roles.includes('admin');
  const engineer = session.roles.includes('engineer');
  const [, section, id] = route.split('/');
  if (engineer && section === 'review' && id) return <ReviewPage id={id} />;
  if (engineer && section === 'history') return <History />;
  if (admin && section === 'incident' && id) return <IncidentPage id={id} />;
  if (admin && section === 'engineers') return <Engineers />;
  if (admin && section === 'audit') return <Audit />;
  if (admin && (section === '' || section === 'board')) return <Board />;
  if (engineer && (section === '' || section === 'queue')) return <Queue />;
  if (!admin && !engineer) return <p role="alert">This console is for engineers and admins; your token has neither role.</p>;
  return (
    <p role="alert">
      There is no such page. <a href="#/">Go to the start page</a>.
    </p>
  );
}

function Navigation({ session }: { session: Session }) {
  const links: [string, string][] = [];
  if (session.roles.includes('admin')) links.push(['#/', 'Board'], ['#/engineers', 'Engineers'], ['#/audit', 'Audit trail']);
  if (session.roles.includes('engineer'))
    links.push([session.roles.includes('admin') ? '#/queue' : '#/', 'My queue'], ['#/history', 'My past reviews']);
  return (
    <nav aria-label="Main">
      <ul>
        {links.map(([href, text]) => (
          <li key={href}>
            <a href={href}>{text}</a>
          </li>
        ))}
      </ul>
    </nav>
  );
}

function Who({ session }: { session: Session }) {
  const me = useResource(async () => (session.roles.includes('engineer') ? (await api.me()).name : session.sub), `who-${session.sub}`);
  return (
    <span class="who">
      {me.data ?? session.sub} ({session.roles.join(', ')})
    </span>
  );
}

function App() {
  const [state, setState] = useState<SignIn | null>(null);
  const route = useRoute();
  useEffect(() => {
    void signIn().then((result) => {
      if ('session' in result) setToken(result.session.token);
      setState(result);
    });
    whenUnauthenticated((error) => {
      setToken(null);
      void signOut()
        .then(signIn)
        .then((result) =>
          setState(
            'session' in result
              ? result
              : { ...result, problem: `${error.problem.detail ?? 'Your sign-in is no longer valid.'} Sign in again.` },
          ),
        );
    });
  }, []);
  if (!state) return <p aria-busy="true">Signing in…</p>;
  if (!('session' in state)) {
    return (
      <main class="signin">
        <h1>Engineer Review Console</h1>
        {state.problem && <p role="alert">{state.problem}</p>}
        {state.signIn ? (
          <button type="button" onClick={() => void state.signIn?.()}>
            Sign in
          </button>
        ) : (
          <p>
            Open the link that `npm start` prints, or ask your lead for one: sign-in with an identity provider is not configured on this
            service.
          </p>
        )}
      </main>
    );
  }
  const { session } = state;
  return (
    <>
      <a
        class="skip"
        href="#content"
        onClick={(event) => {
          event.preventDefault();
          document.getElementById('content')?.focus();
        }}
      >
        Skip to content
      </a>
      <header>
        <strong>Engineer Review Console</strong>
        <Navigation session={session} />
        <Who session={session} />
        <button
          type="button"
          class="secondary"
          onClick={() => {
            setToken(null);
            void signOut().then(signIn).then(setState);
          }}
        >
          Sign out
        </button>
      </header>
      <main id="content" tabIndex={-1}>
        <Page route={route} session={session} />
      </main>
    </>
  );
}

const root = document.getElementById('app');
if (root) render(<App />, root);
