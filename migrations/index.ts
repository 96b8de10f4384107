import { Migration20261125000001_foundation } from './Migration20261125000001_foundation';
import { Migration20261125000002_generations } from './Migration20261125000002_generations';
import { Migration20261125000003_alerts } from './Migration20261125000003_alerts';
import { Migration20261125000004_flows } from './Migration20261125000004_flows';
import { Migration20261125000005_fence_check } from './Migration20261125000005_fence_check';
import { Migration20261125000006_ledger_user_fence } from './Migration20261125000006_ledger_user_fence';
import { Migration20261130000020_email_normalized } from './Migration20261130000020_email_normalized';
import { Migration20261130000021_user_role_changes } from './Migration20261130000021_user_role_changes';
import { Migration20261130000030_request_fingerprint } from './Migration20261130000030_request_fingerprint';
import { Migration20261130000031_low_balance_state } from './Migration20261130000031_low_balance_state';
import { Migration20261130000050_token_grants } from './Migration20261130000050_token_grants';
import { Migration20261130000051_grant_expiry_alert } from './Migration20261130000051_grant_expiry_alert';
import { Migration20261130000052_pending_plan } from './Migration20261130000052_pending_plan';
import { Migration20261130000060_token_purchases } from './Migration20261130000060_token_purchases';
import { Migration20261130000070_brand_quotas } from './Migration20261130000070_brand_quotas';
import { Migration20261130000080_cluster } from './Migration20261130000080_cluster';

/**
 * Every migration, in order, for MikroORM's Migrator. Listed explicitly (not discovered on disk) so the
 * compiled service and the TypeScript tests run exactly the same list; ./names.ts holds their names
 * for the check at start, which needs none of these modules.
 */
export const MIGRATIONS = [
  { name: 'Migration20261125000001_foundation', class: Migration20261125000001_foundation },
  { name: 'Migration20261125000002_generations', class: Migration20261125000002_generations },
  { name: 'Migration20261125000003_alerts', class: Migration20261125000003_alerts },
  { name: 'Migration20261125000004_flows', class: Migration20261125000004_flows },
  { name: 'Migration20261125000005_fence_check', class: Migration20261125000005_fence_check },
  { name: 'Migration20261125000006_ledger_user_fence', class: Migration20261125000006_ledger_user_fence },
  { name: 'Migration20261130000020_email_normalized', class: Migration20261130000020_email_normalized },
  { name: 'Migration20261130000021_user_role_changes', class: Migration20261130000021_user_role_changes },
  { name: 'Migration20261130000030_request_fingerprint', class: Migration20261130000030_request_fingerprint },
  { name: 'Migration20261130000031_low_balance_state', class: Migration20261130000031_low_balance_state },
  { name: 'Migration20261130000050_token_grants', class: Migration20261130000050_token_grants },
  { name: 'Migration20261130000051_grant_expiry_alert', class: Migration20261130000051_grant_expiry_alert },
  { name: 'Migration20261130000052_pending_plan', class: Migration20261130000052_pending_plan },
  { name: 'Migration20261130000060_token_purchases', class: Migration20261130000060_token_purchases },
  { name: 'Migration20261130000070_brand_quotas', class: Migration20261130000070_brand_quotas },
  { name: 'Migration20261130000080_cluster', class: Migration20261130000080_cluster },
];
