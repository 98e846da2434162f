/**
 * The subgraph's `schema.graphql` read into a model both the store (tables, columns, value
 * conversion) and the GraphQL layer (generated query schema) work from, so the two can never
 * disagree about an entity's fields.
 */
import {
  type FieldDefinitionNode,
  Kind,
  type ObjectTypeDefinitionNode,
  parse,
  type TypeNode,
} from "graphql";
import { StoreError } from "./errors.ts";

/** Scalars an entity field may have (graph-node's set; `Timestamp` is stored like Int8). */
export type ScalarName =
  | "ID"
  | "String"
  | "Int"
  | "Int8"
  | "Timestamp"
  | "BigInt"
  | "BigDecimal"
  | "Bytes"
  | "Boolean";

const SCALARS: ReadonlySet<string> = new Set([
  "ID",
  "String",
  "Int",
  "Int8",
  "Timestamp",
  "BigInt",
  "BigDecimal",
  "Bytes",
  "Boolean",
]);

export interface FieldModel {
  name: string;
  /** What the (list item) type is: a scalar, an enum, or another entity (a reference). */
  kind: "scalar" | "enum" | "entity";
  /** The scalar, enum or entity name. */
  type: string;
  list: boolean;
  nonNull: boolean;
  /** For `@derivedFrom(field: …)` fields: the field of `type` that points back. Not stored. */
  derivedFrom?: string;
}

export interface EntityModel {
  name: string;
  immutable: boolean;
  /** Every field in schema order, derived ones included. */
  fields: FieldModel[];
  fieldMap: Map<string, FieldModel>;
  /** Fields with a column (everything but `@derivedFrom`). */
  stored: FieldModel[];
  /** The id field's scalar: ID/String are text, Bytes binary, Int8 numeric. */
  idType: ScalarName;
}

export interface SubgraphSchema {
  entities: Map<string, EntityModel>;
  enums: Map<string, string[]>;
  /** The schema text it was read from. */
  source: string;
}

function unwrap(type: TypeNode): { name: string; list: boolean; nonNull: boolean } {
  let nonNull = false;
  let t = type;
  if (t.kind === Kind.NON_NULL_TYPE) {
    nonNull = true;
    t = t.type;
  }
  if (t.kind === Kind.LIST_TYPE) {
    let inner = t.type;
    if (inner.kind === Kind.NON_NULL_TYPE) inner = inner.type;
    if (inner.kind !== Kind.NAMED_TYPE) throw new StoreError("schema-invalid", "nested lists");
    return { name: inner.name.value, list: true, nonNull };
  }
  if (t.kind !== Kind.NAMED_TYPE) throw new StoreError("schema-invalid", "unexpected type");
  return { name: t.name.value, list: false, nonNull };
}

function directiveArg(
  node: FieldDefinitionNode | ObjectTypeDefinitionNode,
  directive: string,
  arg: string,
): { present: boolean; value?: string | boolean } {
  const d = node.directives?.find((x) => x.name.value === directive);
  if (!d) return { present: false };
  const a = d.arguments?.find((x) => x.name.value === arg);
  if (!a) return { present: true };
  if (a.value.kind === Kind.STRING) return { present: true, value: a.value.value };
  if (a.value.kind === Kind.BOOLEAN) return { present: true, value: a.value.value };
  return { present: true };
}

/** Reads a subgraph schema. Throws StoreError for constructs the host does not support. */
export function parseSubgraphSchema(source: string): SubgraphSchema {
  const doc = parse(source);
  const enums = new Map<string, string[]>();
  const objects: ObjectTypeDefinitionNode[] = [];
  for (const def of doc.definitions) {
    if (def.kind === Kind.ENUM_TYPE_DEFINITION) {
      enums.set(
        def.name.value,
        (def.values ?? []).map((v) => v.name.value),
      );
    } else if (def.kind === Kind.OBJECT_TYPE_DEFINITION) {
      if (def.directives?.some((d) => d.name.value === "entity")) objects.push(def);
    } else if (def.kind === Kind.INTERFACE_TYPE_DEFINITION) {
      throw new StoreError(
        "schema-unsupported",
        `interface ${def.name.value}: the embedded host does not support interfaces`,
      );
    }
  }
  const entityNames = new Set(objects.map((o) => o.name.value));
  const entities = new Map<string, EntityModel>();
  for (const obj of objects) {
    const fields: FieldModel[] = [];
    for (const f of obj.fields ?? []) {
      const t = unwrap(f.type);
      let kind: FieldModel["kind"];
      if (SCALARS.has(t.name)) kind = "scalar";
      else if (enums.has(t.name)) kind = "enum";
      else if (entityNames.has(t.name)) kind = "entity";
      else
        throw new StoreError(
          "schema-unsupported",
          `${obj.name.value}.${f.name.value}: unknown type ${t.name}`,
        );
      const derived = directiveArg(f, "derivedFrom", "field");
      const field: FieldModel = {
        name: f.name.value,
        kind,
        type: t.name,
        list: t.list,
        nonNull: t.nonNull,
      };
      if (derived.present) {
        if (kind !== "entity" || typeof derived.value !== "string")
          throw new StoreError(
            "schema-invalid",
            `${obj.name.value}.${f.name.value}: @derivedFrom needs an entity type and a field`,
          );
        field.derivedFrom = derived.value;
      }
      fields.push(field);
    }
    const idField = fields.find((f) => f.name === "id");
    if (idField?.kind !== "scalar" || idField.list)
      throw new StoreError("schema-invalid", `${obj.name.value} has no scalar id field`);
    if (!["ID", "String", "Bytes", "Int8"].includes(idField.type))
      throw new StoreError(
        "schema-invalid",
        `${obj.name.value}.id must be ID, String, Bytes or Int8, not ${idField.type}`,
      );
    const immutable = directiveArg(obj, "entity", "immutable").value === true;
    entities.set(obj.name.value, {
      name: obj.name.value,
      immutable,
      fields,
      fieldMap: new Map(fields.map((f) => [f.name, f])),
      stored: fields.filter((f) => f.derivedFrom === undefined),
      idType: idField.type as ScalarName,
    });
  }
  // A @derivedFrom must point at a field that exists and references back.
  for (const e of entities.values()) {
    for (const f of e.fields) {
      if (f.derivedFrom === undefined) continue;
      const target = entities.get(f.type)?.fieldMap.get(f.derivedFrom);
      if (target?.kind !== "entity" || target.derivedFrom !== undefined)
        throw new StoreError(
          "schema-invalid",
          `${e.name}.${f.name}: @derivedFrom(field: "${f.derivedFrom}") is not a stored reference of ${f.type}`,
        );
    }
  }
  return { entities, enums, source };
}

/** The entity model, or a StoreError naming the unknown type. */
export function entityModel(schema: SubgraphSchema, name: string): EntityModel {
  const e = schema.entities.get(name);
  if (!e) throw new StoreError("store-unknown-entity", `unknown entity type ${name}`);
  return e;
}
