/**
 * React bindings: `reactor-client/react`.
 *
 * ```tsx
 * const client = new ReactorClient("http://127.0.0.1:3210");
 * root.render(<ReactorProvider client={client}><App /></ReactorProvider>);
 *
 * function Messages({ callId }) {
 *   const messages = useQuery(api.messages.list, { call_id: callId }); // undefined while loading
 *   const send = useMutation(api.messages.append);
 *   ...
 * }
 * ```
 *
 * Every hook re-renders with results from one snapshot: the client notifies all affected
 * queries synchronously for each server Transition, and React batches those updates.
 *
 * @module
 */
import {
  createContext,
  createElement,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
  useSyncExternalStore,
  type ReactNode,
} from "react";
import { getFunctionName, type ArgsOf, type FunctionReference, type ResultOf } from "../api.js";
import type { ConnectionState, ReactorClient, Watch } from "../client.js";
import { serializePathAndArgs } from "../local_state.js";
import type { OptimisticUpdate } from "../optimistic_updates.js";
import type { Value } from "../values.js";

const ReactorContext = createContext<ReactorClient | null>(null);

/** Makes `client` available to the hooks below. */
export function ReactorProvider(props: { client: ReactorClient; children?: ReactNode }) {
  return createElement(ReactorContext.Provider, { value: props.client }, props.children);
}

/** The client from the nearest {@link ReactorProvider}. */
export function useReactor(): ReactorClient {
  const client = useContext(ReactorContext);
  if (client === null) throw new Error("useReactor and the reactor hooks need a <ReactorProvider client={...}> above them");
  return client;
}

function keyOf(ref: FunctionReference, args: unknown): string {
  return serializePathAndArgs(getFunctionName(ref), (args ?? {}) as Record<string, Value>);
}

/** The watch's result, or its error (a stable object), or undefined while loading. */
function read(watch: Watch<any>): unknown {
  try {
    return watch.localQueryResult();
  } catch (error) {
    return new Failure(error as Error);
  }
}

class Failure {
  constructor(readonly error: Error) {}
}

/**
 * Subscribe to a query. Returns its result, `undefined` while loading (or when `args` is
 * `"skip"`), and throws the query's error so an error boundary can show it.
 */
export function useQuery<F extends FunctionReference>(query: F, args?: ArgsOf<F> | "skip"): ResultOf<F> | undefined {
  const client = useReactor();
  const skip = args === "skip";
  const key = skip ? "skip" : keyOf(query, args);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const watch = useMemo(() => (skip ? null : client.watchQuery(query, args as ArgsOf<F>)), [client, key]);
  const subscribe = useCallback((onChange: () => void) => (watch ? watch.onUpdate(onChange) : () => {}), [watch]);
  // Errors are stored once per result, so this snapshot is stable between changes.
  const lastFailure = useRef<{ error: Error; failure: Failure } | null>(null);
  const getSnapshot = useCallback(() => {
    if (watch === null) return undefined;
    const value = read(watch);
    if (!(value instanceof Failure)) return value;
    if (lastFailure.current?.error !== value.error) lastFailure.current = { error: value.error, failure: value };
    return lastFailure.current.failure;
  }, [watch]);
  const value = useSyncExternalStore(subscribe, getSnapshot, getSnapshot);
  if (value instanceof Failure) throw value.error;
  return value as ResultOf<F> | undefined;
}

/** A mutation function; `.withOptimisticUpdate(fn)` returns one that also updates locally. */
export interface ReactMutation<F extends FunctionReference> {
  (args?: ArgsOf<F>): Promise<ResultOf<F>>;
  withOptimisticUpdate(update: OptimisticUpdate<ArgsOf<F>>): ReactMutation<F>;
}

function makeMutation<F extends FunctionReference>(
  client: ReactorClient,
  ref: F,
  update?: OptimisticUpdate<ArgsOf<F>>,
): ReactMutation<F> {
  const run = ((args?: ArgsOf<F>) =>
    client.mutation(ref, args, update ? { optimisticUpdate: update } : {})) as ReactMutation<F>;
  run.withOptimisticUpdate = (next) => {
    if (update) throw new Error("this mutation already has an optimistic update");
    return makeMutation(client, ref, next);
  };
  return run;
}

/** A stable function that runs the mutation. */
export function useMutation<F extends FunctionReference>(mutation: F): ReactMutation<F> {
  const client = useReactor();
  const path = getFunctionName(mutation);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  return useMemo(() => makeMutation(client, mutation), [client, path]);
}

/** A stable function that runs the action. */
export function useAction<F extends FunctionReference>(action: F): (args?: ArgsOf<F>) => Promise<ResultOf<F>> {
  const client = useReactor();
  const path = getFunctionName(action);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  return useMemo(() => (args?: ArgsOf<F>) => client.action(action, args), [client, path]);
}

/** The client's connection state, re-rendering when it changes. */
export function useConnectionState(): ConnectionState {
  const client = useReactor();
  const [state, setState] = useState(() => client.connectionState());
  useEffect(() => {
    setState(client.connectionState());
    return client.subscribeToConnectionState(setState);
  }, [client]);
  return state;
}

// -- pagination ----------------------------------------------------------------------

export type PaginationStatus = "LoadingFirstPage" | "CanLoadMore" | "LoadingMore" | "Exhausted";

export interface PaginatedQueryResult<Item> {
  /** Every loaded item, pages concatenated in order. */
  results: Item[];
  status: PaginationStatus;
  isLoading: boolean;
  /** Subscribe to the next `numItems` items (only when status is "CanLoadMore"). */
  loadMore(numItems: number): void;
}

export interface PaginatedQueryOptions {
  /** Size of the first page. */
  initialNumItems: number;
  /**
   * The arguments of one page's query. Default: `{...args, paginationOpts: {numItems,
   * cursor}}`, as the official Convex clients send it, matching a function that takes
   * `paginationOpts` and calls `.paginate(paginationOpts)`. For a function with other
   * arguments pass e.g. `(args, p) => ({...args, cursor: p.cursor, num_items: p.numItems})`.
   */
  paginationArgs?: (args: Record<string, any>, page: { cursor: string | null; numItems: number }) => Record<string, any>;
}

interface PageResult {
  page: unknown[];
  isDone: boolean;
  continueCursor: string | null;
}

function pageOf(value: any): PageResult {
  if (value === null || typeof value !== "object" || !Array.isArray(value.page)) {
    throw new Error("usePaginatedQuery: the query must return {page, isDone, continueCursor}");
  }
  return {
    page: value.page,
    isDone: Boolean(value.isDone ?? value.is_done),
    continueCursor: (value.continueCursor ?? value.continue_cursor ?? null) as string | null,
  };
}

const defaultPaginationArgs = (args: Record<string, any>, p: { cursor: string | null; numItems: number }) => ({
  ...args,
  paginationOpts: { numItems: p.numItems, cursor: p.cursor },
});

/**
 * A growing, live list over a paginated query. Each loaded page is its own subscription
 * (starting where the previous page ended when it was loaded); the server keeps every
 * subscribed page's end fixed, so items never fall between pages or show twice.
 */
export function usePaginatedQuery<F extends FunctionReference>(
  query: F,
  args: Record<string, any> | "skip",
  options: PaginatedQueryOptions,
): PaginatedQueryResult<any> {
  const client = useReactor();
  const skip = args === "skip";
  const argsKey = skip ? "skip" : keyOf(query, args);
  const makeArgs = options.paginationArgs ?? defaultPaginationArgs;
  const [state, setState] = useState(() => ({
    key: argsKey,
    pages: [{ cursor: null as string | null, numItems: options.initialNumItems }],
  }));
  let pages = state.pages;
  if (state.key !== argsKey) {
    pages = [{ cursor: null, numItems: options.initialNumItems }];
    setState({ key: argsKey, pages });
  }
  const pagesKey = JSON.stringify(pages);
  const watches = useMemo(
    () => (skip ? [] : pages.map((p) => client.watchQuery(query, makeArgs(args as Record<string, any>, p) as ArgsOf<F>))),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [client, argsKey, pagesKey],
  );
  const subscribe = useCallback(
    (onChange: () => void) => {
      const stops = watches.map((w) => w.onUpdate(onChange));
      return () => stops.forEach((stop) => stop());
    },
    [watches],
  );
  const cache = useRef<unknown[]>([]);
  const getSnapshot = useCallback(() => {
    const next = watches.map(read);
    const prev = cache.current;
    if (next.length === prev.length && next.every((v, i) => v === prev[i] || (v instanceof Failure && prev[i] instanceof Failure && (prev[i] as Failure).error === v.error))) {
      return prev;
    }
    cache.current = next;
    return next;
  }, [watches]);
  const results = useSyncExternalStore(subscribe, getSnapshot, getSnapshot);

  const loaded: PageResult[] = [];
  for (const value of results) {
    if (value instanceof Failure) throw value.error;
    if (value === undefined) break;
    loaded.push(pageOf(value));
  }
  const last = loaded[loaded.length - 1];
  let status: PaginationStatus;
  if (skip || loaded.length === 0) status = "LoadingFirstPage";
  else if (loaded.length < results.length) status = "LoadingMore";
  else if (last!.isDone) status = "Exhausted";
  else status = "CanLoadMore";

  const loadMore = useCallback(
    (numItems: number) => {
      if (status !== "CanLoadMore" || last === undefined) return;
      const cursor = last.continueCursor;
      setState((s) =>
        s.key !== argsKey || s.pages.length !== loaded.length ? s : { key: s.key, pages: [...s.pages, { cursor, numItems }] },
      );
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [status, last?.continueCursor, argsKey, loaded.length],
  );

  return {
    results: loaded.flatMap((p) => p.page),
    status,
    isLoading: status === "LoadingFirstPage" || status === "LoadingMore",
    loadMore,
  };
}
