import { TEMPLATE_ENV, buildTemplate } from './database-template';

/**
 * jest globalSetup: migrates this run's template database once (embedded, or on TEST_DATABASE_URL's
 * server) and names it in the environment, which the test workers inherit.
 */
export default async function globalSetup(): Promise<void> {
  const template = await buildTemplate(process.env.TEST_DATABASE_URL);
  process.env[TEMPLATE_ENV] = JSON.stringify(template);
}
