import type { JsonRpcProvider } from "ethers";
import { createContext, useContext } from "react";
import type { ProtocolContracts } from "../../sdk/chain/contracts.ts";
import type { SubgraphClient } from "../../sdk/queries/client.ts";
import type { AppConfig } from "./config.ts";
import type { Session } from "./lib/session.ts";

export interface AppContextValue {
  config: AppConfig;
  reader: JsonRpcProvider;
  /** Contracts connected to the read provider. */
  read: ProtocolContracts;
  subgraph: SubgraphClient;
  session: Session | null;
  setSession: (session: Session | null) => void;
}

export const AppContext = createContext<AppContextValue | null>(null);

export function useApp(): AppContextValue {
  const value = useContext(AppContext);
  if (value === null) throw new Error("useApp outside AppContext");
  return value;
}
