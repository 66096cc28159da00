// What every page gets: the session, the overview, navigation.
import type { Overview, Session } from "./api.js";

export interface App {
  session: Session;
  overview: Overview;
  /** Fetch the overview again (tables, functions, schema, crons). */
  refresh(): Promise<Overview>;
  navigate(hash: string): void;
}

/** A page renders into `root`; the function it returns stops its subscriptions. */
export type Page = (app: App, root: HTMLElement, params: string[]) => (() => void) | void;
