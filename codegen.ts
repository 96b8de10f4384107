import type { CodegenConfig } from '@graphql-codegen/cli';

/** Resolver types generated from schema.graphql; `npm run check` fails when they are stale. */
const config: CodegenConfig = {
  schema: 'schema.graphql',
  generates: {
    'src/graphql/generated/resolvers-types.ts': {
      plugins: ['typescript', 'typescript-resolvers'],
      config: {
        contextType: '../context#GraphQLContext',
        useIndexSignature: false,
        enumsAsTypes: true,
        strictScalars: true,
        scalars: { DateTime: 'Date', JSON: 'Record<string, unknown>' },
        mappers: {
          User: '../models#UserModel',
          Brand: '../models#BrandModel',
          TokenBalance: '../models#BalanceModel',
          TokenGrant: '../models#GrantModel',
          LedgerEntry: '../models#LedgerEntryModel',
          TokenAlert: '../models#AlertModel',
          Generation: '../models#GenerationModel',
          FlowRun: '../models#FlowRunModel',
          FlowStep: '../models#FlowStepModel',
          FlowProgressEvent: '../models#FlowEventModel',
          TokenPackage: '../models#TokenPackageModel',
          TokenPurchase: '../models#TokenPurchaseModel',
        },
      },
    },
  },
};

export default config;
