/** `useQuery` that reports a failed query as a value instead of throwing into React. */
import type { ArgsOf, FunctionReference, ResultOf } from "reactor-client";
import { useQuery } from "reactor-client/react";

export interface Live<T> {
  data: T | undefined;
  error: Error | null;
  loading: boolean;
}

export function useLive<F extends FunctionReference>(query: F, args?: ArgsOf<F> | "skip"): Live<ResultOf<F>> {
  try {
    // The hook runs all of its own hooks before it throws, so catching keeps hook order.
    const data = useQuery(query, args);
    return { data, error: null, loading: data === undefined && args !== "skip" };
  } catch (error) {
    return { data: undefined, error: error as Error, loading: false };
  }
}
