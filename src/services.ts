import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { Auth } from './accounts/auth';
import type { AccountService } from './accounts/service';
import type { BalanceService } from './balance/service';
import type { Config } from './config';
import type { PubSub } from './realtime/pubsub';
import type { FlowService } from './flows/service';
import type { GenerationService } from './generation/service';
import type { Meter } from './metering/meter';
import type { AlertService } from './monitoring/alerts';
import type { Metrics } from './monitoring/metrics';
import type { PurchaseService } from './purchases/service';

/** Everything a resolver may call. Built once by bootstrap() in app.ts. */
export interface Services {
  config: Config;
  log: Logger;
  orm: MikroORM;
  auth: Auth;
  accounts: AccountService;
  balance: BalanceService;
  pubsub: PubSub;
  meter: Meter;
  generation: GenerationService;
  flows: FlowService;
  alerts: AlertService;
  metrics: Metrics;
  purchases: PurchaseService;
  /** Clustered mode: the endpoint other instances forward balance operations to (src/cluster/balance.ts). */
  internal?: InternalEndpoint | undefined;
}

export interface InternalEndpoint {
  path: string;
  bodyBytesMax: number;
  authorized(header: string | undefined): boolean;
  handleForward(body: Buffer): Promise<Buffer>;
}
