import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { countTokens } from './tokenizer';
import type { Pricing } from './pricing';
import { MODEL_TIERS, VENDORS, type ModelRoutes } from './router';

/**
 * The start-up check of the model routes: every routed model must have a price (or no charge could
 * be costed) and a tokenizer (or no hold could be sized), and must not be past its end of life. The
 * Anthropic SDK ships its vendor's deprecation table; the OpenAI SDK ships none.
 */

/** A routed model this close to its end of life is reported at every start. */
export const END_OF_LIFE_WARNING_DAYS = 30;
const MS_PER_DAY = 86_400_000;

/** The table's place inside the installed SDK; its package exports do not expose it, so it is found from the SDK's entry point. */
const ANTHROPIC_DEPRECATIONS_FILE = join('internal', 'data', 'deprecated-models.js');

export class ModelRouteError extends Error {}

/** Model id → the first day it no longer answers (UTC midnight), as the installed Anthropic SDK lists them. */
export function readAnthropicDeprecations(): ReadonlyMap<string, Date> {
  const file = join(dirname(require.resolve('@anthropic-ai/sdk')), ANTHROPIC_DEPRECATIONS_FILE);
  let table: unknown;
  try {
    table = (require(file) as { DEPRECATED_MODELS?: unknown }).DEPRECATED_MODELS;
  } catch (err) {
    throw new ModelRouteError(`cannot read the Anthropic SDK's deprecation table (${file}): ${(err as Error).message}`);
  }
  if (typeof table !== 'object' || table === null) throw new ModelRouteError(`no DEPRECATED_MODELS in ${file}`);
  return new Map(Object.entries(table).map(([model, when]) => [model, parseSdkDate(model, when)]));
}

const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];

/** The SDK writes "November 30th, 2026"; a date we cannot read would leave a model unchecked, so it stops the start. */
function parseSdkDate(model: string, when: unknown): Date {
  const match = typeof when === 'string' ? /^([A-Za-z]+) (\d{1,2})(?:st|nd|rd|th)?, (\d{4})$/.exec(when.trim()) : null;
  const month = match ? MONTHS.indexOf(match[1]!.toLowerCase()) : -1;
  const date = match && month >= 0 ? new Date(Date.UTC(Number(match[3]), month, Number(match[2]))) : undefined;
  if (!date || date.getUTCDate() !== Number(match![2])) {
    throw new ModelRouteError(`cannot read the end-of-life date ${JSON.stringify(when)} of ${model} in the Anthropic SDK's deprecation table`);
  }
  return date;
}

export interface RouteCheck {
  /** Each stops the start. */
  problems: string[];
  /** Each is logged at start, as a warning. */
  warnings: string[];
  /** Deprecated models further from their end of life, logged at start as information. */
  notes: string[];
}

/** Every route of the table is checked, configured vendor or not, so a bad route fails before its key is set. */
export function checkModelRoutes(routes: ModelRoutes, pricing: Pricing, deprecations: ReadonlyMap<string, Date>, now: Date): RouteCheck {
  const check: RouteCheck = { problems: [], warnings: [], notes: [] };
  for (const tier of MODEL_TIERS) {
    for (const vendor of VENDORS) checkModel(`${tier}.${vendor}`, routes[tier][vendor], pricing, deprecations, now, check);
  }
  return check;
}

function checkModel(route: string, model: string, pricing: Pricing, deprecations: ReadonlyMap<string, Date>, now: Date, check: RouteCheck): void {
  const fail = (why: string) => check.problems.push(`${route} routes to ${model}, which ${why}`);
  try {
    pricing.priceOf(model);
  } catch {
    fail('has no price: add it to PRICING_JSON or route to a priced model');
  }
  try {
    countTokens(model, '');
  } catch {
    fail('no tokenizer is known for, so its holds cannot be sized');
  }
  const endOfLife = deprecations.get(model);
  if (!endOfLife) return;
  const day = endOfLife.toISOString().slice(0, 10);
  const daysLeft = Math.ceil((endOfLife.getTime() - now.getTime()) / MS_PER_DAY);
  const notice = `${route} routes to ${model}, which is deprecated and reaches its end of life on ${day}, in ${daysLeft} day(s)`;
  if (daysLeft <= 0) fail(`reached its end of life on ${day} (Anthropic SDK deprecation table): route to its successor`);
  else if (daysLeft <= END_OF_LIFE_WARNING_DAYS) check.warnings.push(notice);
  else check.notes.push(notice);
}

/** Throws a ModelRouteError naming every bad route; logs the models close to their end of life. */
export function assertModelRoutes(routes: ModelRoutes, pricing: Pricing, log: Logger, now = new Date()): void {
  const { problems, warnings, notes } = checkModelRoutes(routes, pricing, readAnthropicDeprecations(), now);
  for (const note of notes) log.info(note);
  for (const warning of warnings) log.warn(warning);
  if (problems.length > 0) throw new ModelRouteError(`refusing to start (MODEL_ROUTES_JSON):\n  ${problems.join('\n  ')}`);
}
