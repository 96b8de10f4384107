import { alertTopics } from '../../monitoring/alerts';
import { checkDays, systemStats, userUsage } from '../../monitoring/usage';
import type { Resolvers } from '../generated/resolvers-types';
import type { AlertModel } from '../models';
import { requireAdmin, requireViewer } from '../guards';

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
        const viewer = allUsers ? await requireAdmin(ctx) : requireViewer(ctx);
        return ctx.services.pubsub.subscribe<AlertModel>(allUsers ? alertTopics.all : alertTopics.user(viewer.userId));
      },
      resolve: (alert: AlertModel) => alert,
    },
  },
};
