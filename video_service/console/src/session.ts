// Who is signed in, for every page under the session gate (App.tsx).
import { createContext, useContext } from "react";
import type { Session } from "./api";

export const SESSION_KEY = ["session"] as const;

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside the signed-in pages");
  return session;
}
