import { z } from 'zod';
import { date, intWithDefault, month, optionalShort } from '../../input';
import { daysInMonth, defineTask, monthName, prompt, replyAsJson } from './define';
import { asText, plainText, structuredList, type Fields } from './lenient';
import { recordReply, text, textList } from './output';
import type { ReplyFormat } from '../provider';

/** The content calendar: a month's theme, a month of posts, and single posts. */

export const POSTS_PER_WEEK_MIN = 1;
export const POSTS_PER_WEEK_MAX = 14;
export const POSTS_PER_WEEK_DEFAULT = 3;

/**
 * The largest cap of any task: up to 62 posts (14 a week over 31 days). That only fits as one
 * compact line per post, with the summaries shortened as the post count grows (calendarSummaryWordsMax).
 */
export const CALENDAR_OUTPUT_TOKENS_MAX = 2_000;
export const CALENDAR_ENTRY_OUTPUT_TOKENS_MAX = 300;
export const MONTHLY_THEME_OUTPUT_TOKENS_MAX = 400;

/** The share of the calendar's cap the posts are planned to fill; the rest absorbs the model's miscounts. */
const CALENDAR_BUDGET_PERCENT = 85;
/** Tokens of one calendar line besides its summary: date, separators, channel and a six-word title. */
const CALENDAR_LINE_TOKENS = 17;
const CALENDAR_SUMMARY_WORDS_MIN = 6;
const CALENDAR_SUMMARY_WORDS_MAX = 25;

const PLANNER = 'a content planner for small brands.';
const LINE_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** One post; its date is YYYY-MM-DD as the model wrote it. */
const entryReply = recordReply(
  'entry',
  { date: text('YYYY-MM-DD'), channel: text('...'), title: text('at most 8 words'), summary: text('under 40 words') },
  'summary',
);

const themeReply = recordReply(
  'theme',
  { title: text('at most 6 words'), description: text('2 to 3 sentences'), keywords: textList('5 to 8 keywords') },
  'description',
);

export type CalendarEntry = ReturnType<typeof entryReply.parse>;
export type MonthlyTheme = ReturnType<typeof themeReply.parse>;

export function calendarPostCount(yearMonth: string, postsPerWeek: number): number {
  return Math.ceil((daysInMonth(yearMonth) * postsPerWeek) / 7);
}

/** English runs about four words to three tokens; the summary gets what the line budget leaves. */
export function calendarSummaryWordsMax(posts: number): number {
  const lineTokens = Math.floor((CALENDAR_OUTPUT_TOKENS_MAX * CALENDAR_BUDGET_PERCENT) / 100 / posts);
  const words = Math.floor(((lineTokens - CALENDAR_LINE_TOKENS) * 3) / 4);
  return Math.min(CALENDAR_SUMMARY_WORDS_MAX, Math.max(CALENDAR_SUMMARY_WORDS_MIN, words));
}

function entryOf(f: Fields): CalendarEntry {
  return { date: asText(f('date')), channel: asText(f('channel')), title: asText(f('title')), summary: asText(f('summary')) };
}

const summaryOnly = (raw: string): CalendarEntry => ({ date: '', channel: '', title: '', summary: raw });

/** "2025-03-04 | Instagram | Title | Summary", also inside a markdown table or after a bullet. */
function entryFromLine(line: string): CalendarEntry | undefined {
  const parts = line
    .replace(/^\s*(?:[-*•]|\d+[.)])?\s*\|?/, '')
    .replace(/\|\s*$/, '')
    .split('|')
    .map((part) => part.trim());
  const [day, channel, title, ...summary] = parts;
  if (day === undefined || !LINE_DATE.test(day) || summary.length === 0) return undefined;
  return { date: day, channel: channel ?? '', title: title ?? '', summary: summary.join(' | ') };
}

/**
 * The calendar asks for one line per post rather than JSON: up to 62 posts must fit its output cap,
 * and JSON's keys and quotes cost about ten tokens more a post. So it has no vendor schema, and is read
 * as lines; else as JSON, in case the model preferred it; else the raw text is one summary.
 */
function readCalendar(reply: string): CalendarEntry[] {
  const lines = plainText(reply)
    .split('\n')
    .map(entryFromLine)
    .filter((entry) => entry !== undefined);
  if (lines.length > 0) return lines;
  return structuredList(reply, 'entries', entryOf, summaryOnly);
}

/**
 * What the offline provider answers: the month's posts on dates spread evenly over it, in date
 * order, in the line format the prompt asks for.
 */
export function calendarFormat(yearMonth: string, postsPerWeek: number): ReplyFormat {
  const days = daysInMonth(yearMonth);
  const posts = calendarPostCount(yearMonth, postsPerWeek);
  const lines = Array.from({ length: posts }, (_, i) => {
    const day = String(Math.floor((i * days) / posts) + 1).padStart(2, '0');
    return `${yearMonth}-${day} | Offline channel ${(i % 3) + 1} | Offline title ${i + 1} | Offline summary ${i + 1}`;
  });
  return { sample: lines.join('\n') };
}

export const calendar = defineTask({
  task: 'CALENDAR',
  mutation: 'generateCalendar',
  resultField: 'entries',
  tier: 'strong',
  outputTokensMax: CALENDAR_OUTPUT_TOKENS_MAX,
  input: z.strictObject({
    month: month('month'),
    postsPerWeek: intWithDefault('postsPerWeek', POSTS_PER_WEEK_MIN, POSTS_PER_WEEK_MAX, POSTS_PER_WEEK_DEFAULT),
  }),
  messages: (brand, input) => {
    const posts = calendarPostCount(input.month, input.postsPerWeek);
    return prompt(
      PLANNER,
      brand,
      `Plan the brand's content calendar for ${monthName(input.month)} (${input.month}): ${posts} posts, ` +
        `about ${input.postsPerWeek} a week, spread over the month's dates and the channels that suit the brand.\n\n` +
        'Reply with one line per post and nothing else, in date order, in exactly this format:\n' +
        `YYYY-MM-DD | channel | title of at most 6 words | summary of at most ${calendarSummaryWordsMax(posts)} words`,
    );
  },
  format: (input) => calendarFormat(input.month, input.postsPerWeek),
  parse: readCalendar,
});

export const calendarEntry = defineTask({
  task: 'CALENDAR_ENTRY',
  mutation: 'generateCalendarEntry',
  resultField: 'entry',
  tier: 'cheap',
  outputTokensMax: CALENDAR_ENTRY_OUTPUT_TOKENS_MAX,
  input: z.strictObject({ date: date('date'), channel: optionalShort('channel'), topic: optionalShort('topic') }),
  messages: (brand, input) =>
    prompt(
      PLANNER,
      brand,
      `Plan one post for ${input.date}` +
        `${input.channel ? ` on ${input.channel}` : ''}${input.topic ? ` about ${input.topic}` : ''}.` +
        replyAsJson(entryReply.example({ date: input.date })),
    ),
  format: (input) => entryReply.format({ date: input.date }),
  parse: entryReply.parse,
});

export const monthlyTheme = defineTask({
  task: 'MONTHLY_THEME',
  mutation: 'generateMonthlyTheme',
  resultField: 'theme',
  tier: 'cheap',
  outputTokensMax: MONTHLY_THEME_OUTPUT_TOKENS_MAX,
  input: z.strictObject({ month: month('month') }),
  messages: (brand, input) =>
    prompt(
      PLANNER,
      brand,
      `Propose the brand's content theme for ${monthName(input.month)}, suited to the season and its occasions.` +
        replyAsJson(themeReply.example()),
    ),
  format: () => themeReply.format(),
  parse: themeReply.parse,
});
