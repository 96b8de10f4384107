/**
 * Every migration's name, in order: what the service compares with the database's table of applied
 * migrations at start, without loading the migrations themselves (they extend @mikro-orm/migrations'
 * class, and that package with umzug is 224 modules: src/db/orm.ts loads it only when one is
 * pending). ./index.ts lists the same names with their classes; test/test-database.test.ts holds the
 * two lists and the files in this folder to each other.
 */
export const MIGRATION_NAMES: readonly string[] = [
  'Migration20261125000001_foundation',
  'Migration20261125000002_generations',
  'Migration20261125000003_alerts',
  'Migration20261125000004_flows',
  'Migration20261125000005_fence_check',
  'Migration20261125000006_ledger_user_fence',
  'Migration20261130000020_email_normalized',
  'Migration20261130000021_user_role_changes',
  'Migration20261130000030_request_fingerprint',
  'Migration20261130000031_low_balance_state',
  'Migration20261130000050_token_grants',
  'Migration20261130000051_grant_expiry_alert',
  'Migration20261130000052_pending_plan',
  'Migration20261130000060_token_purchases',
  'Migration20261130000070_brand_quotas',
  'Migration20261130000080_cluster',
];
