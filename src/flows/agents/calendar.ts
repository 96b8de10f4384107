import {
  calendar,
  calendarFormat,
  calendarPostCount,
  calendarSummaryWordsMax,
  CALENDAR_OUTPUT_TOKENS_MAX,
  POSTS_PER_WEEK_MAX,
  type CalendarEntry,
} from '../../ai/tasks/calendar';
import { daysInMonth, monthName, replyAsJson } from '../../ai/tasks/define';
import { isRecord, pick } from '../../ai/tasks/lenient';
import { listReply, text } from '../../ai/tasks/output';
import { agentPrompt, defineAgent } from './define';

/** CalendarGenerator plans a month of posts; WeeklyDistribution then schedules each week of them. */

/** Up to 14 posts a week with date, time, channel, a six-word title and a one-line hook: about 650 tokens of JSON. */
export const WEEKLY_DISTRIBUTION_OUTPUT_TOKENS_MAX = 900;
const DAYS_PER_WEEK = 7;

const PLANNER = 'a content planner for small brands.';
/** What the prompt asks for when the week has no planned posts. */
const PROPOSED_SLOTS = 2;

const slotsReply = listReply(
  'slots',
  {
    date: text('YYYY-MM-DD'),
    time: text('HH:MM, local'),
    channel: text('...'),
    title: text('at most 6 words'),
    hook: text('one line that opens the post'),
  },
  'hook',
  POSTS_PER_WEEK_MAX,
);

export interface CalendarPlan {
  entries: CalendarEntry[];
}

export type DistributionSlot = ReturnType<typeof slotsReply.parse>[number];

/** One week's posts with their publishing slots; the step's position says which week. */
export interface WeekSchedule {
  slots: DistributionSlot[];
}

/** Week 1 is days 1 to 7, and so on; the last week takes the days left over (so a month has 4 or 5). */
export function weeksInMonth(yearMonth: string): number {
  return Math.ceil(daysInMonth(yearMonth) / DAYS_PER_WEEK);
}

export function weekDates(yearMonth: string, week: number): { first: string; last: string } {
  const day = (n: number) => `${yearMonth}-${String(n).padStart(2, '0')}`;
  const first = (week - 1) * DAYS_PER_WEEK + 1;
  return { first: day(first), last: day(Math.min(first + DAYS_PER_WEEK - 1, daysInMonth(yearMonth))) };
}

export interface CalendarParams {
  month: string;
  postsPerWeek: number;
}

export const calendarGenerator = defineAgent({
  name: 'CalendarGenerator',
  taskType: 'CALENDAR_GENERATOR',
  tier: 'strong',
  /** The same one-line-per-post budget as the calendar task (see calendarSummaryWordsMax). */
  outputTokensMax: CALENDAR_OUTPUT_TOKENS_MAX,
  needs: ['persona', 'storyline'],
  messages: (context, { month, postsPerWeek }: CalendarParams) => {
    const posts = calendarPostCount(month, postsPerWeek);
    return agentPrompt(
      PLANNER,
      context,
      `Plan the brand's content calendar for ${monthName(month)} (${month}): ${posts} posts, about ${postsPerWeek} a week, ` +
        "spread over the month's dates and the channels that suit the brand and the people below, following its storyline if one is listed.",
      '\n\nReply with one line per post and nothing else, in date order, in exactly this format:\n' +
        `YYYY-MM-DD | channel | title of at most 6 words | summary of at most ${calendarSummaryWordsMax(posts)} words`,
    );
  },
  format: ({ month, postsPerWeek }: CalendarParams) => calendarFormat(month, postsPerWeek),
  parse: (reply): CalendarPlan => ({ entries: calendar.parse(reply) }),
});

export interface DistributionParams {
  month: string;
  week: number;
}

/** The calendar step's entries dated within the week; dates are YYYY-MM-DD, so text order is date order. */
function entriesOfWeek(earlier: readonly unknown[], { month, week }: DistributionParams): CalendarEntry[] {
  const plan = earlier[0];
  const entries = isRecord(plan) ? pick(plan, 'entries') : undefined;
  if (!Array.isArray(entries)) return [];
  const { first, last } = weekDates(month, week);
  return entries.filter((e): e is CalendarEntry => isRecord(e) && typeof e.date === 'string' && e.date >= first && e.date <= last);
}

export const weeklyDistribution = defineAgent({
  name: 'WeeklyDistribution',
  taskType: 'WEEKLY_DISTRIBUTION',
  tier: 'cheap',
  outputTokensMax: WEEKLY_DISTRIBUTION_OUTPUT_TOKENS_MAX,
  needs: ['persona'],
  reads: { label: "This week's planned posts", select: entriesOfWeek },
  messages: (context, params: DistributionParams) => {
    const { first, last } = weekDates(params.month, params.week);
    return agentPrompt(
      PLANNER,
      context,
      `Schedule week ${params.week} of ${monthName(params.month)} (${first} to ${last}): for each planned post below, ` +
        'the best day in the week and local time to publish it on its channel for these people, and a one-line hook. ' +
        'Only if no posts are listed, propose two.',
      replyAsJson(slotsReply.example()),
    );
  },
  // Offline, the two proposed posts, at the start and the end of the week.
  format: (params: DistributionParams) => {
    const { first, last } = weekDates(params.month, params.week);
    return slotsReply.format(PROPOSED_SLOTS, (i) => ({ date: i === 0 ? first : last }));
  },
  parse: (reply): WeekSchedule => ({ slots: slotsReply.parse(reply) }),
});
