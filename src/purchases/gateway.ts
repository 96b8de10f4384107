import type { StripeConfig } from '../config';
import type { StripeGateway } from './stripe';

/**
 * The Stripe gateway, with the SDK loaded only now: without STRIPE_SECRET_KEY the service never
 * loads it (219 modules, about 50 ms of CPU at every start and in every test file that starts an app).
 */
export function createStripeGateway(config: StripeConfig): StripeGateway {
  const { StripeGateway: Gateway } = require('./stripe') as typeof import('./stripe');
  return new Gateway(config);
}
