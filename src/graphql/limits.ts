import { ApolloArmor } from '@escape.tech/graphql-armor';
import { ApolloServerErrorCode } from '@apollo/server/errors';
import {
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  getOperationAST,
  getVariableValues,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLSchema,
  type ValidationRule,
} from 'graphql';
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

/**
 * What every document must pass, on HTTP and on the websocket alike: ONE description that both
 * transports read (http.ts hands it to Apollo, websocket.ts runs it in `checkOperation`), so a
 * protection cannot be added to one and forgotten on the other.
 *
 * - the lexical token limit, enforced by graphql's own parser;
 * - depth, alias, directive and cost limits (graphql-armor's rules plus our alias count);
 * - in production, no introspection (graphql's NoSchemaIntrospectionCustomRule), and no "Did you
 *   mean …?" in any error message, field and enum value suggestions alike (errors.ts applies
 *   `hideSuggestions` to every error either transport sends, variable errors included).
 *
 * Development keeps introspection and suggestions: they help whoever writes a client, and reveal
 * nothing the open introspection does not.
 */
export interface DocumentRules {
  parseOptions: { maxTokens: number };
  /** Run after graphql's specifiedRules. */
  validationRules: readonly ValidationRule[];
  hideSuggestions: boolean;
}

export function documentRules(production: boolean): DocumentRules {
  const armor = new ApolloArmor({
    maxDepth: { n: LIMITS.queryDepthMax },
    maxAliases: { enabled: false },
    // graphql's parser enforces the token limit itself (parseOptions), with one message for both transports.
    maxTokens: { enabled: false },
    maxDirectives: { n: LIMITS.queryDirectivesMax },
    costLimit: { maxCost: LIMITS.queryCostMax },
    // Its Apollo plugin would mask field suggestions over HTTP only, and not enum value suggestions.
    blockFieldSuggestion: { enabled: false },
  }).protect();
  return {
    parseOptions: { maxTokens: LIMITS.queryTokensMax },
    validationRules: [
      ...armor.validationRules,
      maxAliasesRule(LIMITS.queryAliasesMax),
      ...(production ? [NoSchemaIntrospectionCustomRule] : []),
    ],
    hideSuggestions: production,
  };
}

/**
 * The websocket's side of what Apollo does over HTTP before executing: parse, validate and coerce the
 * variables with the same rules, and tag each error with the code Apollo gives it, so a client sees
 * the same answer on either transport. Returns the errors, or the parsed document.
 */
export function checkOperation(
  schema: GraphQLSchema,
  rules: DocumentRules,
  payload: { query: string; operationName?: string | null; variables?: Record<string, unknown> | null },
): { document: DocumentNode } | { errors: readonly GraphQLError[] } {
  let document: DocumentNode;
  try {
    document = parse(payload.query, rules.parseOptions);
  } catch (err) {
    const error = err instanceof GraphQLError ? err : new GraphQLError('could not parse the document');
    return { errors: [withCode(error, ApolloServerErrorCode.GRAPHQL_PARSE_FAILED)] };
  }
  const invalid = validate(schema, document, [...specifiedRules, ...rules.validationRules]);
  if (invalid.length > 0) return { errors: invalid.map((e) => withCode(e, ApolloServerErrorCode.GRAPHQL_VALIDATION_FAILED)) };
  const operation = getOperationAST(document, payload.operationName);
  if (operation) {
    const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], payload.variables ?? {}, { maxErrors: VARIABLE_ERRORS_MAX });
    if (coerced.errors) return { errors: coerced.errors.map((e) => withCode(e, ApolloServerErrorCode.BAD_USER_INPUT)) };
  }
  return { document };
}

/** Most variable errors reported for one operation (graphql's own default). */
const VARIABLE_ERRORS_MAX = 50;

function withCode(error: GraphQLError, code: string): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: { ...error.extensions, code },
  });
}
