/**
 * `useQuery` for the console: a failed query is reported as a value instead of thrown
 * into React, and 64-bit integers (`v.int64()` values arrive as BigInt) are shown as plain
 * numbers, since every count here is small.
 */
import type { ArgsOf, FunctionReference, ResultOf } from "reactor-client";
import { useQuery } from "reactor-client/react";

export interface Live<T> {
  data: T | undefined;
  error: Error | null;
  loading: boolean;
}

// One converted copy per result object, so unchanged results keep their identity.
const converted = new WeakMap<object, unknown>();

export function plainNumbers<T>(value: T): T {
  if (typeof value === "bigint") return Number(value) as T;
  if (value === null || typeof value !== "object") return value;
  const hit = converted.get(value as object);
  if (hit !== undefined) return hit as T;
  let out: unknown;
  if (Array.isArray(value)) {
    const items = value.map(plainNumbers);
    out = items.every((v, i) => v === value[i]) ? value : items;
  } else if (value instanceof ArrayBuffer) {
    out = value;
  } else {
    const entries = Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, plainNumbers(v)] as const);
    out = entries.every(([k, v]) => v === (value as Record<string, unknown>)[k]) ? value : Object.fromEntries(entries);
  }
  converted.set(value as object, out);
  return out as T;
}

export function useLive<F extends FunctionReference>(query: F, args?: ArgsOf<F> | "skip"): Live<ResultOf<F>> {
  try {
    // The hook runs all of its own hooks before it throws, so catching keeps hook order.
    const data = useQuery(query, args);
    return { data: plainNumbers(data), error: null, loading: data === undefined && args !== "skip" };
  } catch (error) {
    return { data: undefined, error: error as Error, loading: false };
  }
}
