/**
 * The one form of an email address the service stores, compares and looks up: Unicode NFC, no
 * surrounding whitespace, lower case. Sign-up, sign-in, ADMIN_EMAILS and the admin CLI all go through
 * it, and PostgreSQL refuses a users row whose email is not in this form (migration 20), so two
 * spellings of one address can never be two accounts.
 *
 * The address syntax we accept is ASCII only (zod's practical email pattern), so after validation NFC
 * and JavaScript's lower-casing agree with PostgreSQL's `lower()` in the "C" collation, whatever the
 * database's locale. NFC comes first so that a precomposed and a decomposed spelling of one character
 * meet in the same (refused) form instead of depending on which one was typed. Lower-casing may turn a
 * non-ASCII character into an ASCII one (the Kelvin sign U+212A becomes "k"): that address is then
 * the same account as the plain spelling, which is what a reader would expect.
 */
export function normalizeEmail(raw: string): string {
  return raw.normalize('NFC').trim().toLowerCase();
}
