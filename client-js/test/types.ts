// Compile-time checks (tsc -p tsconfig.test.json): generated references carry types.
import { ReactorClient, ReactorHttpClient, api } from "../src/index.js";
import { useMutation, useQuery } from "../src/react/index.js";

/** The shape `reactor codegen` gives a function reference. */
type Ref<Type extends string, Args, Returns> = {
  readonly _path: string;
  readonly _type: Type;
  readonly _visibility: "public";
  readonly _args: Args;
  readonly _returnType: Returns;
};
declare const list: Ref<"query", { call_id: string }, { text: string }[]>;
declare const append: Ref<"mutation", { call_id: string; text: string }, string>;
declare const client: ReactorClient;
declare const http: ReactorHttpClient;

export async function checks(): Promise<void> {
  const texts: { text: string }[] = await client.query(list, { call_id: "c" });
  const id: string = await client.mutation(append, { call_id: "c", text: "t" });
  // @ts-expect-error wrong argument name
  await client.query(list, { call: "c" });
  // @ts-expect-error wrong result type
  const wrong: number = await client.mutation(append, { call_id: "c", text: "t" });
  client.onUpdate(list, { call_id: "c" }, (rows) => rows.map((r) => r.text.toUpperCase()));
  // Untyped references accept any object arguments and return any.
  const anything: number = await client.query("counters:value", { name: "x" });
  const viaApi: string = await http.query(api.messages.list, { call_id: "c" });
  void [texts, id, wrong, anything, viaApi];
}

export function Component(): null {
  const rows = useQuery(list, { call_id: "c" });
  const skipped = useQuery(list, "skip");
  const send = useMutation(append);
  void send({ call_id: "c", text: "hi" }).then((newId: string) => newId);
  void [rows?.[0]?.text, skipped];
  return null;
}
