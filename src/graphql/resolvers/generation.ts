import { TASKS, taskByMutation, taskByType, type TaskDefinition, type TaskType } from '../../ai/tasks';
import type { GenerationStreamEvent } from '../../generation/service';
import type { MeteredUsage } from '../../metering/meter';
import { nanoToUsd } from '../../ai/pricing';
import type { GraphQLContext } from '../context';
import type {
  Resolvers,
  SubscriptionChatWithAndoraStreamArgs,
  SubscriptionExpandBriefStreamArgs,
  SubscriptionGenerationStreamArgs,
} from '../generated/resolvers-types';
import { requireViewer } from '../guards';
import { LIMITS } from '../../config';
import { generationCursor, generationsPage, ownedGeneration } from '../../generation/store';
import { connection } from '../../paging';

/** GenerationUsage as the schema shows it: cost in USD, computed once from integer nano-USD. */
export function usageView(usage: MeteredUsage) {
  return {
    promptTokens: usage.promptTokens,
    completionTokens: usage.completionTokens,
    totalTokens: usage.totalTokens,
    model: usage.model,
    costUsd: nanoToUsd(usage.costNanoUsd),
  };
}

/** One resolver per task: parse, run through the meter, map the outcome onto the task's payload. */
function mutationFor(task: TaskDefinition) {
  return async (_parent: unknown, args: { input: Record<string, unknown> }, ctx: GraphQLContext) => {
    const viewer = requireViewer(ctx);
    const outcome = await ctx.services.generation.run(viewer.userId, task, { ...args.input });
    return {
      [task.resultField]: outcome.output,
      usage: usageView(outcome.usage),
      balance: outcome.balance,
      generationId: outcome.generationId,
    };
  };
}

interface StreamTarget {
  task: TaskDefinition;
  brandId: string;
  fields: Record<string, unknown>;
}

function streamOf<Args>(resolveTask: (args: Args) => StreamTarget) {
  return {
    subscribe: async (_parent: unknown, args: Args, ctx: GraphQLContext) => {
      const viewer = requireViewer(ctx);
      const { task, brandId, fields } = resolveTask(args);
      return ctx.services.generation.stream(viewer.userId, task, brandId, fields);
    },
    resolve: (event: GenerationStreamEvent) => ({ ...event, usage: event.usage && usageView(event.usage) }),
  };
}

const chat = taskByMutation('chatWithAndora')!;
const expand = taskByMutation('expandBrief')!;

export const generationResolvers: Resolvers = {
  Query: {
    generation: (_, { id }, ctx) => ownedGeneration(ctx.services.orm, requireViewer(ctx).userId, id),
  },
  Brand: {
    generations: async (brand, { first, after }, ctx) => {
      const page = await generationsPage(ctx.services.orm, brand.id, first ?? LIMITS.pageSizeDefault, after);
      return connection(page.generations, page.hasNextPage, (generation) => generationCursor.encode(generation));
    },
  },
  LedgerEntry: {
    generation: (entry, _, ctx) => ctx.loaders.generationByLedgerEntry.load(entry.id),
  },
  Generation: {
    output: (g) => g.output as Record<string, unknown>,
    usage: (g) =>
      usageView({ promptTokens: g.promptTokens, completionTokens: g.completionTokens, totalTokens: g.promptTokens + g.completionTokens, model: g.model, costNanoUsd: g.costNanoUsd }),
  },
  Mutation: Object.fromEntries(TASKS.map((task) => [task.mutation, mutationFor(task)])) as Resolvers['Mutation'],
  Subscription: {
    chatWithAndoraStream: streamOf(({ input }: SubscriptionChatWithAndoraStreamArgs) => ({
      task: chat,
      brandId: input.brandId,
      fields: { message: input.message },
    })),
    expandBriefStream: streamOf(({ input }: SubscriptionExpandBriefStreamArgs) => ({
      task: expand,
      brandId: input.brandId,
      fields: { brief: input.brief },
    })),
    generationStream: streamOf(({ task, brandId, input }: SubscriptionGenerationStreamArgs) => ({
      task: taskByType(task as TaskType),
      brandId,
      fields: input ?? {},
    })),
  } as Resolvers['Subscription'],
};
