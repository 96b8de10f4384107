import type { Services } from '../services';
import type { Role } from '../db/entities';
import type { Loaders } from './loaders';

export interface Viewer {
  userId: string;
  role: Role;
}

/** Built once per HTTP request or websocket operation. */
export interface GraphQLContext {
  viewer: Viewer | null;
  /** The client's address (client-address.ts): HTTP request or websocket upgrade, per TRUST_PROXY. */
  clientAddress: string;
  services: Services;
  loaders: Loaders;
}
