import { ApolloArmor } from '@escape.tech/graphql-armor';
import { GraphQLError, type ValidationRule } from 'graphql';
import { LIMITS } from '../config';

/**
 * Counts every alias in the document, introspection fields included (graphql-armor's alias limit
 * skips `__typename`, so 500 aliased `__typename`s would pass it).
 */
export function maxAliasesRule(aliasesMax: number): ValidationRule {
  return (context) => {
    let aliases = 0;
    let reported = false;
    return {
      Field(node) {
        if (!node.alias || reported) return;
        if (++aliases > aliasesMax) {
          reported = true;
          context.reportError(
            new GraphQLError(`too many aliases: at most ${aliasesMax} in one document`, { nodes: [node] }),
          );
        }
      },
    };
  };
}

/** Document limits for HTTP and the websocket alike. */
export function documentProtection() {
  const protection = new ApolloArmor({
    maxDepth: { n: LIMITS.queryDepthMax },
    maxAliases: { enabled: false },
    maxTokens: { n: LIMITS.queryTokensMax },
    maxDirectives: { n: LIMITS.queryDirectivesMax },
    costLimit: { maxCost: LIMITS.queryCostMax },
    blockFieldSuggestion: { enabled: true },
  }).protect();
  return { ...protection, validationRules: [...protection.validationRules, maxAliasesRule(LIMITS.queryAliasesMax)] };
}

export type DocumentProtection = ReturnType<typeof documentProtection>;
