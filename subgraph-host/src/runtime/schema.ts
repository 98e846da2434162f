/**
 * The slice of `schema.graphql` the mapping runtime needs: which entity types exist, which
 * fields each has (to refuse unknown or missing required fields on `store.set`, as graph-node
 * does) and where `@derivedFrom` fields point (to answer `store.loadRelated`).
 */
import { readFileSync } from "node:fs";
import { Kind, parse, type TypeNode } from "graphql";

export interface FieldInfo {
  name: string;
  required: boolean;
  list: boolean;
  /** Named type: scalar, enum or entity type. */
  type: string;
  /** For `@derivedFrom(field: "x")`: the field `x` on `type`. */
  derivedFrom?: string;
}

export interface EntityInfo {
  name: string;
  immutable: boolean;
  fields: Map<string, FieldInfo>;
}

export type EntitySchema = Map<string, EntityInfo>;

function unwrap(type: TypeNode): { required: boolean; list: boolean; name: string } {
  let required = false;
  let list = false;
  let node = type;
  if (node.kind === Kind.NON_NULL_TYPE) {
    required = true;
    node = node.type;
  }
  if (node.kind === Kind.LIST_TYPE) {
    list = true;
    node = node.type;
    if (node.kind === Kind.NON_NULL_TYPE) node = node.type;
  }
  if (node.kind !== Kind.NAMED_TYPE) throw new Error("nested lists are not supported");
  return { required, list, name: node.name.value };
}

export function parseEntitySchema(source: string): EntitySchema {
  const schema: EntitySchema = new Map();
  for (const def of parse(source).definitions) {
    if (def.kind !== Kind.OBJECT_TYPE_DEFINITION) continue;
    const entity = def.directives?.find((d) => d.name.value === "entity");
    if (entity === undefined) continue;
    const immutableArg = entity.arguments?.find((a) => a.name.value === "immutable");
    const immutable = immutableArg?.value.kind === Kind.BOOLEAN && immutableArg.value.value;
    const fields = new Map<string, FieldInfo>();
    for (const field of def.fields ?? []) {
      const { required, list, name } = unwrap(field.type);
      const derived = field.directives?.find((d) => d.name.value === "derivedFrom");
      const derivedArg = derived?.arguments?.find((a) => a.name.value === "field");
      fields.set(field.name.value, {
        name: field.name.value,
        required,
        list,
        type: name,
        derivedFrom: derivedArg?.value.kind === Kind.STRING ? derivedArg.value.value : undefined,
      });
    }
    schema.set(def.name.value, { name: def.name.value, immutable, fields });
  }
  return schema;
}

export function loadEntitySchema(path: string): EntitySchema {
  return parseEntitySchema(readFileSync(path, "utf8"));
}
