import { TEMPLATE_ENV, destroyTemplate, type DatabaseTemplate } from './database-template';

/** jest globalTeardown: removes the template globalSetup built. */
export default async function globalTeardown(): Promise<void> {
  const raw = process.env[TEMPLATE_ENV];
  if (!raw) return;
  delete process.env[TEMPLATE_ENV];
  await destroyTemplate(JSON.parse(raw) as DatabaseTemplate);
}
