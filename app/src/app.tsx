import { useEffect, useMemo, useState } from "react";
import { connectContracts } from "../../sdk/chain/contracts.ts";
import { createSubgraphClient } from "../../sdk/queries/client.ts";
import type { AppConfig } from "./config.ts";
import { AppContext, type AppContextValue } from "./context.ts";
import { useHashRoute } from "./lib/hooks.ts";
import { readProvider, type Session } from "./lib/session.ts";
import { AccountPage } from "./pages/account.tsx";
import { JobPage } from "./pages/job.tsx";
import { OverviewPage } from "./pages/overview.tsx";
import { PostPage } from "./pages/post.tsx";
import { ProviderPage, ProvidersPage } from "./pages/providers.tsx";

const NAV: [string, string][] = [
  ["/", "Overview"],
  ["/providers", "Providers"],
  ["/post", "Post a job"],
  ["/account", "Account"],
];

function Page({ route }: { route: string }) {
  const job = /^\/jobs\/([^/]+)$/.exec(route);
  if (job) return <JobPage id={job[1] as string} />;
  const provider = /^\/providers\/(0x[0-9a-fA-F]{40})$/.exec(route);
  if (provider) return <ProviderPage address={(provider[1] as string).toLowerCase()} />;
  switch (route) {
    case "/":
      return <OverviewPage />;
    case "/providers":
      return <ProvidersPage />;
    case "/post":
      return <PostPage />;
    case "/account":
      return <AccountPage />;
    default:
      return <p role="alert">No page at {route}.</p>;
  }
}

export function App({ config }: { config: AppConfig }) {
  const route = useHashRoute();
  const [session, setSession] = useState<Session | null>(null);
  const base = useMemo(() => {
    const reader = readProvider(config);
    return {
      config,
      reader,
      read: connectContracts(config.addresses, reader),
      subgraph: createSubgraphClient(config.subgraphUrl),
    };
  }, [config]);
  const value: AppContextValue = { ...base, session, setSession };
  // A wallet that switches account or chain invalidates the session: ask to connect again.
  useEffect(() => {
    const wallet = (
      window as {
        ethereum?: {
          on?: (e: string, f: () => void) => void;
          removeListener?: (e: string, f: () => void) => void;
        };
      }
    ).ethereum;
    if (session?.kind !== "injected" || wallet?.on === undefined) return;
    const reset = () => setSession(null);
    wallet.on("accountsChanged", reset);
    wallet.on("chainChanged", reset);
    return () => {
      wallet.removeListener?.("accountsChanged", reset);
      wallet.removeListener?.("chainChanged", reset);
    };
  }, [session]);
  const section = route === "/" ? "/" : `/${route.split("/")[1]}`;

  return (
    <AppContext.Provider value={value}>
      <button
        type="button"
        className="skip"
        onClick={() => document.getElementById("main")?.focus()}
      >
        Skip to content
      </button>
      <header>
        <a href="#/" className="brand">
          CONUN
        </a>
        <nav aria-label="Main">
          <ul>
            {NAV.map(([path, label]) => (
              <li key={path}>
                <a href={`#${path}`} aria-current={section === path ? "page" : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <p className="who" data-testid="session">
          {session
            ? `${session.address.slice(0, 6)}…${session.address.slice(-4)}`
            : "not connected"}{" "}
          · chain {config.chainId}
        </p>
      </header>
      <main id="main" tabIndex={-1}>
        <Page route={route} />
      </main>
    </AppContext.Provider>
  );
}
