import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { GraphQLSchema } from 'graphql';
import type { Resolvers } from './generated/resolvers-types';
import { accountResolvers } from './resolvers/accounts';
import { balanceResolvers } from './resolvers/balance';
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

const resolvers: Resolvers[] = [{ DateTime, JSON: JSONScalar }, accountResolvers, balanceResolvers];

export function buildSchema(): GraphQLSchema {
  return makeExecutableSchema({ typeDefs: loadTypeDefs(), resolvers: resolvers as never, resolverValidationOptions: { requireResolversToMatchSchema: 'error' } });
}
