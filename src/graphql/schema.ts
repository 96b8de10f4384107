import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { GraphQLSchema } from 'graphql';
import type { Resolvers } from './generated/resolvers-types';
import { accountResolvers } from './resolvers/accounts';
import { balanceResolvers } from './resolvers/balance';
import { creditResolvers } from './resolvers/credits';
import { flowResolvers } from './resolvers/flows';
import { generationResolvers } from './resolvers/generation';
import { limitResolvers } from './resolvers/limits';
import { monitoringResolvers } from './resolvers/monitoring';
import { purchaseResolvers } from './resolvers/purchases';
import { DateTime, JSONScalar } from './scalars';

/** schema.graphql sits at the project root, both beside src/ and beside dist/src/. */
export function schemaPath(): string {
  const fromSrc = join(__dirname, '..', '..', 'schema.graphql');
  const fromDist = join(__dirname, '..', '..', '..', 'schema.graphql');
  try {
    readFileSync(fromSrc);
    return fromSrc;
  } catch {
    return fromDist;
  }
}

export function loadTypeDefs(): string {
  return readFileSync(schemaPath(), 'utf8');
}

const resolvers: Resolvers[] = [{ DateTime, JSON: JSONScalar }, accountResolvers, balanceResolvers, creditResolvers, generationResolvers, monitoringResolvers, flowResolvers, limitResolvers, purchaseResolvers];

export function buildSchema(): GraphQLSchema {
  const schema = makeExecutableSchema({
    typeDefs: loadTypeDefs(),
    resolvers: resolvers as never,
    resolverValidationOptions: { requireResolversToMatchSchema: 'error' },
  });
  assertRootFieldsResolved(schema);
  return schema;
}

/** A root field without a resolver would answer null: refuse to start instead. */
function assertRootFieldsResolved(schema: GraphQLSchema): void {
  const unresolved: string[] = [];
  for (const type of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
    for (const field of Object.values(type?.getFields() ?? {})) {
      const resolved = type === schema.getSubscriptionType() ? field.subscribe : field.resolve;
      if (!resolved) unresolved.push(`${type!.name}.${field.name}`);
    }
  }
  if (unresolved.length > 0) throw new Error(`schema fields without resolvers: ${unresolved.join(', ')}`);
}
