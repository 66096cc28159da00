/**
 * Function references: how callers name a server function.
 *
 * Accepted everywhere a function is named:
 *
 * - a path string: `"messages:list"`, `"dir/module:fn"`; `"messages"` alone means the
 *   module's `default` function and a trailing `.js`/`.py` on the module is dropped;
 * - anything {@link anyApi} (or `api`) builds: `api.messages.list`;
 * - objects carrying the path as a `_path`, `functionName` or `path` string property, or
 *   under `Symbol.for("functionName")` (so references made by the `convex` package's
 *   `anyApi` work too), or whose `toString()` returns the path (generated code from
 *   `reactor codegen`).
 *
 * @module
 */

/**
 * A reference to a server function. `Args` and `Result` only carry types for callers
 * (`reactor codegen`'s `_args`/`_returnType`, which the `convex` package uses too); at
 * run time a reference is just its path.
 */
export type FunctionReference<Args = any, Result = any> =
  | string
  | ({ readonly _args?: Args; readonly _returnType?: Result } & object);

/** The argument type of a reference (from generated `_args`; any object for plain strings). */
export type ArgsOf<F> = F extends { readonly _args?: infer A } ? (unknown extends A ? Record<string, any> : A) : Record<string, any>;
/** The result type of a reference (from generated `_returnType`; `any` for plain strings). */
export type ResultOf<F> = F extends { readonly _returnType?: infer R } ? (unknown extends R ? any : R) : any;

const FUNCTION_NAME = Symbol.for("functionName");

/** Turn `module:fn` / `dir/module` / `module.js:fn` into the canonical `dir/module:fn`. */
export function canonicalizePath(path: string): string {
  let [module, fn] = path.includes(":") ? (path.split(":", 2) as [string, string]) : [path, "default"];
  module = module.replace(/\.(js|ts|py)$/, "");
  return `${module}:${fn}`;
}

/** The canonical path a function reference names. Throws if it names none. */
export function getFunctionName(ref: FunctionReference): string {
  if (typeof ref === "string") return canonicalizePath(ref);
  if (ref !== null && (typeof ref === "object" || typeof ref === "function")) {
    const r = ref as Record<string | symbol, unknown>;
    for (const candidate of [r[FUNCTION_NAME], r["_path"], r["functionName"], r["path"]]) {
      if (typeof candidate === "string") return canonicalizePath(candidate);
    }
    const text = String(ref);
    if (!text.startsWith("[object ") && !text.startsWith("function")) return canonicalizePath(text);
  }
  throw new Error(`${String(ref)} is not a function reference (expected e.g. "messages:list" or api.messages.list)`);
}

function makeApi(segments: string[]): any {
  const path = () => {
    if (segments.length < 2) {
      throw new Error(`api.${segments.join(".")} names a module, not a function (try api.${segments[0] ?? "module"}.fn)`);
    }
    return `${segments.slice(0, -1).join("/")}:${segments[segments.length - 1]}`;
  };
  return new Proxy(
    {},
    {
      get(_target, prop) {
        if (prop === FUNCTION_NAME || prop === "_path") return path();
        if (prop === "toString" || prop === Symbol.toPrimitive) return path;
        if (prop === "then") return undefined; // not a thenable
        if (typeof prop !== "string") return undefined;
        return makeApi([...segments, prop]);
      },
    },
  );
}

/**
 * A reference builder for any function: `anyApi.messages.list` names `messages:list`,
 * `anyApi.dir.module.fn` names `dir/module:fn`. Untyped; generated code gives types.
 */
export const anyApi: Record<string, Record<string, any>> = makeApi([]);

/** Same as {@link anyApi}. */
export const api = anyApi;
