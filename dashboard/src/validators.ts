// Validator JSON (what the server reports for schemas and function arguments), rendered.
export type ValidatorJson = { type: string; [key: string]: any };

/** A TypeScript-like type: `{ title: string; priority?: number }`. */
export function typeText(v: ValidatorJson | null | undefined, depth = 0): string {
  if (!v) return "any";
  switch (v.type) {
    case "number":
      return "number";
    case "bigint":
      return "int64";
    case "id":
      return `Id<"${v.tableName}">`;
    case "literal":
      return JSON.stringify(v.value);
    case "array":
      return `${wrap(typeText(v.value, depth + 1))}[]`;
    case "record":
      return `Record<${typeText(v.keys, depth + 1)}, ${typeText(v.values?.fieldType, depth + 1)}>`;
    case "union":
      return (v.value as ValidatorJson[]).map((m) => typeText(m, depth + 1)).join(" | ");
    case "object": {
      const fields = Object.entries(v.value as Record<string, { fieldType: ValidatorJson; optional: boolean }>);
      if (fields.length === 0) return "{}";
      return `{ ${fields.map(([name, f]) => `${name}${f.optional ? "?" : ""}: ${typeText(f.fieldType, depth + 1)}`).join("; ")} }`;
    }
    default:
      return v.type;
  }
}

function wrap(text: string): string {
  return text.includes(" | ") ? `(${text})` : text;
}

/** The fields of an object validator, in order. */
export function fieldsOf(v: ValidatorJson | null | undefined): { name: string; type: ValidatorJson; optional: boolean }[] {
  if (!v || v.type !== "object") return [];
  return Object.entries(v.value as Record<string, { fieldType: ValidatorJson; optional: boolean }>).map(([name, f]) => ({
    name,
    type: f.fieldType,
    optional: f.optional,
  }));
}

/** Whether values of this type are typed as plain text in forms (no JSON quoting). */
export function isText(v: ValidatorJson | null | undefined): boolean {
  if (!v) return false;
  if (v.type === "string" || v.type === "id") return true;
  if (v.type === "union") return (v.value as ValidatorJson[]).every((m) => isText(m) || (m.type === "literal" && typeof m.value === "string"));
  return false;
}

/** A starting value (Convex JSON) for a new document or argument of this type. */
export function template(v: ValidatorJson | null | undefined): unknown {
  if (!v) return null;
  switch (v.type) {
    case "string":
    case "id":
      return "";
    case "number":
      return 0;
    case "bigint":
      return { $integer: "AAAAAAAAAAA=" };
    case "boolean":
      return false;
    case "null":
    case "any":
      return null;
    case "bytes":
      return { $bytes: "" };
    case "literal":
      return v.value;
    case "array":
      return [];
    case "record":
      return {};
    case "union":
      return template((v.value as ValidatorJson[])[0]);
    case "object": {
      const out: Record<string, unknown> = {};
      for (const f of fieldsOf(v)) if (!f.optional) out[f.name] = template(f.type);
      return out;
    }
    default:
      return null;
  }
}
