/**
 * The query schema graph-node generates from a subgraph's `schema.graphql`, rebuilt with
 * graphql-js: for every entity `Foo` the root fields `foo(id, block)` and `foos(first, skip,
 * orderBy, orderDirection, where, block)`, the input type `Foo_filter` with graph-node's
 * operator suffixes, the enum `Foo_orderBy`, relation and `@derivedFrom` fields with their own
 * collection arguments, and `_meta`. Every resolver is synchronous, so a whole query runs
 * against one consistent state of the store (nothing can commit in between).
 */
import {
  GraphQLBoolean,
  GraphQLEnumType,
  type GraphQLEnumValueConfigMap,
  GraphQLError,
  type GraphQLFieldConfig,
  type GraphQLFieldConfigArgumentMap,
  type GraphQLFieldConfigMap,
  GraphQLID,
  type GraphQLInputFieldConfigMap,
  GraphQLInputObjectType,
  type GraphQLInputType,
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  type GraphQLOutputType,
  GraphQLSchema,
  GraphQLString,
} from "graphql";
import type {
  BlockPtr,
  CollectionQuery,
  EntityData,
  EntityModel,
  FieldModel,
  SubgraphSchema,
} from "../store/index.ts";
import { toPlain } from "../store/index.ts";
import { STRING_OPS } from "../store/query.ts";
import {
  BigDecimalScalar,
  BigIntScalar,
  BytesScalar,
  Int8Scalar,
  TimestampScalar,
} from "./scalars.ts";

/** What the GraphQL layer needs from a store (SqliteStore implements it). */
export interface QueryableStore {
  findOne(entityType: string, id: string, block?: number): EntityData | null;
  findMany(query: CollectionQuery): EntityData[];
  head(): BlockPtr | null;
  blockAtOrBelow(number: number): BlockPtr | null;
  blockByHash(hash: string): BlockPtr | null;
  hasIndexingErrors(): boolean;
}

export interface QueryContext {
  store: QueryableStore;
  subgraphName: string;
  /** What `_meta.deployment` reports (graph-node: the deployment's IPFS hash). */
  deployment: string;
  /**
   * Whether the indexer skips failed handlers and goes on (graph-node's non-fatal errors).
   * Then data may be incomplete, so queries fail unless they pass `subgraphError: allow`.
   * When false, an indexing error halts indexing and the data up to the head is exact.
   */
  nonFatalErrors: boolean;
}

export const MAX_FIRST = 1000;
export const DEFAULT_FIRST = 100;

const BLOCK = Symbol("block");
type EntityObject = Record<string, unknown> & { [BLOCK]?: number };

/** graph-node's collection field name: lower-case first letter, English plural. */
export function collectionFieldName(entity: string): string {
  const single = singleFieldName(entity);
  let plural: string;
  if (/(s|x|z|ch|sh)$/.test(single)) plural = `${single}es`;
  else if (/[^aeiou]y$/.test(single)) plural = `${single.slice(0, -1)}ies`;
  else plural = `${single}s`;
  return plural === single ? `${single}_collection` : plural;
}

export function singleFieldName(entity: string): string {
  return entity.charAt(0).toLowerCase() + entity.slice(1);
}

function toObject(data: EntityData, block: number | undefined): EntityObject {
  const obj: EntityObject = {};
  for (const [key, value] of data) obj[key] = toPlain(value);
  obj[BLOCK] = block;
  return obj;
}

function checkRange(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max)
    throw new GraphQLError(
      `The \`${name}\` argument must be between 0 and ${max}, but is ${value}`,
    );
}

interface BlockArg {
  number?: number | null;
  hash?: string | null;
  number_gte?: number | null;
}

/** The block a query reads at: undefined for the latest state. Errors, never guesses. */
function resolveBlock(ctx: QueryContext, arg: BlockArg | null | undefined): number | undefined {
  if (!arg) return undefined;
  const head = ctx.store.head();
  const given = [arg.number, arg.hash, arg.number_gte].filter((v) => v !== undefined && v !== null);
  if (given.length !== 1)
    throw new GraphQLError("`block` takes exactly one of `number`, `hash` or `number_gte`");
  const notYet = (n: number) =>
    new GraphQLError(
      `subgraph ${ctx.subgraphName} has only indexed up to block number ${head?.number ?? "(none)"} and data for block number ${n} is therefore not yet available`,
    );
  if (typeof arg.number === "number") {
    if (arg.number < 0) throw new GraphQLError("`block.number` must not be negative");
    if (!head || arg.number > head.number) throw notYet(arg.number);
    return arg.number === head.number ? undefined : arg.number;
  }
  if (typeof arg.number_gte === "number") {
    if (!head || arg.number_gte > head.number) throw notYet(arg.number_gte);
    return undefined;
  }
  const found = ctx.store.blockByHash(String(arg.hash));
  if (!found)
    throw new GraphQLError(
      `no block with hash ${arg.hash} has been indexed by subgraph ${ctx.subgraphName}`,
    );
  return head && found.number === head.number ? undefined : found.number;
}

function checkErrorPolicy(ctx: QueryContext, policy: unknown): void {
  if (ctx.nonFatalErrors && policy !== "allow" && ctx.store.hasIndexingErrors())
    throw new GraphQLError(
      "indexing_error: the subgraph has indexing errors; pass `subgraphError: allow` to query partial data",
    );
}

/** The executable schema for a subgraph schema. Resolvers read `context.store`. */
export function buildApiSchema(model: SubgraphSchema): GraphQLSchema {
  const scalarTypes: Record<string, GraphQLOutputType & GraphQLInputType> = {
    ID: GraphQLID,
    String: GraphQLString,
    Int: GraphQLInt,
    Boolean: GraphQLBoolean,
    BigInt: BigIntScalar,
    BigDecimal: BigDecimalScalar,
    Bytes: BytesScalar,
    Int8: Int8Scalar,
    Timestamp: TimestampScalar,
  };
  const enums = new Map<string, GraphQLEnumType>();
  for (const [name, values] of model.enums)
    enums.set(
      name,
      new GraphQLEnumType({
        name,
        values: Object.fromEntries(values.map((v) => [v, { value: v }])),
      }),
    );
  const orderDirection = new GraphQLEnumType({
    name: "OrderDirection",
    values: { asc: { value: "asc" }, desc: { value: "desc" } },
  });
  const blockHeight = new GraphQLInputObjectType({
    name: "Block_height",
    fields: {
      hash: { type: BytesScalar },
      number: { type: GraphQLInt },
      number_gte: { type: GraphQLInt },
    },
  });
  const blockChanged = new GraphQLInputObjectType({
    name: "BlockChangedFilter",
    fields: { number_gte: { type: new GraphQLNonNull(GraphQLInt) } },
  });
  const errorPolicy = new GraphQLEnumType({
    name: "_SubgraphErrorPolicy_",
    values: { allow: { value: "allow" }, deny: { value: "deny" } },
  });

  const objects = new Map<string, GraphQLObjectType>();
  const filters = new Map<string, GraphQLInputObjectType>();
  const orderBys = new Map<string, GraphQLEnumType>();
  const entity = (name: string) => model.entities.get(name) as EntityModel;

  const storedScalar = (f: FieldModel): string =>
    f.kind === "entity" ? (model.entities.get(f.type)?.idType ?? "ID") : f.type;

  const baseType = (f: FieldModel): GraphQLOutputType & GraphQLInputType => {
    if (f.kind === "enum") return enums.get(f.type) as GraphQLEnumType;
    return scalarTypes[f.type] as GraphQLOutputType & GraphQLInputType;
  };

  for (const e of model.entities.values()) {
    orderBys.set(
      e.name,
      new GraphQLEnumType({
        name: `${e.name}_orderBy`,
        values: (() => {
          const values: GraphQLEnumValueConfigMap = {};
          for (const f of e.stored) {
            if (f.list) continue;
            values[f.name] = { value: f.name };
            if (f.kind !== "entity") continue;
            for (const sub of entity(f.type).stored)
              if (!sub.list && sub.kind !== "entity")
                values[`${f.name}__${sub.name}`] = { value: `${f.name}__${sub.name}` };
          }
          return values;
        })(),
      }),
    );
  }

  for (const e of model.entities.values()) {
    const filter: GraphQLInputObjectType = new GraphQLInputObjectType({
      name: `${e.name}_filter`,
      fields: () => {
        const fields: GraphQLInputFieldConfigMap = {};
        const add = (name: string, type: GraphQLInputType) => {
          fields[name] = { type };
        };
        for (const f of e.fields) {
          if (f.derivedFrom !== undefined) {
            add(`${f.name}_`, filters.get(f.type) as GraphQLInputObjectType);
            continue;
          }
          const scalar = storedScalar(f);
          const item: GraphQLInputType =
            f.kind === "entity" ? GraphQLString : (baseType(f) as GraphQLInputType);
          const listOf = new GraphQLList(new GraphQLNonNull(item));
          if (f.list) {
            for (const op of ["", "_not", "_contains", "_not_contains"]) add(f.name + op, listOf);
          } else {
            add(f.name, item);
            add(`${f.name}_not`, item);
            if (scalar !== "Boolean" && f.kind !== "enum")
              for (const op of ["_gt", "_lt", "_gte", "_lte"]) add(f.name + op, item);
            add(`${f.name}_in`, listOf);
            add(`${f.name}_not_in`, listOf);
            if (scalar === "Bytes") {
              add(`${f.name}_contains`, item);
              add(`${f.name}_not_contains`, item);
            } else if (scalar === "String" || (scalar === "ID" && f.kind === "entity")) {
              for (const op of STRING_OPS) add(f.name + op, GraphQLString);
            }
          }
          if (f.kind === "entity") add(`${f.name}_`, filters.get(f.type) as GraphQLInputObjectType);
        }
        add("_change_block", blockChanged);
        add("and", new GraphQLList(filter));
        add("or", new GraphQLList(filter));
        return fields;
      },
    });
    filters.set(e.name, filter);
  }

  const collectionArgs = (target: string): GraphQLFieldConfigArgumentMap => ({
    skip: { type: GraphQLInt, defaultValue: 0 },
    first: { type: GraphQLInt, defaultValue: DEFAULT_FIRST },
    orderBy: { type: orderBys.get(target) as GraphQLEnumType },
    orderDirection: { type: orderDirection },
    where: { type: filters.get(target) as GraphQLInputObjectType },
  });

  interface CollectionArgs {
    skip: number | null;
    first: number | null;
    orderBy?: string | null;
    orderDirection?: "asc" | "desc" | null;
    where?: Record<string, unknown> | null;
  }

  const runCollection = (
    ctx: QueryContext,
    target: string,
    args: CollectionArgs,
    block: number | undefined,
    restrict: Pick<CollectionQuery, "ids" | "parentRef">,
  ): EntityObject[] => {
    // An explicit null means the default, as if the argument were left out.
    const first = args.first ?? DEFAULT_FIRST;
    const skip = args.skip ?? 0;
    checkRange("first", first, MAX_FIRST);
    checkRange("skip", skip, Number.MAX_SAFE_INTEGER);
    return ctx.store
      .findMany({
        entity: target,
        where: args.where ?? undefined,
        orderBy: args.orderBy ?? undefined,
        orderDirection: args.orderDirection ?? undefined,
        first,
        skip,
        block,
        ...restrict,
      })
      .map((d) => toObject(d, block));
  };

  for (const e of model.entities.values()) {
    objects.set(
      e.name,
      new GraphQLObjectType({
        name: e.name,
        fields: () => {
          const fields: GraphQLFieldConfigMap<EntityObject, QueryContext> = {};
          for (const f of e.fields) {
            if (f.kind !== "entity") {
              let type: GraphQLOutputType = baseType(f);
              if (f.list) type = new GraphQLList(new GraphQLNonNull(type));
              fields[f.name] = { type: f.nonNull ? new GraphQLNonNull(type) : type };
              continue;
            }
            const target = objects.get(f.type) as GraphQLObjectType;
            if (!f.list) {
              fields[f.name] = {
                type: f.nonNull ? new GraphQLNonNull(target) : target,
                resolve: (obj, _args, ctx) => {
                  const id = obj[f.name];
                  if (id === null || id === undefined) return null;
                  const d = ctx.store.findOne(f.type, String(id), obj[BLOCK]);
                  return d ? toObject(d, obj[BLOCK]) : null;
                },
              };
              continue;
            }
            const listType = new GraphQLList(new GraphQLNonNull(target));
            const field: GraphQLFieldConfig<EntityObject, QueryContext, CollectionArgs> = {
              type: f.nonNull ? new GraphQLNonNull(listType) : listType,
              args: collectionArgs(f.type),
              resolve: (obj, args, ctx) => {
                if (f.derivedFrom !== undefined)
                  return runCollection(ctx, f.type, args, obj[BLOCK], {
                    parentRef: { field: f.derivedFrom, id: String(obj.id) },
                  });
                const ids = obj[f.name];
                if (!Array.isArray(ids)) return f.nonNull ? [] : null;
                return runCollection(ctx, f.type, args, obj[BLOCK], { ids: ids.map(String) });
              },
            };
            fields[f.name] = field as GraphQLFieldConfig<EntityObject, QueryContext>;
          }
          return fields;
        },
      }),
    );
  }

  const blockType = new GraphQLObjectType({
    name: "_Block_",
    fields: {
      hash: { type: BytesScalar },
      number: { type: new GraphQLNonNull(GraphQLInt) },
      timestamp: { type: GraphQLInt },
    },
  });
  const metaType = new GraphQLObjectType({
    name: "_Meta_",
    fields: {
      block: { type: new GraphQLNonNull(blockType) },
      deployment: { type: new GraphQLNonNull(GraphQLString) },
      hasIndexingErrors: { type: new GraphQLNonNull(GraphQLBoolean) },
    },
  });

  const query: GraphQLFieldConfigMap<unknown, QueryContext> = {};
  const blockArgs: GraphQLFieldConfigArgumentMap = {
    block: { type: blockHeight },
    subgraphError: { type: new GraphQLNonNull(errorPolicy), defaultValue: "deny" },
  };
  for (const e of model.entities.values()) {
    const object = objects.get(e.name) as GraphQLObjectType;
    query[singleFieldName(e.name)] = {
      type: object,
      args: { id: { type: new GraphQLNonNull(GraphQLID) }, ...blockArgs },
      resolve: (_root, args: { id: string; block?: BlockArg; subgraphError: string }, ctx) => {
        checkErrorPolicy(ctx, args.subgraphError);
        const block = resolveBlock(ctx, args.block);
        const d = ctx.store.findOne(e.name, args.id, block);
        return d ? toObject(d, block) : null;
      },
    };
    query[collectionFieldName(e.name)] = {
      type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(object))),
      args: { ...collectionArgs(e.name), ...blockArgs },
      resolve: (_root, args: CollectionArgs & { block?: BlockArg; subgraphError: string }, ctx) => {
        checkErrorPolicy(ctx, args.subgraphError);
        return runCollection(ctx, e.name, args, resolveBlock(ctx, args.block), {});
      },
    };
  }
  query._meta = {
    type: metaType,
    args: { block: { type: blockHeight } },
    resolve: (_root, args: { block?: BlockArg }, ctx) => {
      const head = ctx.store.head();
      if (!head)
        throw new GraphQLError(`subgraph ${ctx.subgraphName} has not indexed any block yet`);
      const at = resolveBlock(ctx, args.block);
      let block: BlockPtr = head;
      if (at !== undefined) {
        const found = ctx.store.blockAtOrBelow(at);
        block = found && found.number === at ? found : { number: at, hash: "" };
      }
      return {
        block: {
          number: block.number,
          hash: block.hash === "" ? null : block.hash,
          timestamp: block.timestamp ?? null,
        },
        deployment: ctx.deployment,
        hasIndexingErrors: ctx.store.hasIndexingErrors(),
      };
    },
  };

  return new GraphQLSchema({
    query: new GraphQLObjectType({ name: "Query", fields: query }),
  });
}
