import { alertTopics } from '../../monitoring/alerts';
import type { PubSub } from '../../realtime/pubsub';
import { checkDays, systemStats, userUsage } from '../../monitoring/usage';
import type { Resolvers } from '../generated/resolvers-types';
import type { AlertModel } from '../models';
import { forbidden } from '../../errors';
import { ADMIN_REVOKED, requireAdmin, requireViewer, whileAdmin } from '../guards';

/** Alerts of a topic, once alerts raised on any instance reach this subscription. */
async function heard(pubsub: PubSub, topic: string): Promise<AsyncIterableIterator<AlertModel>> {
  const events = pubsub.subscribe<AlertModel>(topic);
  await pubsub.listening(topic);
  return events;
}

export const monitoringResolvers: Resolvers = {
  Query: {
    tokenUsage: (_, { days }, ctx) => userUsage(ctx.services.orm, requireViewer(ctx).userId, checkDays(days)),
    tokenAlerts: (_, __, ctx) => ctx.services.alerts.active(requireViewer(ctx).userId),
    systemTokenStats: async (_, __, ctx) => {
      await requireAdmin(ctx);
      const { config, alerts, orm } = ctx.services;
      return systemStats(orm, config.monitoring.lowBalanceThreshold, alerts.retentionStart());
    },
  },
  Brand: {
    tokenUsage: (brand, { days }, ctx) => ctx.loaders.brandUsage.load({ brandId: brand.id, days: checkDays(days) }),
  },
  Subscription: {
    tokenAlertRaised: {
      subscribe: async (_, { allUsers }, ctx) => {
        if (!allUsers) return heard(ctx.services.pubsub, alertTopics.user(requireViewer(ctx).userId));
        await requireAdmin(ctx);
        return whileAdmin(ctx, await heard(ctx.services.pubsub, alertTopics.all));
      },
      resolve: (event: AlertModel | typeof ADMIN_REVOKED) => {
        if (event === ADMIN_REVOKED) throw forbidden('no longer an admin: this subscription to everyone\'s alerts has ended');
        return event;
      },
    },
  },
};
