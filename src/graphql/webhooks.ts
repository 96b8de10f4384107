import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { LIMITS } from '../config';
import type { Services } from '../services';

/** Where Stripe delivers events (`stripe listen --forward-to localhost:4000/webhooks/stripe` in development). */
export const STRIPE_WEBHOOK_PATH = '/webhooks/stripe';

/**
 * POST /webhooks/stripe: the body is read raw (any content type, at most webhookBodyBytesMax bytes,
 * 413 past it), because Stripe's signature is over the exact bytes it sent; this parser is mounted on
 * this path only, so /graphql keeps its own JSON parser. The purchase service verifies and answers.
 */
export function mountStripeWebhook(app: Express, services: Services): void {
  app.post(STRIPE_WEBHOOK_PATH, express.raw({ type: () => true, limit: LIMITS.webhookBodyBytesMax }), async (req, res) => {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const answer = await services.purchases.webhook(body, req.header('stripe-signature'));
    res.status(answer.status).json(answer.body);
  });
  app.use(STRIPE_WEBHOOK_PATH, (err: Error & { type?: string; status?: number }, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const tooLarge = err.type === 'entity.too.large';
    services.log.warn({ err: err.message }, 'Stripe webhook body refused');
    res.status(err.status ?? 400).json({ error: tooLarge ? `body too large: at most ${LIMITS.webhookBodyBytesMax} bytes` : 'unreadable body' });
  });
}
