import { zodResponseFormat } from 'openai/helpers/zod';
import { z } from 'zod';
import type { JsonReplySchema, ReplyFormat } from '../provider';
import { asText, asTextList, fieldsIn, hasContent, isRecord, structured, structuredList, type Fields } from './lenient';

/**
 * One zod schema per JSON reply gives a task everything it needs about that reply: the strict JSON
 * schema the vendor holds the reply to, the example the prompt shows, the parser of the reply and the
 * offline provider's sample. A reply is one record of text fields and text lists, or a list of such
 * records under one key (JSON schemas for structured outputs must have an object at the root).
 */

/** A text field; the prompt's example shows its description in its place. */
export const text = (description: string) => z.string().describe(description);
/** A list of texts; the prompt's example shows its description as the one item. */
export const textList = (description: string) => z.array(z.string()).describe(description);

type TextField = z.ZodString | z.ZodArray<z.ZodString>;
export type TextShape = Record<string, TextField>;
/** The value a shape describes, e.g. { name: string; traits: string[] }. */
export type RecordOf<S extends TextShape> = z.infer<z.ZodObject<S>>;

/** How many items the offline sample puts in each text list; prompts ask for 3 to 5. */
const SAMPLE_LIST_ITEMS = 3;
const SAMPLE_PREFIX = 'Offline';
/** What the example shows for a field without a description. */
const EXAMPLE_PLACEHOLDER = '...';

export interface RecordReply<S extends TextShape> {
  /** The example for the prompt: every field holds its description; `values` replace some (e.g. a date). */
  example(values?: Partial<RecordOf<S>>): string;
  /** The JSON schema and the offline sample for a request; `values` replace some sample fields. */
  format(values?: Partial<RecordOf<S>>): ReplyFormat;
  /** Never throws: the reply validated by the schema, else what the lenient reader recovers, else the raw text. */
  parse(reply: string): RecordOf<S>;
}

/**
 * A reply that is one record. `name` names the schema for the vendor and is the key a model might
 * wrap the record in ({"persona": {...}}); `rawField` receives the raw text of a reply holding no JSON.
 */
export function recordReply<S extends TextShape>(name: string, shape: S, rawField: keyof S & string): RecordReply<S> {
  const schema = z.object(shape);
  const json = strictJsonSchema(name, schema);
  const lenient = (reply: string) => {
    const fields = fieldsIn(reply, name);
    return fields && readFields(shape, fields);
  };
  return {
    example: (values = {}) => JSON.stringify({ ...exampleOf(shape), ...values }),
    format: (values = {}) => ({ json, sample: JSON.stringify({ ...sampleOf(shape), ...values }) }),
    parse: (reply) => validated(schema, reply) ?? structured(reply, lenient, (raw) => ({ ...emptyOf(shape), [rawField]: raw }) as RecordOf<S>),
  };
}

export interface ListReply<S extends TextShape> {
  /** The example for the prompt: the list with one item whose fields hold their descriptions. */
  example(): string;
  /** The JSON schema and an offline sample of `count` items; `values(i)` replaces fields of item i. */
  format(count: number, values?: (index: number) => Partial<RecordOf<S>>): ReplyFormat;
  /** Never throws; at most `itemsMax` items, items without any text dropped. */
  parse(reply: string): Array<RecordOf<S>>;
}

/** A reply that is a list of records under `listKey`, which also names the schema for the vendor. */
export function listReply<S extends TextShape>(listKey: string, item: S, rawField: keyof S & string, itemsMax: number): ListReply<S> {
  const schema = z.object({ [listKey]: z.array(z.object(item)) });
  const json = strictJsonSchema(listKey, schema);
  const fallback = (raw: string) => ({ ...emptyOf(item), [rawField]: raw }) as RecordOf<S>;
  const read = (reply: string) => {
    const list = validated(schema, reply)?.[listKey] as Array<RecordOf<S>> | undefined;
    return list ?? structuredList(reply, listKey, (f) => readFields(item, f), fallback);
  };
  return {
    example: () => JSON.stringify({ [listKey]: [exampleOf(item)] }),
    format: (count, values = () => ({})) => {
      const items = Array.from({ length: count }, (_, i) => ({ ...sampleOf(item, i + 1), ...values(i) }));
      return { json, sample: JSON.stringify({ [listKey]: items }) };
    },
    parse: (reply) => read(reply).slice(0, itemsMax),
  };
}

/**
 * The schema in the strict form both vendors accept: every property required, no others allowed.
 * OpenAI's own helper builds it from a zod 4 schema; Anthropic takes the same schema (anthropic.ts).
 */
function strictJsonSchema(name: string, schema: z.ZodObject): JsonReplySchema {
  const json = zodResponseFormat(schema, name).json_schema.schema;
  if (!json) throw new Error(`no JSON schema for reply ${name}`);
  return { name, schema: json };
}

/** The reply as the schema describes it, tidied; undefined unless it is such JSON and holds some text. */
function validated<T>(schema: z.ZodType<T>, reply: string): T | undefined {
  let value: unknown;
  try {
    value = JSON.parse(reply);
  } catch {
    return undefined;
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) return undefined;
  const clean = tidy(parsed.data) as T;
  return hasContent(clean) ? clean : undefined;
}

/** Trims every text and drops list items without any, as the lenient reader does. */
function tidy(value: unknown): unknown {
  if (typeof value === 'string') return value.trim();
  if (Array.isArray(value)) return value.map(tidy).filter(hasContent);
  if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, tidy(v)]));
  return value;
}

function isList(field: TextField): field is z.ZodArray<z.ZodString> {
  return field instanceof z.ZodArray;
}

function mapShape<S extends TextShape>(shape: S, value: (key: string, field: TextField) => string | string[]): RecordOf<S> {
  return Object.fromEntries(Object.entries(shape).map(([key, field]) => [key, value(key, field)])) as RecordOf<S>;
}

function readFields<S extends TextShape>(shape: S, fields: Fields): RecordOf<S> {
  return mapShape(shape, (key, field) => (isList(field) ? asTextList(fields(key)) : asText(fields(key))));
}

function exampleOf<S extends TextShape>(shape: S): RecordOf<S> {
  return mapShape(shape, (_key, field) => {
    const description = field.description ?? EXAMPLE_PLACEHOLDER;
    return isList(field) ? [description] : description;
  });
}

function emptyOf<S extends TextShape>(shape: S): RecordOf<S> {
  return mapShape(shape, (_key, field) => (isList(field) ? [] : ''));
}

/** Every field filled, e.g. "Offline name 2" for the second item's name and "Offline traits 2 #1"; deterministic. */
function sampleOf<S extends TextShape>(shape: S, itemNumber?: number): RecordOf<S> {
  const label = (key: string) => (itemNumber === undefined ? `${SAMPLE_PREFIX} ${key}` : `${SAMPLE_PREFIX} ${key} ${itemNumber}`);
  return mapShape(shape, (key, field) =>
    isList(field) ? Array.from({ length: SAMPLE_LIST_ITEMS }, (_, i) => `${label(key)} #${i + 1}`) : label(key),
  );
}
