import Stripe from 'stripe';
import { LIMITS, type StripeConfig } from '../config';

/**
 * The part of Stripe we use, through the official SDK: Checkout Sessions and webhook verification.
 * STRIPE_API_BASE points the SDK elsewhere (host, port, protocol), like OPENAI_BASE_URL: tests and
 * local stand-ins take Stripe's place there (test/support/fake-stripe.ts).
 */
export interface CheckoutRequest {
  purchaseId: string;
  userId: string;
  packageName: string;
  amountCents: number;
  currency: string;
  successUrl: string;
  cancelUrl: string;
}

export interface CheckoutSession {
  id: string;
  url: string;
}

export class StripeGateway {
  private readonly stripe: Stripe;

  constructor(private readonly config: StripeConfig) {
    const base = config.apiBase;
    const protocol = base.protocol === 'http:' ? 'http' : 'https';
    this.stripe = new Stripe(config.secretKey, {
      host: base.hostname,
      port: base.port || (protocol === 'http' ? 80 : 443),
      protocol,
      timeout: LIMITS.stripeTimeoutMs,
      maxNetworkRetries: LIMITS.stripeRetriesMax,
      telemetry: false,
    });
  }

  /**
   * A Checkout Session for one purchase. Stripe's own idempotency key is derived from the purchase,
   * so a retry (the same purchase asked again, after a timeout or a restart) returns the same session.
   */
  async createCheckout(req: CheckoutRequest): Promise<CheckoutSession> {
    const metadata = { purchaseId: req.purchaseId, userId: req.userId };
    const session = await this.stripe.checkout.sessions.create(
      {
        mode: 'payment',
        client_reference_id: req.purchaseId,
        metadata,
        // Copied onto the charge, so a refund (charge.refunded) names its purchase.
        payment_intent_data: { metadata },
        line_items: [{ quantity: 1, price_data: { currency: req.currency, unit_amount: req.amountCents, product_data: { name: req.packageName } } }],
        success_url: req.successUrl,
        cancel_url: req.cancelUrl,
      },
      { idempotencyKey: `checkout:${req.purchaseId}` },
    );
    if (!session.url) throw new Error(`Stripe returned checkout session ${session.id} without a url`);
    return { id: session.id, url: session.url };
  }

  /**
   * The event of a webhook delivery, verified against the raw body and the Stripe-Signature header
   * (HMAC with STRIPE_WEBHOOK_SECRET, timestamp within the tolerance). Throws when it is not genuine.
   */
  verify(rawBody: Buffer, signature: string): Stripe.Event {
    return this.stripe.webhooks.constructEvent(rawBody, signature, this.config.webhookSecret, LIMITS.webhookToleranceSeconds);
  }

  /** A failure of Stripe's API that is worth telling the user to retry (network, 5xx, rate limit). */
  isStripeError(err: unknown): err is Stripe.errors.StripeError {
    return err instanceof Stripe.errors.StripeError;
  }
}
