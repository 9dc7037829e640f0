/**
 * The repair the service names for a damaged state file, as `winpop`
 * prints it: kept here so that the console can find it in a problem's text
 * and word the repair with its own menus instead.
 */

/** The command-line repair of a mailbox's damaged state file. */
export const mailboxStateRepair = (address: string): string =>
  `Set a new password with \`winpop changepwd ${address}\` (it asks for the password) to rewrite it, or restore it from a backup.`;

/** The command-line repair of a domain's damaged state file. */
export const domainStateRepair = (domain: string): string =>
  `Lock the domain and unlock it again (\`winpop lock ${domain}\`, then \`winpop unlock ${domain}\`) to rewrite it, or restore it from a backup.`;
