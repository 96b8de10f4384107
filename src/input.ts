import { z } from 'zod';
import { LIMITS } from './config';
import { badInput } from './errors';

/**
 * Input as every service reads it: one parser that turns zod's first problem into BAD_USER_INPUT,
 * and the bounded field schemas the tasks, the flows and the accounts share. Every text is trimmed
 * and capped by a LIMITS constant, so no field reaches a prompt or a row unbounded.
 */

/** Parses input with a zod schema; the first problem becomes BAD_USER_INPUT. */
export function parseInput<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw badInput(issue.message, issue.path.join('.') || undefined);
}

const MONTH_PATTERN = /^\d{4}-(0[1-9]|1[0-2])$/;
const DATE_PATTERN = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

function boundedText(field: string, max: number) {
  return z.string().trim().max(max, `${field}: at most ${max} characters`);
}

/** A required free-text field (messages, briefs, scenes): 1 to LIMITS.textInputCharsMax characters. */
export const requiredText = (field: string) => boundedText(field, LIMITS.textInputCharsMax).min(1, `${field}: required`);
/** A required short field (names, labels): 1 to LIMITS.shortInputCharsMax characters. */
export const requiredShort = (field: string) => boundedText(field, LIMITS.shortInputCharsMax).min(1, `${field}: required`);
export const optionalText = (field: string) => boundedText(field, LIMITS.textInputCharsMax).nullish();
export const optionalShort = (field: string) => boundedText(field, LIMITS.shortInputCharsMax).nullish();

export const month = (field: string) => z.string().trim().regex(MONTH_PATTERN, `${field}: expected YYYY-MM`);

/** YYYY-MM-DD naming a real day, so 2025-02-30 is refused rather than passed to the model. */
export const date = (field: string) =>
  z
    .string()
    .trim()
    .regex(DATE_PATTERN, `${field}: expected YYYY-MM-DD`)
    .refine(isRealDay, `${field}: not a real date`);

/** zod runs this even after the pattern failed, so it must not assume the format. */
function isRealDay(value: string): boolean {
  const day = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(day.getTime()) && day.toISOString().startsWith(value);
}

export const intInRange = (field: string, min: number, max: number) =>
  z.number().int(`${field}: a whole number`).min(min, `${field}: ${min} to ${max}`).max(max, `${field}: ${min} to ${max}`);

/** Optional in GraphQL and JSON alike: null and a missing value both mean the default. */
export const intWithDefault = (field: string, min: number, max: number, fallback: number) =>
  intInRange(field, min, max)
    .nullish()
    .transform((value) => value ?? fallback);
