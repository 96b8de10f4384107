import { BREAK, GraphQLError, Kind, visit, type DocumentNode, type ValueNode } from 'graphql';
import { isStorableText, unstorablePath } from '../db/storable';

/**
 * Refuses an operation whose arguments hold text PostgreSQL cannot store (NUL, an unpaired
 * surrogate): every string a client sends, in the variables (object keys and JSON scalars
 * included) or as a literal in the document, is checked here once, before anything runs. HTTP
 * (an Apollo plugin) and the websocket (onSubscribe) both call it, so no resolver can forget it,
 * and such text never reaches a charge, a provider or the ledger.
 *
 * Variables are checked as the client sent them, unused ones too: coercion only narrows them.
 */
export function unstorableInputError(document: DocumentNode, variables: Record<string, unknown> | null | undefined): GraphQLError | undefined {
  const path = unstorableVariable(variables ?? {}) ?? unstorableLiteral(document);
  if (path === undefined) return undefined;
  return new GraphQLError(`${path}: text may not contain NUL (U+0000) or unpaired UTF-16 surrogates`, {
    extensions: { code: 'BAD_USER_INPUT', field: path, http: { status: 400 } },
  });
}

function unstorableVariable(variables: Record<string, unknown>): string | undefined {
  for (const [name, value] of Object.entries(variables)) {
    if (!isStorableText(name)) return '$ (a variable name)';
    const path = unstorablePath(value, `$${name}`);
    if (path !== undefined) return path;
  }
  return undefined;
}

/** The path (argument name, then fields and list indexes) of the first bad string literal. */
function unstorableLiteral(document: DocumentNode): string | undefined {
  let found: string | undefined;
  const check = (value: ValueNode | undefined, root: string) => {
    found = value && literalPath(value, root);
    return found === undefined ? undefined : BREAK;
  };
  visit(document, {
    Argument: (node) => check(node.value, node.name.value),
    VariableDefinition: (node) => check(node.defaultValue, `$${node.variable.name.value}`),
  });
  return found;
}

/** Iterative like unstorablePath: list literals may nest as deep as the token limit allows. */
function literalPath(value: ValueNode, root: string): string | undefined {
  const stack: Array<{ node: ValueNode; path: string }> = [{ node: value, path: root }];
  for (let next = stack.pop(); next; next = stack.pop()) {
    const { node, path } = next;
    if (node.kind === Kind.STRING && !isStorableText(node.value)) return path;
    if (node.kind === Kind.LIST) node.values.forEach((item, i) => stack.push({ node: item, path: `${path}.${i}` }));
    if (node.kind === Kind.OBJECT) for (const field of node.fields) stack.push({ node: field.value, path: `${path}.${field.name.value}` });
  }
  return undefined;
}
