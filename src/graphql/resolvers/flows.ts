import { LIMITS } from '../../config';
import { FLOWS, type FlowDefinition } from '../../flows/flows';
import { stepUsage, runUsage, type FlowUsage } from '../../flows/model';
import { runCursor } from '../../flows/store';
import { connection } from '../../paging';
import type { GraphQLContext } from '../context';
import type { Resolvers } from '../generated/resolvers-types';
import { requireViewer } from '../guards';
import type { FlowEventModel } from '../models';
import { usageView } from './generation';
import { nanoToUsd } from '../../ai/pricing';

/** FlowUsage as the schema shows it: cost in USD, computed once from the integer nano-USD sum. */
function flowUsageView(usage: FlowUsage) {
  const { promptTokens, completionTokens, totalTokens, costNanoUsd } = usage;
  return { promptTokens, completionTokens, totalTokens, costUsd: nanoToUsd(costNanoUsd) };
}

/** One start mutation per flow of the catalog: it returns at once with the run RUNNING. */
function startFor(flow: FlowDefinition) {
  return async (_parent: unknown, args: { input: Record<string, unknown> }, ctx: GraphQLContext) => {
    const viewer = requireViewer(ctx);
    return { flowRun: await ctx.services.flows.begin(viewer.userId, flow, { ...args.input }) };
  };
}

export const flowResolvers: Resolvers = {
  Query: {
    flowRun: (_, { id }, ctx) => ctx.services.flows.get(requireViewer(ctx).userId, id),
    flowRuns: async (_, { brandId, first, after }, ctx) => {
      const viewer = requireViewer(ctx);
      const page = await ctx.services.flows.page(viewer.userId, brandId, first ?? LIMITS.pageSizeDefault, after);
      return connection(page.runs, page.hasNextPage, (run) => runCursor.encode(run));
    },
  },
  Mutation: {
    ...Object.fromEntries(FLOWS.map((flow) => [flow.mutation, startFor(flow)])),
    cancelFlow: async (_, { input }, ctx) => ({
      flowRun: await ctx.services.flows.cancel(requireViewer(ctx).userId, input.flowRunId),
    }),
  } as Resolvers['Mutation'],
  Subscription: {
    flowProgress: {
      subscribe: (_, { flowRunId }, ctx) => ctx.services.flows.progress(requireViewer(ctx).userId, flowRunId),
      resolve: (event: FlowEventModel) => event,
    },
  },
  FlowRun: {
    brand: (run, _, ctx) => ctx.loaders.brandById.load(run.brandId),
    usage: (run) => flowUsageView(runUsage(run)),
  },
  FlowStep: {
    agent: (step) => step.taskType,
    output: (step) => (step.output as Record<string, unknown> | null) ?? null,
    usage: (step) => (step.ledgerEntryId && step.model ? usageView({ ...stepUsage(step), model: step.model }) : null),
  },
  FlowProgressEvent: {
    usage: (event) => event.usage && flowUsageView(event.usage),
  },
};
