import { MikroORM } from '@mikro-orm/postgresql';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../src/db/embedded';
import { migratorOf, ormConfig } from '../src/db/orm';
import { createLogger } from '../src/logger';
import { runAdminCommand } from '../src/accounts/admin-command';
import { errorCode, gql } from './support/graphql-client';
import { ServerExitedError, assertBuilt, killAllServers, runAdminCli, serverProcessEnv, startServerProcess } from './support/server-process';
import { createTestDatabase, startTestApp, type TestApp, type TestDatabase } from './support/test-app';

const SIGN_UP = `mutation($e: String!, $p: String!) { signUp(input: { email: $e, password: $p }) { token user { id email role } } }`;
const SIGN_IN = `mutation($e: String!, $p: String!) { signIn(input: { email: $e, password: $p }) { token user { id email role } } }`;
const SET_ROLE = `mutation($u: ID!, $r: Role!) { setUserRole(input: { userId: $u, role: $r }) { user { id email role } previousRole } }`;
const STATS = '{ systemTokenStats { activeAlerts } }';
const PASSWORD = 'correct horse battery';
const embedded = !process.env.TEST_DATABASE_URL;

let t: TestApp;
let root: { token: string; userId: string };
beforeAll(async () => {
  assertBuilt();
  t = await startTestApp({ ADMIN_EMAILS: 'root@example.test' });
  root = await t.signUp('root@example.test');
});
afterAll(async () => {
  await killAllServers();
  await t.close();
});

const sql = (query: string, params: unknown[] = []) => t.app.services.orm.em.fork().getConnection().execute(query, params);
const roleChanges = (userId: string) =>
  sql('select old_role, new_role, channel, changed_by, cli_user from user_role_changes where user_id = ? order by created_at, id', [userId]);
const signIn = async (email: string) => {
  const res = await gql(t.url, SIGN_IN, { e: email, p: PASSWORD });
  if (!res.data) throw new Error(`signIn failed: ${JSON.stringify(res.errors)}`);
  return res.data.signIn as { token: string; user: { id: string; email: string; role: string } };
};

describe('emails are normalized everywhere', () => {
  it('keeps one account per address whatever its case or surrounding spaces, and signs in with any case', async () => {
    const up = await gql(t.url, SIGN_UP, { e: ' Ada@Example.TEST ', p: PASSWORD });
    expect(up.data!.signUp.user.email).toBe('ada@example.test');
    for (const e of ['ada@example.test', 'ADA@EXAMPLE.TEST', '\tAda@example.test\n']) {
      const again = await gql(t.url, SIGN_UP, { e, p: PASSWORD });
      expect(errorCode(again)).toBe('BAD_USER_INPUT');
      expect(again.errors![0]!.message).toMatch(/already registered/);
    }
    for (const e of ['ADA@example.test', '  aDa@EXAMPLE.test']) expect((await signIn(e)).user.id).toBe(up.data!.signUp.user.id);
    // Lower-casing the Kelvin sign (U+212A) gives an ASCII "k": the same account as the plain spelling.
    await t.signUp('kate@example.test');
    expect(errorCode(await gql(t.url, SIGN_UP, { e: '\u212Aate@example.test', p: PASSWORD }))).toBe('BAD_USER_INPUT');
  });

  it('is held by PostgreSQL: a users row whose email is not normalized is refused', async () => {
    const insert = (email: string) =>
      sql(`insert into users (id, email, password_hash, tokens) values (gen_random_uuid(), ?, 'x', 0)`, [email]);
    await expect(insert('Mixed@Example.test')).rejects.toThrow(/users_email_normalized/);
    await expect(insert(' spaced@example.test')).rejects.toThrow(/users_email_normalized/);
    expect(await sql(`select count(*)::int as n from users where lower(email) in ('mixed@example.test', 'spaced@example.test')`)).toEqual([{ n: 0 }]);
  });

  it('normalizes existing rows when migrating, and stops naming the accounts that clash', async () => {
    const db = await createTestDatabase({ empty: true });
    const log = createLogger('silent');
    let embeddedDb: EmbeddedPostgres | undefined;
    let orm: MikroORM | undefined;
    try {
      embeddedDb = db.env.DATABASE_URL ? undefined : await startEmbeddedPostgres(db.env.DATA_DIR!, log);
      orm = await MikroORM.init(ormConfig({ url: db.env.DATABASE_URL ?? embeddedDb!.url, singleConnection: !!embeddedDb, log }));
      const migrator = migratorOf(orm);
      await migrator.up({ to: 'Migration20261125000006_ledger_user_fence' });
      const conn = orm.em.fork().getConnection();
      const add = (email: string) => conn.execute(`insert into users (id, email, password_hash) values (gen_random_uuid(), ?, 'x')`, [email]);
      for (const email of [' Mixed@Example.COM', 'same@example.test', 'SAME@example.test ', 'plain@example.test']) await add(email);
      await expect(migrator.up()).rejects.toThrow(/share an email.*same@example\.test/);
      await conn.execute(`delete from users where email = 'SAME@example.test '`);
      await migrator.up();
      const emails = await conn.execute(`select email from users order by email`);
      expect(emails.map((r) => r.email as string)).toEqual(['mixed@example.com', 'plain@example.test', 'same@example.test']);
    } finally {
      await orm?.close();
      await embeddedDb?.close();
      await db.drop();
    }
  });
});

describe('ADMIN_EMAILS', () => {
  it('is refused in production: the server does not start', async () => {
    const db = await createTestDatabase();
    try {
      const started = startServerProcess(serverProcessEnv(db, 'boss@example.test', { NODE_ENV: 'production' }));
      const err = await started.then(
        async (server) => {
          await server.kill('SIGKILL');
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ServerExitedError);
      expect((err as ServerExitedError).exit.code).toBe(1);
      expect(JSON.stringify((err as ServerExitedError).logs)).toMatch(/ADMIN_EMAILS: refused when NODE_ENV=production/);
    } finally {
      await db.drop();
    }
  });

  it('in development, records the role it gives at sign-up', async () => {
    expect(await roleChanges(root.userId)).toEqual([{ old_role: null, new_role: 'ADMIN', channel: 'SIGNUP', changed_by: null, cli_user: null }]);
  });
});

describe('setUserRole', () => {
  it('lets an admin promote and demote, recording who, when and the old and new role', async () => {
    const user = await t.signUp();
    const before = Date.now();
    const promoted = await gql(t.url, SET_ROLE, { u: user.userId, r: 'ADMIN' }, root.token);
    expect(promoted.errors).toBeUndefined();
    expect(promoted.data!.setUserRole).toEqual({ user: { id: user.userId, email: user.email, role: 'ADMIN' }, previousRole: 'USER' });
    // The old token still says USER; signing in again gives the admin role.
    expect(errorCode(await gql(t.url, STATS, {}, user.token))).toBe('FORBIDDEN');
    const admin = await signIn(user.email);
    expect(admin.user.role).toBe('ADMIN');
    expect((await gql(t.url, STATS, {}, admin.token)).errors).toBeUndefined();

    const demoted = await gql(t.url, SET_ROLE, { u: user.userId, r: 'USER' }, root.token);
    expect(demoted.data!.setUserRole).toMatchObject({ user: { role: 'USER' }, previousRole: 'ADMIN' });
    expect(errorCode(await gql(t.url, STATS, {}, admin.token))).toBe('FORBIDDEN');
    const same = await gql(t.url, SET_ROLE, { u: user.userId, r: 'USER' }, root.token);
    expect(same.data!.setUserRole).toMatchObject({ user: { role: 'USER' }, previousRole: 'USER' });

    expect(await roleChanges(user.userId)).toEqual([
      { old_role: 'USER', new_role: 'ADMIN', channel: 'API', changed_by: root.userId, cli_user: null },
      { old_role: 'ADMIN', new_role: 'USER', channel: 'API', changed_by: root.userId, cli_user: null },
    ]);
    const [when] = await sql('select min(created_at) as at from user_role_changes where user_id = ?', [user.userId]);
    expect(new Date(when!.at).getTime()).toBeGreaterThanOrEqual(before - 1_000);
  });

  it('refuses non-admins, unknown users and bad input, and records nothing', async () => {
    const user = await t.signUp();
    const other = await t.signUp();
    expect(errorCode(await gql(t.url, SET_ROLE, { u: user.userId, r: 'ADMIN' }, user.token))).toBe('FORBIDDEN');
    expect(errorCode(await gql(t.url, SET_ROLE, { u: other.userId, r: 'ADMIN' }, user.token))).toBe('FORBIDDEN');
    expect(errorCode(await gql(t.url, SET_ROLE, { u: other.userId, r: 'ADMIN' }))).toBe('UNAUTHENTICATED');
    expect(errorCode(await gql(t.url, SET_ROLE, { u: '00000000-0000-4000-8000-000000000000', r: 'ADMIN' }, root.token))).toBe('NOT_FOUND');
    expect(errorCode(await gql(t.url, SET_ROLE, { u: 'not-a-uuid', r: 'ADMIN' }, root.token))).toBe('BAD_USER_INPUT');
    expect(errorCode(await gql(t.url, SET_ROLE, { u: other.userId, r: 'OWNER' }, root.token))).toBe('BAD_USER_INPUT');
    expect(await roleChanges(user.userId)).toEqual([]);
    expect(await roleChanges(other.userId)).toEqual([]);
  });

  it('never leaves the service without an admin, even when two admins demote each other at once', async () => {
    const alone = await gql(t.url, SET_ROLE, { u: root.userId, r: 'USER' }, root.token);
    expect(errorCode(alone)).toBe('BAD_USER_INPUT');
    expect(alone.errors![0]!.extensions!.reason).toBe('LAST_ADMIN');

    const deputy = await t.signUp();
    await gql(t.url, SET_ROLE, { u: deputy.userId, r: 'ADMIN' }, root.token);
    const deputyToken = (await signIn(deputy.email)).token;
    const [a, b] = await Promise.all([
      gql(t.url, SET_ROLE, { u: deputy.userId, r: 'USER' }, root.token),
      gql(t.url, SET_ROLE, { u: root.userId, r: 'USER' }, deputyToken),
    ]);
    const outcomes = [a, b].map((r) => (r.errors ? (r.errors[0]!.extensions!.reason ?? errorCode(r)) : 'OK')).sort();
    expect(['FORBIDDEN,OK', 'LAST_ADMIN,OK']).toContain(outcomes.join());
    expect(await sql(`select count(*)::int as n from users where role = 'ADMIN'`)).toEqual([{ n: 1 }]);
    // When the deputy won, it gives root the role back, so the tests after this one find root an admin.
    if (a.errors) expect((await gql(t.url, SET_ROLE, { u: root.userId, r: 'ADMIN' }, deputyToken)).errors).toBeUndefined();
  });
});

describe('npm run admin', () => {
  let db: TestDatabase;
  let app: TestApp | undefined;
  afterAll(async () => {
    await app?.close({ drop: false });
    await db?.drop();
  });

  /** A command run in this process, as the CLI runs it: its exit code and what it wrote. */
  const admin = async (args: string[], env: Record<string, string>) => {
    const result = { code: -1, stdout: '', stderr: '' };
    result.code = await runAdminCommand(args, env, { out: (text) => (result.stdout += text), err: (text) => (result.stderr += text) });
    return result;
  };

  it('promotes and demotes by email, refuses the last admin and unknown emails, and records the operator', async () => {
    db = await createTestDatabase();
    app = await startTestApp({}, db);
    const ops = await app.signUp('ops@example.test', PASSWORD);
    await app.signUp('dev@example.test', PASSWORD);
    const cliEnv = { ...db.env, LOG_LEVEL: 'silent' };

    // The compiled CLI, as `npm run admin` runs it: its usage, its refusal while a server holds the
    // embedded database, and one change. Each run opens the database in a process of its own; the
    // rest of the commands run in this one (runAdminCommand, what the CLI runs).
    expect(await runAdminCli(['frobnicate', 'ops@example.test'], cliEnv)).toMatchObject({ code: 1, stderr: expect.stringMatching(/usage: npm run admin/) });
    if (embedded) {
      // The running server holds the embedded database: the CLI must refuse, not open it a second time.
      const refused = await runAdminCli(['promote', 'ops@example.test'], cliEnv);
      expect(refused).toMatchObject({ code: 1, stderr: expect.stringMatching(/in use by process .*stop the server first/) });
      await app.close({ drop: false });
      app = undefined;
    }

    const promoted = await runAdminCli(['promote', ' OPS@Example.test '], cliEnv);
    expect(promoted).toMatchObject({ code: 0, stdout: expect.stringMatching(/ops@example\.test: USER -> ADMIN/) });
    expect(await admin(['demote', 'ops@example.test'], cliEnv)).toMatchObject({ code: 1, stderr: expect.stringMatching(/last admin/) });
    expect(await admin(['promote', 'nobody@example.test'], cliEnv)).toMatchObject({ code: 1, stderr: expect.stringMatching(/user not found/) });
    expect(await admin(['promote'], cliEnv)).toMatchObject({ code: 1, stderr: expect.stringMatching(/usage: npm run admin/) });
    expect(await admin(['promote', 'dev@example.test'], cliEnv)).toMatchObject({ code: 0 });
    expect(await admin(['demote', 'ops@example.test'], cliEnv)).toMatchObject({ code: 0, stdout: expect.stringMatching(/ops@example\.test: ADMIN -> USER/) });
    const list = await admin(['list'], cliEnv);
    expect(list.stdout).toMatch(/^dev@example\.test\t/m);
    expect(list.stdout).toMatch(/^1 admin\(s\)$/m);

    app ??= await startTestApp({}, db);
    const signedIn = await gql(app.url, SIGN_IN, { e: 'dev@example.test', p: PASSWORD });
    expect(signedIn.data!.signIn.user.role).toBe('ADMIN');
    expect((await gql(app.url, STATS, {}, signedIn.data!.signIn.token)).errors).toBeUndefined();
    expect((await gql(app.url, SIGN_IN, { e: 'ops@example.test', p: PASSWORD })).data!.signIn.user.role).toBe('USER');
    const records = await app.app.services.orm.em
      .fork()
      .getConnection()
      .execute(`select old_role, new_role, channel, changed_by, cli_user from user_role_changes where user_id = ? order by created_at, id`, [ops.userId]);
    const cli = { channel: 'CLI', changed_by: null, cli_user: expect.stringMatching(/.@./) };
    expect(records).toEqual([
      { old_role: 'USER', new_role: 'ADMIN', ...cli },
      { old_role: 'ADMIN', new_role: 'USER', ...cli },
    ]);
  }, 300_000);
});
