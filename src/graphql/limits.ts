import { GraphQLError, type ValidationRule } from 'graphql';

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
